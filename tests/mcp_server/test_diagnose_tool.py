"""diagnose_instance through the official MCP client: refused before any connection when the instance is not in rescue
mode or no rescue password is held or given; after a confirmed enter_rescue the server holds the login; the password
never reaches a result or a log. enter_rescue's result names diagnose_instance as the next step.

No VM: the rescue system is a real SSH server on 127.0.0.1 that lets nobody in (tests/refusing_sshd.py), so nothing
ever runs; the simulator's instances have documentation-range addresses, never connected to, unless a test moves one
to that loopback address.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator

from ..conftest import call, client_for, error, ok, text
from ..outcome import facts, kind
from ..refusing_sshd import RefusingSSH

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775
SECRET = "Typed-Rescue-Secret-3"


@pytest.fixture
def rescue_ssh() -> Iterator[RefusingSSH]:
    with RefusingSSH() as ssh:
        yield ssh


@pytest.fixture
async def diagnosing(settings: Settings, era: str, rescue_ssh: RefusingSSH) -> AsyncIterator[Client]:
    """A client of a server whose rescue systems answer SSH on the stand-in's port."""
    async with client_for(settings.but(ssh_port=rescue_ssh.port), era) as connected:
        yield connected


def on_loopback(sim: Simulator, instance_id: int) -> None:
    sim.instances[instance_id].ip = "127.0.0.1"


async def test_diagnose_of_an_instance_not_in_rescue_mode_is_refused_and_connects_nowhere(
    diagnosing: Client, sim: Simulator, rescue_ssh: RefusingSSH
) -> None:
    on_loopback(sim, WEB)
    result = await call(diagnosing, "diagnose_instance", instance_id=WEB)
    assert (kind(result), facts(result)["next"]) == ("refused.not_in_rescue", "enter_rescue")
    assert "is active, not in rescue mode" in error(result)
    assert rescue_ssh.connections == 0


async def test_diagnose_without_a_held_or_given_password_is_refused_before_any_connection(
    diagnosing: Client, sim: Simulator, rescue_ssh: RefusingSSH
) -> None:
    on_loopback(sim, LEGACY)  # in rescue mode since before this server started: it holds no login
    result = await call(diagnosing, "diagnose_instance", instance_id=LEGACY)
    assert kind(result) == "invalid.rescue_password"
    assert "pass it to diagnose_instance as rescue_password" in error(result)
    assert rescue_ssh.connections == 0


async def test_without_a_password_a_reserved_address_is_refused_for_the_password_first(client: Client) -> None:
    result = await call(client, "diagnose_instance", instance_id=LEGACY)
    assert kind(result) == "invalid.rescue_password"


async def test_after_a_confirmed_enter_rescue_the_server_holds_the_login(client: Client, sim: Simulator) -> None:
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    result = await call(client, "diagnose_instance", instance_id=WEB)
    assert kind(result) == "rescue.unreachable"  # not refused for the password: only at the reserved address
    assert facts(result)["reason"] == "reserved address"


async def test_the_login_held_after_enter_rescue_is_what_the_rescue_system_is_offered(
    diagnosing: Client, sim: Simulator, rescue_ssh: RefusingSSH
) -> None:
    on_loopback(sim, WEB)
    password = ok(await call(diagnosing, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))[
        "password"
    ]
    result = await call(diagnosing, "diagnose_instance", instance_id=WEB)
    assert kind(result) == "rescue.login_refused"
    assert (rescue_ssh.passwords, rescue_ssh.keys_offered) == ([password], 0)
    assert password not in text(result)


async def test_a_given_rescue_password_is_offered_and_never_reaches_the_result_or_the_logs(
    diagnosing: Client, sim: Simulator, rescue_ssh: RefusingSSH, caplog: pytest.LogCaptureFixture
) -> None:
    on_loopback(sim, LEGACY)
    with caplog.at_level(logging.DEBUG, logger="zomro_rescue_mcp"):
        result = await call(diagnosing, "diagnose_instance", instance_id=LEGACY, rescue_password=SECRET)
    assert kind(result) == "rescue.login_refused"
    assert rescue_ssh.passwords == [SECRET]
    assert "diagnosing instance 5203775" in caplog.text
    assert SECRET not in text(result) + str(result.meta) + caplog.text


async def test_a_confirmed_enter_from_a_linux_image_names_diagnose_instance_next(client: Client) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert data["next_step"].startswith("Give the person the password now (shown only this once). Next, before any ")
    assert (
        "call diagnose_instance (it reads the instance's disk from the rescue system and writes nothing)"
        in (data["next_step"])
    )
    assert data["next_step"].index("diagnose_instance") < data["next_step"].index("exit_rescue")


async def test_an_accepted_enter_not_watched_names_diagnose_instance_once_rescued(client: Client) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True, wait=False))
    assert "Once list_instances shows the instance as rescued, call diagnose_instance" in data["next_step"]


async def test_a_windows_rescue_image_is_not_sent_to_diagnose_instance(client: Client) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Windows Server 2022", confirm=True))
    assert "diagnose_instance" not in data["next_step"]


async def test_an_instance_rescued_from_a_windows_image_is_refused_without_connecting(
    diagnosing: Client, sim: Simulator, rescue_ssh: RefusingSSH
) -> None:
    on_loopback(sim, WEB)
    ok(await call(diagnosing, "enter_rescue", instance_id=WEB, image="Windows Server 2022", confirm=True))
    result = await call(diagnosing, "diagnose_instance", instance_id=WEB)
    assert kind(result) == "refused.windows_rescue"
    assert "console" in error(result)
    assert rescue_ssh.connections == 0
