"""Every audit record is a whole, bounded line: a full disk leaves no fragment for the next record to join."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from zomro_rescue_mcp.operations.audit import AuditTrail

# Runs in its own process: it lowers RLIMIT_FSIZE, so the file can only grow by a few more bytes, as on a full
# disk; the next write is then short (the kernel writes what fits and says how much).
FULL_DISK = """
import json, os, resource, signal, sys
from zomro_rescue_mcp.operations.audit import Attempt, AuditTrail
from zomro_rescue_mcp.core.errors import PolicyRefusedError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = sys.argv[1]
trail = AuditTrail(path)
trail.write({"request_id": "before"})
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 20, hard))
attempt = Attempt(trail, "enter_rescue", 5203773, confirmed=True, approval="not_required")
try:
    attempt.before_send()
    refusal = None
except PolicyRefusedError as exc:
    refusal = str(exc)
after_refusal = open(path, encoding="utf-8").read()
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
trail.write({"request_id": "after"})
print(json.dumps({"refusal": refusal, "sent": attempt.sent, "after_refusal": after_refusal}))
"""


def run_full_disk(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_record_cut_short_by_a_full_disk_refuses_the_request(tmp_path: Path) -> None:
    result = run_full_disk(tmp_path / "audit.jsonl")
    assert result["sent"] is False
    assert result["refusal"].startswith("The request was refused and nothing was sent: the audit trail")


def test_a_record_cut_short_is_removed_so_the_file_ends_on_the_last_whole_record(tmp_path: Path) -> None:
    result = run_full_disk(tmp_path / "audit.jsonl")
    assert result["after_refusal"] == '{"request_id":"before"}\n'


def test_the_record_after_a_full_disk_starts_on_a_clean_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    run_full_disk(path)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records == [{"request_id": "before"}, {"request_id": "after"}]


def test_a_huge_error_text_is_shortened_so_a_record_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    AuditTrail(str(path)).write({"request_id": "x", "error": "e" * 1_000_000})
    [line] = path.read_text(encoding="utf-8").splitlines()
    assert len(line) < 10_000
    record = json.loads(line)
    assert record["error"].startswith("eee")
    assert record["error"].endswith("…")
