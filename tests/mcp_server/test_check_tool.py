"""check_instance through the official MCP client: the instance's state and whether it answers on
ZOMRO_HEALTH_PORTS now, its banner escaped in the data and the text; a reserved address is never connected to.

The simulator's instances have documentation-range addresses; a test moves one to 127.0.0.1, where a real listener
(tests/listeners.py) answers or a closed port does not.
"""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator

from ..conftest import call, client_for, ok, text
from ..listeners import closed_port, listening

pytestmark = pytest.mark.anyio

WEB = 5203773


async def test_check_instance_of_an_instance_that_answers_gives_its_state_and_banner(
    settings: Settings, sim: Simulator, era: str
) -> None:
    sim.instances[WEB].ip = "127.0.0.1"
    with listening() as port:
        async with client_for(settings.but(health_ports=(port,)), era) as client:
            result = await call(client, "check_instance", instance_id=WEB)
    data = ok(result)
    assert (data["status"], data["address"], data["reachable"]) == ("active", "127.0.0.1", {str(port): True})
    assert data["banner"] == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
    assert f"answers: {port} yes; banner SSH-2.0-OpenSSH_9.2p1" in text(result)


async def test_check_instance_that_does_not_answer_is_no_error_and_names_the_next_step(
    settings: Settings, sim: Simulator, era: str
) -> None:
    sim.instances[WEB].ip = "127.0.0.1"
    port = closed_port()
    async with client_for(settings.but(health_ports=(port,)), era) as client:
        data = ok(await call(client, "check_instance", instance_id=WEB))
    assert data["reachable"] == {str(port): False}
    assert "diagnose_instance" in data["next_step"]
    assert "console" in data["next_step"]


async def test_check_instance_never_connects_to_a_reserved_address(client: Client) -> None:
    data = ok(await call(client, "check_instance", instance_id=WEB))
    assert (data["address"], data["reachable"]) == ("203.0.113.10", None)
    assert data["notes"] == ["Whether it answers was not checked: reserved address (203.0.113.10)."]


async def test_check_instance_shows_a_banner_as_data(settings: Settings, sim: Simulator, era: str) -> None:
    sim.instances[WEB].ip = "127.0.0.1"
    with listening(b"SSH-2.0-x\x1b]0;owned\x07\r\n") as port:
        async with client_for(settings.but(health_ports=(port,)), era) as client:
            result = await call(client, "check_instance", instance_id=WEB)
    assert ok(result)["banner"] == "SSH-2.0-x\\x1b]0;owned\\x07"
    assert "\x1b" not in text(result)


async def test_check_instance_is_offered_in_read_only_mode(settings: Settings, era: str) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    annotations = tools["check_instance"].annotations
    assert annotations is not None
    assert (annotations.read_only_hint, annotations.idempotent_hint, annotations.open_world_hint) == (True, True, True)
