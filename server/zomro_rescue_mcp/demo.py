"""`zomro-rescue-mcp demo`: the whole rescue story, told by the real server over stdio to the official client.

The server runs as a subprocess on its built-in simulator; every call and result is printed for a person.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio

__all__ = ["run_demo"]

INSTANCE = 5203773


def run_demo() -> int:
    """Run the story; 0 when every step gave the expected kind of result."""
    return anyio.run(_story)


def _say(text: str) -> None:
    print(text, flush=True)  # stdout ok: the demo is for a person, not a stdio server


async def _story() -> int:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "zomro_rescue_mcp", "serve", "--simulator"],
        env={"ZOMRO_LOG_LEVEL": "WARNING", "ZOMRO_POLL_INTERVAL": "1"},
    )
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "The person: my web server web-1 won't boot. The assistant looks it up.",
            "list_instances",
            {"query": "web-1"},
        ),
        (
            "Which rescue images can it use?",
            "list_rescue_images",
            {"instance_id": INSTANCE},
        ),
        (
            "The assistant previews entering rescue with Ubuntu 22.04 (nothing changes yet).",
            "enter_rescue",
            {"instance_id": INSTANCE, "image": "ubuntu 22.04"},
        ),
        (
            "The person says yes; the assistant confirms the same action.",
            "enter_rescue",
            {"instance_id": INSTANCE, "image": "ubuntu 22.04", "confirm": True},
        ),
        ("Repairs done; the assistant previews leaving rescue.", "exit_rescue", {"instance_id": INSTANCE}),
        ("The person says yes; the assistant confirms.", "exit_rescue", {"instance_id": INSTANCE, "confirm": True}),
    ]
    async with Client(params) as client:
        _say(
            f"Connected to {client.server_info.name if client.server_info else 'server'} "
            f"(MCP {client.protocol_version}) running on the built-in simulator.\n"
        )
        tools = await client.list_tools()
        _say("Tools: " + ", ".join(t.name for t in tools.tools) + "\n")
        for story, tool, arguments in steps:
            _say(f"== {story}\n-> {tool} {json.dumps(arguments)}")
            result = await client.call_tool(tool, arguments, progress_callback=_show_progress)
            if result.is_error:
                text = " ".join(getattr(c, "text", "") for c in result.content)
                _say(f"<- error: {text}")
                return 1
            _say("<- " + _render(tool, result.structured_content or {}) + "\n")
    _say("The story is complete: the instance went into rescue mode and came back.")
    return 0


async def _show_progress(progress: float, total: float | None, message: str | None) -> None:
    _say(f"   ... {message or progress}")


def _render(tool: str, data: dict[str, Any]) -> str:
    if tool == "list_instances":
        rows = [f"   {i['id']}  {i['name']:<10} {i['ip'] or '-':<15} {i['status']}" for i in data.get("instances", [])]
        return f"{len(rows)} instance(s):\n" + "\n".join(rows)
    if tool == "list_rescue_images":
        rows = [
            f"   {i['id']}  {i['zone']:<3}  {i['os']}" + (f"  ({i['name']})" if i.get("name") else "")
            for i in data.get("images", [])
        ]
        head = f"instance {data.get('name')} is {data.get('status')}; {len(rows)} images offered:\n"
        return head + "\n".join(rows)
    lines = [("EXECUTED: " if data.get("executed") else "PREVIEW: ") + str(data.get("summary", ""))]
    if data.get("password"):
        lines.append(f"   rescue root password (shown once): {data['password']}")
    lines.append(f"   next: {data.get('next_step', '')}")
    return "\n".join(lines)
