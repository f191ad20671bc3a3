"""A rescued simulated instance has a rescue system: the stand-in by default, reached through the product's own SSH
and diagnosis code on the instance's loopback address, from the accepted rescue until the unrescue settles.

The story runs through `serve --simulator` and the official MCP client over stdio; the rest against a simulator on
loopback HTTP with the stand-in on a port of the test's own.
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.rescue_system import HostKeyTrust, LoginRefusedError, RescueSession, SSHTarget, connect
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, SimInstance, Simulator, run_on_loopback
from zomro_rescue_mcp.simulator.rescue_systems import Where
from zomro_rescue_mcp.simulator.stand_in import StandInRescueSystem

from ..conftest import CONSOLE_SCRIPT, DEFAULT_ERA, call, client_for, ok

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]  # many seconds: make test-heavy

WEB = 5203773
DOCUMENTED = "203.0.113.10"  # web-1's address in the simulator, while it is not rescued


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(host: str, port: int) -> bool:
    """Whether something accepts connections at host:port."""
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError:
        return False
    return True


class Recorded(StandInRescueSystem):
    """The stand-in, remembering the password each start was given (a test's own RescueSystem)."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.passwords: list[str] = []

    async def start(self, instance: SimInstance, password: str) -> Where:
        self.passwords.append(password)
        return await super().start(instance, password)


class Broken:
    """A rescue system that never starts."""

    async def start(self, instance: SimInstance, password: str) -> Where:
        raise OSError("no rescue system today")

    async def stop(self, instance: SimInstance) -> None:
        raise AssertionError("nothing started, so nothing is stopped")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def rescued_sim(port: int) -> Iterator[tuple[Simulator, str, Recorded]]:
    system = Recorded(port)
    sim = Simulator(transition_seconds=0.0, rescue_system=system)
    url, stop = run_on_loopback(sim)
    yield sim, url, system
    stop()


@pytest.fixture
async def rescuer(rescued_sim: tuple[Simulator, str, Recorded], port: int) -> AsyncIterator[Client]:
    _, url, _ = rescued_sim
    settings = Settings(
        api_url=url,
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        wait_seconds=4.0,  # also how long an exit waits for an instance that does not boot to answer
        poll_interval=0.05,
        require_preview=False,
        ssh_port=port,
        health_ports=(port,),  # the booted instance answers where its rescue system did
    )
    async with client_for(settings, DEFAULT_ERA) as client:
        yield client


async def address(client: Client) -> str:
    listed = ok(await call(client, "list_instances", query="web-1"))
    return str(listed["instances"][0]["ip"])


async def enter(client: Client) -> dict[str, Any]:
    return ok(await call(client, "enter_rescue", instance_id=WEB, image="Debian 12", confirm=True))


@pytest.mark.e2e
async def test_serve_simulator_enters_diagnoses_the_stale_fstab_line_and_leaves_it_unbootable_unrepaired(
    tmp_path: Any,
) -> None:
    env = {
        "ZOMRO_CONFIG": "none",
        "ZOMRO_POLL_INTERVAL": "1",
        "ZOMRO_LOG_LEVEL": "WARNING",
        "ZOMRO_WAIT_SECONDS": "3",  # also how long the exit waits for the instance, which does not boot, to answer
        "HOME": str(tmp_path),
    }
    params = StdioServerParameters(command=CONSOLE_SCRIPT, args=["serve", "--simulator"], env=env)
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=DEFAULT_ERA, cache=None) as client:
            enter = {"instance_id": WEB, "image": "Debian 12"}
            preview = ok(await client.call_tool("enter_rescue", enter))
            entered = ok(
                await client.call_tool("enter_rescue", {**enter, "preview_id": preview["preview_id"], "confirm": True})
            )
            diagnosis = ok(await client.call_tool("diagnose_instance", {"instance_id": WEB}))
            leave = ok(await client.call_tool("exit_rescue", {"instance_id": WEB}))
            left = ok(
                await client.call_tool(
                    "exit_rescue", {"instance_id": WEB, "preview_id": leave["preview_id"], "confirm": True}
                )
            )
    assert (entered["executed"], entered["status"]) == (True, "rescued")
    assert [f["kind"] for f in diagnosis["findings"]] == ["fstab.unknown_device"]
    assert ipaddress.ip_address(diagnosis["address"]).is_loopback
    assert diagnosis["port"] == 2222
    assert (left["executed"], left["status"]) == (True, "active")
    # Its stale fstab line was not repaired, so its disk model does not boot: nothing answers on the simulator's port.
    assert left["reachable"] == {"2222": False}
    [warning] = [n for n in left["notes"] if n.startswith("Warning: ")]
    assert "is active but did not answer on port 2222" in warning


async def test_the_address_is_the_rescue_systems_loopback_one_while_rescued_then_the_booted_systems(
    rescuer: Client,
) -> None:
    before = await address(rescuer)
    await enter(rescuer)
    rescued = await address(rescuer)
    ok(await call(rescuer, "exit_rescue", instance_id=WEB, confirm=True))
    assert (before, await address(rescuer)) == (DOCUMENTED, rescued)  # its own system answers there (own_system.py)
    assert ipaddress.ip_address(rescued).is_loopback
    assert rescued != "127.0.0.1"


async def test_the_rescue_system_takes_the_password_the_rescue_request_carried(
    rescuer: Client, rescued_sim: tuple[Simulator, str, Recorded]
) -> None:
    sim, _, system = rescued_sim
    entered = await enter(rescuer)
    [sent] = sim.mutating_requests()
    assert system.passwords == [sent.fields["password"]] == [entered["password"]]


async def test_the_stand_in_lets_in_only_root_with_the_rescue_password(rescuer: Client, port: int) -> None:
    await enter(rescuer)
    target = SSHTarget(await address(rescuer), port, password="Not-the-one-1", session=RescueSession.begin("t", WEB))
    with pytest.raises(LoginRefusedError):
        await connect(target, HostKeyTrust())


async def test_the_stand_in_answers_nothing_but_the_diagnosis_script(rescuer: Client, port: int) -> None:
    entered = await enter(rescuer)
    target = SSHTarget(await address(rescuer), port, password=entered["password"], session=RescueSession.begin("t", 1))
    async with await connect(target, HostKeyTrust()) as conn:
        done = await conn.run("cat /etc/shadow", read_only=True)
    assert (done.exit_status, done.stdout) == (126, b"")
    assert "answers only the diagnosis script" in done.error_text


async def test_the_rescue_system_has_stopped_once_the_unrescue_settled(
    rescuer: Client, rescued_sim: tuple[Simulator, str, Recorded], port: int
) -> None:
    await enter(rescuer)
    host = await address(rescuer)
    assert answers(host, port)
    rescued_sim[0].instances[WEB].boots = False  # nor does its own system answer there
    left = ok(await call(rescuer, "exit_rescue", instance_id=WEB, confirm=True))
    assert left["status"] == "active"
    assert not answers(host, port)


async def test_nothing_is_left_running_once_the_simulator_stops(port: int) -> None:
    sim = Simulator(transition_seconds=0.0, rescue_system=StandInRescueSystem(port))
    url, stop = run_on_loopback(sim)
    settings = Settings(api_url=url, username=DEMO_USERNAME, password=DEMO_PASSWORD, require_preview=False)
    try:
        async with client_for(settings.but(poll_interval=0.05, ssh_port=port), DEFAULT_ERA) as client:
            await enter(client)
            host = await address(client)
    finally:
        stop()
    assert sim.rescue_systems is not None
    assert (sim.rescue_systems.running, answers(host, port)) == (0, False)
    assert not [t for t in threading.enumerate() if t.name == "simulator-rescue-systems"]


async def test_a_rescue_whose_rescue_system_does_not_start_ends_in_error() -> None:
    sim = Simulator(transition_seconds=0.0, rescue_system=Broken())
    url, stop = run_on_loopback(sim)
    settings = Settings(api_url=url, username=DEMO_USERNAME, password=DEMO_PASSWORD, require_preview=False)
    try:
        async with client_for(settings.but(poll_interval=0.05, wait_seconds=10.0), DEFAULT_ERA) as client:
            entered = await enter(client)
            after = await address(client)
    finally:
        stop()
    assert (entered["status"], after) == ("error", DOCUMENTED)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "--simulator", "--disk", "5203773=/nonexistent.img"], "add --rescue-system vm"),
        (["serve", "--simulator", "--rescue-system", "vm", "--disk", "5203773=/nonexistent.img"], "is not a file"),
        (["serve", "--rescue-system", "stand-in"], "add --simulator"),
        (["demo", "--disk", "5203773=/nonexistent.img"], "add --rescue-system vm"),
    ],
)
def test_rescue_system_flags_that_cannot_work_are_refused_before_anything_starts(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    assert main(argv, {"ZOMRO_CONFIG": "none"}) == 2
    assert said in capsys.readouterr().err


async def test_the_models_text_of_a_typical_diagnosis_is_at_most_2500_characters(rescuer: Client) -> None:
    await enter(rescuer)
    result = await call(rescuer, "diagnose_instance", instance_id=WEB)
    said = "".join(getattr(block, "text", "") for block in result.content)
    assert "CRITICAL fstab.unknown_device" in said
    assert len(said) <= 2500


async def test_a_diagnosis_reports_progress_for_each_stage(rescuer: Client) -> None:
    from zomro_rescue_mcp.rescue_system import STAGES

    messages: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    await enter(rescuer)
    ok(await rescuer.call_tool("diagnose_instance", {"instance_id": WEB}, progress_callback=progress))
    assert messages == list(STAGES.values())  # every stage, in order: connect, the script's stages, the report


async def test_a_new_stay_in_rescue_mode_trusts_the_new_rescue_systems_key(rescuer: Client) -> None:
    await enter(rescuer)
    first = ok(await call(rescuer, "diagnose_instance", instance_id=WEB))
    again = ok(await call(rescuer, "diagnose_instance", instance_id=WEB))
    ok(await call(rescuer, "exit_rescue", instance_id=WEB, confirm=True))
    await enter(rescuer)  # the stand-in starts with a new host key, as a rescue system boots with one
    renewed = ok(await call(rescuer, "diagnose_instance", instance_id=WEB))
    assert (first["host_key_first_use"], again["host_key_first_use"]) == (True, False)
    assert again["host_key"] == first["host_key"]
    assert renewed["host_key"] != first["host_key"]
    assert renewed["host_key_first_use"] is True


async def test_a_diagnosis_is_audited_with_the_host_key_and_never_the_password(
    rescued_sim: tuple[Simulator, str, Recorded], port: int, tmp_path: Any
) -> None:
    import json

    _, url, system = rescued_sim
    audit = tmp_path / "audit.jsonl"
    settings = Settings(
        api_url=url,
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        wait_seconds=4.0,
        poll_interval=0.05,
        require_preview=False,
        ssh_port=port,
        health_ports=(port,),
        audit_log=str(audit),
    )
    async with client_for(settings, DEFAULT_ERA) as client:
        await enter(client)
        diagnosis = ok(await call(client, "diagnose_instance", instance_id=WEB))
    [record] = [r for r in map(json.loads, audit.read_text().splitlines()) if r["tool"] == "diagnose_instance"]
    assert (record["result"], record["host_key"], record["instance_id"]) == ("diagnosis", diagnosis["host_key"], WEB)
    assert system.passwords[-1] not in audit.read_text()
