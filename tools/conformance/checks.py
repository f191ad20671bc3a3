"""Checks used by run.sh (standard library only; run with the project's venv Python).

    checks.py inspector KIND OUTPUT.json [INSTANCE_ID]   one MCP Inspector CLI --format json output
    checks.py wait-http PORT PID                          wait for GET /healthz (30 s), or the server exiting
    checks.py suite RESULTS_DIR BASELINE.yml              the conformance suite's checks.json files

`inspector` prints a one-line detail, or exits non-zero with the reason. `suite` prints one
"ok|FAIL<TAB>what<TAB>detail" line per verdict.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

TOOLS = ["list_instances", "list_rescue_images", "enter_rescue", "exit_rescue"]
GENERIC = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection", "server-sse-multiple-streams"]


def inspector(kind: str, path: str, *rest: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            out = json.load(f)
    except ValueError as exc:
        raise SystemExit(f"output is not JSON ({exc})") from None
    result = out.get("result") if isinstance(out, dict) else None
    if not isinstance(result, dict):
        raise SystemExit(f"no 'result' in the output: {json.dumps(out)[:400]}")

    def fail(msg: str) -> SystemExit:
        return SystemExit(f"{msg}; got {json.dumps(result)[:600]}")

    if kind == "tools/list":
        names = [t.get("name") for t in result.get("tools", [])]
        missing = [n for n in TOOLS if n not in names]
        if missing:
            raise SystemExit(f"tools missing from tools/list: {missing}; listed: {names}")
        extra = [n for n in names if n not in TOOLS]
        return f"{len(names)} tools: {', '.join(map(str, names))}" + (f" (and {extra})" if extra else "")

    if kind == "prompts/get":
        texts = [m.get("content", {}).get("text", "") for m in result.get("messages", []) if isinstance(m, dict)]
        text = "\n".join(t for t in texts if isinstance(t, str))
        for step in ("list_instances", "list_rescue_images", "confirm=true", "fsck", "exit_rescue", '"web-1"'):
            if step not in text:
                raise fail(f"the rescue_workflow prompt does not mention {step}")
        return f"rescue_workflow for web-1: {len(text)} characters, the safe sequence in place"

    if result.get("isError"):
        raise fail("the tool returned isError")
    sc: Any = result.get("structuredContent")
    if not isinstance(sc, dict):
        raise fail("no structuredContent")
    if kind == "list_instances":
        instances = sc.get("instances")
        if not isinstance(instances, list):
            raise fail("structuredContent.instances is not a list")
        if not any(isinstance(i, dict) and i.get("id") == 5203773 and i.get("name") == "web-1" for i in instances):
            raise fail("instance 5203773 'web-1' is not listed")
        return f"{len(instances)} instances, incl. 5203773 web-1"
    if kind == "list_rescue_images":
        images = sc.get("images")
        if sc.get("instance_id") != 5203773:
            raise fail("instance_id is not 5203773")
        if not isinstance(images, list) or len(images) != 16:
            raise fail(f"expected 16 images, got {len(images) if isinstance(images, list) else repr(images)}")
        return "16 images for 5203773"
    if kind in ("enter_rescue", "exit_rescue"):
        want = int(rest[0])
        if sc.get("instance_id") != want:
            raise fail(f"instance_id is not {want}")
        if sc.get("executed") is not False:
            raise fail("expected a preview (executed: false)")
        return f"preview for {want}, executed false"
    raise SystemExit(f"unknown check {kind!r}")


def wait_http(port: str, pid: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except OSError:
            raise SystemExit("the HTTP server exited") from None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return "up"
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("/healthz did not answer within 30 s")


def suite(results_dir: str, baseline_path: str) -> str:
    with open(baseline_path, encoding="utf-8") as f:
        baseline = [m.group(1) for line in f if (m := re.match(r"\s*-\s*([A-Za-z0-9_.-]+)", line))]
    scenarios: dict[str, list[dict[str, Any]]] = {}
    for d in glob.glob(os.path.join(results_dir, "server-*")):
        m = re.match(r"server-(.+)-\d{4}-\d\d-\d\dT", os.path.basename(d))
        try:
            with open(os.path.join(d, "checks.json"), encoding="utf-8") as f:
                if m:
                    scenarios[m.group(1)] = json.load(f)
        except (OSError, ValueError):
            continue
    lines = []
    for name in GENERIC:
        if name in baseline:
            lines.append(f"FAIL\tconformance {name}\tis generic: take it out of expected-failures.yml")
        checks = scenarios.get(name)
        if checks is None:
            lines.append(f"FAIL\tconformance {name}\tdid not run")
            continue
        statuses = [c.get("status") for c in checks]
        bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
        if bad or "SUCCESS" not in statuses:
            why = "; ".join(f"{c.get('id')}: {c.get('status')} {c.get('errorMessage') or ''}".strip() for c in bad)
            lines.append(f"FAIL\tconformance {name}\t{why or 'no passing check'}")
        else:
            lines.append(f"ok\tconformance {name}\t{statuses.count('SUCCESS')} checks passed")
    failed = sorted(n for n, cs in scenarios.items() if any(c.get("status") == "FAILURE" for c in cs))
    for n in failed:
        if n not in baseline and n not in GENERIC:
            why = "; ".join(
                str(c.get("errorMessage") or c.get("id")) for c in scenarios[n] if c.get("status") == "FAILURE"
            )
            lines.append(f"FAIL\tconformance {n}\tnot in expected-failures.yml: {why}")
    for n in baseline:
        if n in scenarios and n not in failed and n not in GENERIC:
            lines.append(f"FAIL\tconformance {n}\tpasses now: remove it from expected-failures.yml")
    others = sorted(n for n in scenarios if n not in GENERIC and n not in failed)
    expected = [n for n in failed if n in baseline]
    lines.append(f"ok\tconformance, other passing scenarios\t{len(others)}: {', '.join(others)}")
    lines.append(f"ok\tconformance, expected failures\t{len(expected)} fixture-specific scenarios (in the baseline)")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    commands: dict[str, Callable[..., str]] = {"inspector": inspector, "wait-http": wait_http, "suite": suite}
    if len(argv) < 2 or argv[1] not in commands:
        raise SystemExit(__doc__)
    print(commands[argv[1]](*argv[2:]))


if __name__ == "__main__":
    main(sys.argv)
