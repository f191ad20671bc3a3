"""`zomro-rescue-mcp demo`: the whole rescue story, told by the real server over stdio to the official client.

The server runs as a subprocess on its built-in simulator; every call and result is printed for a person. The story
is the whole recovery: the instance does not boot because of a stale fstab line; a snapshot of its disk is made
first; it enters rescue mode (preview, the person's yes, the confirm); diagnose_instance logs in to its rescue
system over SSH (the simulator's stand-in, which answers from a model of the disk recorded from the rescue VM, or
with --rescue-system vm a real rescue VM) and finds the stale line; repair_instance previews the fix the finding
names (the exact diff), the person says yes, and the fix is made (the old file backed up, the problem gone); then
it leaves rescue mode, and the instance answers again (its SSH banner read): the stand-in's disk model decides
whether it boots, so an unrepaired one would not.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ..core.printable import printable

if TYPE_CHECKING:
    from mcp import StdioServerParameters

__all__ = ["run_demo"]

INSTANCE = 5203773


def run_demo(
    *, replay: str | None = None, rescue_system: str | None = None, disks: Sequence[tuple[int, str]] = ()
) -> int:
    """Run the story; 0 when every step gave the expected kind of result. `replay`: on a captured account;
    `rescue_system` and `disks`: what answers SSH in rescue mode (serve's --rescue-system and --disk)."""
    from .wiring import check_rescue_flags

    check_rescue_flags(rescue_system, disks)  # judged here: one sentence and exit 2, not the server's failure
    flags = ["--replay", replay] if replay else []
    flags += ["--rescue-system", rescue_system] if rescue_system else []
    for instance, path in disks:
        flags += ["--disk", f"{instance}={path}"]
    return anyio.run(_story, replay, flags)


def _say(text: str) -> None:
    print(text, flush=True)  # stdout ok: the demo is for a person, not a stdio server


async def _story(replay: str | None, flags: list[str]) -> int:
    from mcp import StdioServerParameters

    args = ["-m", "zomro_rescue_mcp", "serve", "--simulator", *flags]
    # The story's one account: ZOMRO_CONFIG=none keeps an accounts file of the person's out of it.
    env = {"ZOMRO_LOG_LEVEL": "WARNING", "ZOMRO_POLL_INTERVAL": "1", "ZOMRO_CONFIG": "none"}
    return await _tell(StdioServerParameters(command=sys.executable, args=args, env=env), replay)


async def _tell(params: StdioServerParameters, replay: str | None) -> int:
    from mcp import Client

    async with Client(params) as client:
        source = f"the account recorded in {replay}" if replay else "the built-in simulator"
        _say(
            f"Connected to {client.server_info.name if client.server_info else 'server'} "
            f"(MCP {client.protocol_version}) running on {source}.\n"
        )
        tools = await client.list_tools()
        _say("Tools: " + ", ".join(t.name for t in tools.tools) + "\n")

        async def step(story: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
            _say(f"== {story}\n-> {tool} {json.dumps(arguments)}")
            result = await client.call_tool(tool, arguments, progress_callback=_show_progress)
            if result.is_error:
                _say(printable("<- error: " + " ".join(getattr(c, "text", "") for c in result.content)))
                return None
            data = dict(result.structured_content or {})
            _say("<- " + _render(tool, data) + "\n")
            return data

        query = {} if replay else {"query": "web-1"}
        listed = await step("The person: my web server won't boot. The assistant looks it up.", "list_instances", query)
        instance = _pick_instance(listed) if replay else INSTANCE
        if listed is None or instance is None:
            _say("No instance here can enter rescue mode (active or stopped), so the story stops.")
            return 1
        offered = await step("Which rescue images can it use?", "list_rescue_images", {"instance_id": instance})
        image = _pick_image(offered) if replay else "ubuntu 22.04"
        if offered is None or image is None:
            return 1
        enter = {"instance_id": instance, "image": image}
        leave = {"instance_id": instance}

        async def change(story: str, tool: str, arguments: dict[str, Any], approved: str) -> dict[str, Any] | None:
            """The preview, then the confirmed call of it: its result when it was executed, else None."""
            preview = await step(story, tool, arguments)
            done = None if preview is None else await step(approved, tool, confirmed(arguments, preview))
            return done if done is not None and done.get("executed") else None

        if not replay and "create_snapshot" in {t.name for t in tools.tools}:
            snapshot = {"instance_id": instance, "name": "before-rescue"}
            if not await change(
                "Before its disk is touched, the assistant previews a snapshot of it (nothing changes yet).",
                "create_snapshot",
                snapshot,
                "The person says yes; the assistant confirms, and the server watches the snapshot until it is Active.",
            ):
                return 1
        if not await change(
            "The assistant previews entering rescue (nothing changes yet).",
            "enter_rescue",
            enter,
            "The person says yes; the assistant confirms the action previewed (the image it resolved).",
        ):
            return 1
        diagnosed = await step(
            "The assistant looks at the instance's own disk from its rescue system (it only reads).",
            "diagnose_instance",
            leave,
        )
        if diagnosed is None:
            return 1
        found = _pick_finding(diagnosed)
        if found is not None:
            fix = {"instance_id": instance, "fix": found["fix"], "target": found.get("target")}
            if not await change(
                f"The assistant previews the fix the finding names, {found['fix']} (the exact diff; nothing changes).",
                "repair_instance",
                fix,
                "The person reads the diff and says yes; the assistant confirms the fix previewed.",
            ):
                return 1
        left = await change(
            "The assistant previews leaving rescue.",
            "exit_rescue",
            leave,
            "The person says yes; the assistant confirms, and the server checks that the instance answers.",
        )
    if left is None:
        return 1
    if not all((left.get("reachable") or {"?": False}).values()):
        _say("The instance came back from rescue mode but does not answer: the story stops there.")
        return 1
    _say("The story is complete: the instance went into rescue mode, was repaired, came back and answers.")
    return 0


def confirmed(arguments: dict[str, Any], preview: dict[str, Any]) -> dict[str, Any]:
    """The confirmed call of a preview: its arguments with the image the preview resolved (its id, never the words
    typed, which could name another image by then), the preview's id when it has one, and confirm=true."""
    chosen = preview.get("image")
    image = {"image": str(chosen["id"])} if isinstance(chosen, dict) and chosen.get("id") else {}
    previewed = {"preview_id": str(preview["preview_id"])} if preview.get("preview_id") else {}
    return {**arguments, **image, **previewed, "confirm": True}


def _pick_finding(diagnosed: dict[str, Any]) -> dict[str, Any] | None:
    """The finding to repair: the first critical one that names its fix (the findings come critical first)."""
    for found in diagnosed.get("findings", []):
        if found.get("severity") == "critical" and found.get("fix"):
            return dict(found)
    return None


def _pick_instance(listed: dict[str, Any] | None) -> int | None:
    """The first instance that can enter rescue mode."""
    for row in (listed or {}).get("instances", []):
        if row.get("status") in ("active", "stopped"):
            return int(row["id"])
    return None


def _pick_image(offered: dict[str, Any] | None) -> str | None:
    """A public Linux image if there is one (its login is plain SSH), else the first image offered."""
    images = (offered or {}).get("images", [])
    linux = [i for i in images if i.get("zone") == "pub" and "windows" not in str(i.get("os")).lower()]
    chosen = (linux or images or [None])[0]
    return str(chosen["id"]) if chosen else None


async def _show_progress(progress: float, total: float | None, message: str | None) -> None:
    _say(f"   ... {message or progress}")


def _render(tool: str, data: dict[str, Any]) -> str:
    """A tool's result for the person watching; what the API sent (names, labels) is shown escaped, never raw."""
    return "\n".join(printable(line) for line in _lines(tool, data))


def _lines(tool: str, data: dict[str, Any]) -> list[str]:
    if tool == "list_instances":
        rows = [f"   {i['id']}  {i['name']:<10} {i['ip'] or '-':<15} {i['status']}" for i in data.get("instances", [])]
        return [f"{len(rows)} instance(s):", *rows]
    if tool == "list_rescue_images":
        rows = [
            f"   {i['id']}  {i['zone']:<3}  {i['os']}" + (f"  ({i['name']})" if i.get("name") else "")
            for i in data.get("images", [])
        ]
        return [f"instance {data.get('name')} is {data.get('status')}; {len(rows)} images offered:", *rows]
    if tool == "diagnose_instance":
        return _diagnosis_lines(data)
    lines = [("EXECUTED: " if data.get("executed") else "PREVIEW: ") + str(data.get("summary", ""))]
    if data.get("password"):
        lines.append(f"   rescue root password (shown once): {data['password']}")
    if tool == "repair_instance":
        lines += _repair_lines(data)
    if tool == "enter_rescue" and not data.get("executed"):  # whether a snapshot was made first
        lines += [f"   note: {note}" for note in data.get("notes", []) if "snapshot" in note]
    if data.get("reachable") is not None:
        ports = ", ".join(f"{port} {'yes' if ok else 'no'}" for port, ok in data["reachable"].items())
        lines.append(f"   answers: {ports}" + (f"; SSH banner {data['banner']}" if data.get("banner") else ""))
        if not all(data["reachable"].values()):  # the warning of an instance that does not answer
            lines += [f"   note: {note}" for note in data.get("notes", [])]
    lines.append(f"   next: {data.get('next_step', '')}")
    return lines


def _repair_lines(data: dict[str, Any]) -> list[str]:
    """A repair's diff (or commands) in its preview; once made, whether the problem is gone."""
    if not data.get("executed"):
        shown = [f"      {line}" for line in str(data.get("diff") or "").splitlines()]
        return shown + [f"      $ {command}" for command in data.get("commands", [])]
    gone = data.get("problem_gone")  # the summary names the backups
    return [] if gone is None else [f"   problem gone: {'yes' if gone else 'no'}"]


def _diagnosis_lines(data: dict[str, Any]) -> list[str]:
    root = data.get("root") or {}
    lines = [f"DIAGNOSIS: {data.get('summary', '')}"]
    lines.append(
        f"   from the rescue system at {data.get('address')} port {data.get('port')}, host key {data.get('host_key')}"
        + (" (trusted on first use)" if data.get("host_key_first_use") else "")
    )
    if root:
        system = " ".join(str(root[k]) for k in ("os_name", "os_version") if root.get(k))
        lines.append(f"   root: {root.get('device')} ({root.get('fstype') or 'unknown'}), {system or 'unknown system'}")
    for found in data.get("findings", []):
        fix = f" (fix: {found['fix']})" if found.get("fix") else ""
        lines.append(f"   {found.get('severity')} {found.get('kind')}: {found.get('summary')}{fix}")
    lines += [f"   note: {note}" for note in data.get("notes", [])]
    lines.append(f"   next: {data.get('next_step', '')}")
    return lines
