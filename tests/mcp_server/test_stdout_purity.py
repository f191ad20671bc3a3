"""In stdio mode stdout carries JSON-RPC only: every line the server writes there is a JSON-RPC message."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import pytest

from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator

from ..conftest import CONSOLE_SCRIPT

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("list_instances", {}),
    ("enter_rescue", {"instance_id": 5203773, "image": "Ubuntu 22.04"}),
    ("enter_rescue", {"instance_id": 5203773, "image": "Ubuntu 22.04", "confirm": True}),
    ("enter_rescue", {"instance_id": 1, "image": "nothing"}),
    ("exit_rescue", {"instance_id": 5203773}),
    ("exit_rescue", {"instance_id": 5203773, "confirm": True}),
]


@pytest.mark.heavy  # end to end: make test-heavy
@pytest.mark.e2e
def test_every_stdout_line_is_json_rpc(api_url: str, sim: Simulator) -> None:
    env = {
        "ZOMRO_API_URL": api_url,
        "ZOMRO_USERNAME": DEMO_USERNAME,
        "ZOMRO_PASSWORD": DEMO_PASSWORD,
        "ZOMRO_LOG_LEVEL": "DEBUG",
        "ZOMRO_POLL_INTERVAL": "1",
        "PATH": "/usr/bin:/bin",
    }
    server = subprocess.Popen(
        [CONSOLE_SCRIPT, "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(60, server.kill)
    watchdog.start()
    assert server.stdin is not None
    assert server.stdout is not None
    assert server.stderr is not None
    lines: list[str] = []

    def ask(message: dict[str, Any]) -> None:
        assert server.stdin is not None
        assert server.stdout is not None
        server.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        server.stdin.flush()
        if "id" in message:  # read up to and including the reply to this request
            while not lines or json.loads(lines[-1]).get("id") != message["id"]:
                line = server.stdout.readline()
                assert line, "the server closed stdout early"
                lines.append(line)

    try:
        ask(
            {
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "purity-check", "version": "1"},
                },
            }
        )
        ask({"method": "notifications/initialized"})
        ask({"id": 1, "method": "tools/list"})
        preview_id = None
        for number, (tool, arguments) in enumerate(CALLS, start=2):
            if arguments.get("confirm"):  # the confirmed call carries its preview's id
                arguments = {**arguments, "preview_id": preview_id}
            ask({"id": number, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
            preview_id = (json.loads(lines[-1])["result"].get("structuredContent") or {}).get("preview_id")
        server.stdin.close()
        lines.extend(server.stdout.readlines())
        stderr = server.stderr.read()
        server.wait(timeout=30)
    finally:
        watchdog.cancel()
        server.kill()
    replies = [json.loads(line) for line in lines]
    assert all(reply["jsonrpc"] == "2.0" for reply in replies)
    assert [r["id"] for r in replies if "id" in r] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert [r["result"]["isError"] for r in replies[2:]] == [False, False, False, True, False, False]
    assert "logged in" in stderr  # the logs went to stderr
    assert len(sim.mutating_requests()) == 2
