"""After an unrescue settles, a simulated instance that boots answers with an SSH banner on its loopback address (where
its rescue system answered); one that does not boot (`SimInstance.boots = False`) answers nothing there. The server's
exit_rescue and check_instance, through the official MCP client, see which.

The rescue system is the stand-in on a port of the test's own; the health check's port is that port.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator, run_on_loopback
from zomro_rescue_mcp.simulator.own_system import BANNER
from zomro_rescue_mcp.simulator.stand_in import StandInRescueSystem

from ..conftest import DEFAULT_ERA, call, client_for, ok

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]  # end to end, many seconds: make test-heavy

WEB = 5203773


@pytest.fixture
def port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sim(port: int) -> Iterator[tuple[Simulator, str]]:
    simulator = Simulator(transition_seconds=0.0, rescue_system=StandInRescueSystem(port))
    url, stop = run_on_loopback(simulator)
    yield simulator, url
    stop()


@pytest.fixture
async def client(sim: tuple[Simulator, str], port: int) -> AsyncIterator[Client]:
    settings = Settings(
        api_url=sim[1],
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        wait_seconds=4.0,  # also how long an exit waits for an instance that does not boot to answer
        poll_interval=0.05,
        require_preview=False,
        ssh_port=port,
        health_ports=(port,),
    )
    async with client_for(settings, DEFAULT_ERA) as connected:
        yield connected


async def rescue_and_leave(client: Client) -> dict[str, object]:
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Debian 12", confirm=True))
    return ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))


async def test_an_instance_that_boots_answers_with_an_ssh_banner_after_exit_rescue(client: Client, port: int) -> None:
    left = await rescue_and_leave(client)
    assert (left["status"], left["reachable"]) == ("active", {str(port): True})
    assert left["banner"] == BANNER.decode().strip()
    checked = ok(await call(client, "check_instance", instance_id=WEB))
    assert ipaddress.ip_address(str(checked["address"])).is_loopback
    assert (checked["status"], checked["reachable"]) == ("active", {str(port): True})


async def test_an_instance_that_does_not_boot_does_not_answer(
    client: Client, sim: tuple[Simulator, str], port: int
) -> None:
    sim[0].instances[WEB].boots = False
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Debian 12", confirm=True))
    checked = ok(await call(client, "check_instance", instance_id=WEB))
    assert checked["status"] == "rescued"
    assert checked["banner"] != BANNER.decode().strip()  # the stand-in rescue system's, not the instance's own
    left = ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert (left["status"], left["reachable"]) == ("active", {str(port): False})
    assert any(n.startswith("Warning") and "diagnose it" in n for n in left["notes"])
    assert "diagnose_instance" in str(left["next_step"])


async def test_a_booted_instance_rescued_again_answers_as_its_rescue_system(client: Client, port: int) -> None:
    await rescue_and_leave(client)
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Debian 12", confirm=True))
    checked = ok(await call(client, "check_instance", instance_id=WEB))
    assert checked["status"] == "rescued"
    assert checked["reachable"] == {str(port): True}
    assert checked["banner"] != BANNER.decode().strip()


async def test_nothing_answers_once_the_simulator_stops(sim: tuple[Simulator, str], client: Client, port: int) -> None:
    await rescue_and_leave(client)
    host = str(ok(await call(client, "check_instance", instance_id=WEB))["address"])
    sim[0].close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=5).close()
