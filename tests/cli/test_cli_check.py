"""`zomro-rescue-mcp check INSTANCE [--account] [--json]`: the state and whether the instance answers on
ZOMRO_HEALTH_PORTS, as a few lines or one JSON document; never a connection to a reserved address."""

from __future__ import annotations

import io
import json

import pytest

from zomro_rescue_mcp.simulator import Simulator

from ..listeners import closed_port, listening

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB = 5203773


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


def main_(argv: list[str], env: dict[str, str]) -> int:
    from zomro_rescue_mcp.cli.app import main

    return main(argv, env=env, ask=never_asked, stdin=io.StringIO(""))


def test_check_prints_the_state_and_the_banner_as_json(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.instances[WEB].ip = "127.0.0.1"
    with listening() as port:
        assert main_(["check", "web-1", "--json"], {**server_env, "ZOMRO_HEALTH_PORTS": str(port)}) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["kind"], document["instance_id"], document["status"]) == ("check", WEB, "active")
    assert (document["reachable"], document["banner"]) == ({str(port): True}, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")


def test_check_of_an_instance_that_does_not_answer_names_the_commands_to_run(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.instances[WEB].ip = "127.0.0.1"
    port = closed_port()
    assert main_(["check", str(WEB)], {**server_env, "ZOMRO_HEALTH_PORTS": str(port)}) == 0
    out = capsys.readouterr().out
    assert f"answers: {port} no" in out
    assert f"zomro-rescue-mcp diagnose {WEB}" in out
    assert "diagnose_instance" not in out


def test_check_of_an_instance_at_a_reserved_address_says_it_was_not_checked(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_(["check", str(WEB)], server_env) == 0
    assert "not checked: reserved address (203.0.113.10)" in capsys.readouterr().out
