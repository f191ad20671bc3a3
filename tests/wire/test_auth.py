"""Sessions: token or login, one re-login on expiry, clear sentences for refused logins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    TOTP_USERNAME,
    Behaviour,
    Fault,
    Simulator,
    run_on_loopback,
)

from ..conftest import call, client_for, error, ok
from ..outcome import facts, kind

pytestmark = pytest.mark.anyio

WEB = 5203773


async def test_a_configured_token_is_sent_as_auth_without_logging_in(api_url: str, sim: Simulator, era: str) -> None:
    token = sim.new_session()
    async with client_for(Settings(api_url=api_url, auth_token=token, timeout=1.0), era) as client:
        ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert sim.calls("auth") == []
    assert sim.calls("instances.fleio.rescue")[0].fields["auth"] == token


async def test_credentials_log_in_once_for_many_calls(client: Client, sim: Simulator) -> None:
    for _ in range(3):
        ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert len(sim.calls("auth")) == 1


async def test_expired_session_logs_in_again_once_and_repeats_the_confirmed_call(
    client: Client, sim: Simulator
) -> None:
    sim.inject(Fault("session_expired", mutating=True))
    data = ok(await call(client, "exit_rescue", instance_id=5203775, confirm=True))
    assert data["executed"] is True
    assert len(sim.calls("auth")) == 2
    first, second = sim.mutating_requests()
    assert first.fields["auth"] != second.fields["auth"]  # refused with the old session, executed with the new
    assert sim.instances[5203775].status == "active"


@pytest.fixture
async def auth_type_sim() -> AsyncIterator[tuple[Simulator, str]]:
    simulator = Simulator(behaviour=Behaviour(expired_session_error="auth"), transition_seconds=0.0)
    url, stop = run_on_loopback(simulator)
    yield simulator, url
    stop()


async def test_an_auth_type_session_refusal_also_triggers_one_relogin(
    auth_type_sim: tuple[Simulator, str], era: str
) -> None:
    simulator, url = auth_type_sim
    settings = Settings(api_url=url, username=DEMO_USERNAME, password=DEMO_PASSWORD, timeout=1.0)
    async with client_for(settings, era) as client:
        ok(await call(client, "list_rescue_images", instance_id=WEB))
        simulator.expire_sessions()
        ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert len(simulator.calls("auth")) == 2


async def test_an_expired_token_without_credentials_says_what_to_set(api_url: str, sim: Simulator, era: str) -> None:
    token = sim.new_session()
    sim.expire_sessions()
    async with client_for(Settings(api_url=api_url, auth_token=token, timeout=1.0), era) as client:
        result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert kind(result) == "api.auth"
    message = error(result)
    assert "ZOMRO_AUTH_TOKEN" in message  # the sentence names what to set
    assert "ZOMRO_USERNAME" in message
    assert sim.mutating_requests() == []


async def test_a_wrong_password_is_a_sentence_naming_the_settings(api_url: str, sim: Simulator, era: str) -> None:
    settings = Settings(api_url=api_url, username=DEMO_USERNAME, password="Wrong-Passw0rd", timeout=1.0)
    async with client_for(settings, era) as client:
        result = await call(client, "list_rescue_images", instance_id=WEB)
    assert kind(result) == "api.auth"
    message = error(result)
    assert "ZOMRO_USERNAME and ZOMRO_PASSWORD" in message
    assert "Wrong-Passw0rd" not in message


async def test_a_two_factor_account_is_told_to_use_a_session_token(api_url: str, sim: Simulator, era: str) -> None:
    settings = Settings(api_url=api_url, username=TOTP_USERNAME, password=DEMO_PASSWORD, timeout=1.0)
    async with client_for(settings, era) as client:
        result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert kind(result) == "api.auth"
    assert "ZOMRO_TOTP_SECRET" in error(result)
    assert sim.mutating_requests() == []


async def test_the_login_sends_only_the_credentials_and_checks_for_two_factor(client: Client, sim: Simulator) -> None:
    ok(await call(client, "list_instances"))
    [login] = sim.calls("auth")
    assert set(login.fields) == {"func", "out", "lang", "username", "password"}
    assert login.query == {}
    [whoami] = sim.calls("whoami")
    assert set(whoami.fields) == {"func", "out", "lang", "auth"}


async def test_a_session_refused_again_after_the_relogin_is_sent_twice_at_most(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("session_expired", mutating=True, times=5))
    result = await call(client, "exit_rescue", instance_id=5203775, confirm=True)
    assert (kind(result), facts(result)["err_type"]) == ("api.denied", "access")
    assert len(sim.mutating_requests()) == 2
    assert sim.instances[5203775].status == "rescued"


async def test_concurrent_calls_on_an_expired_session_log_in_once(client: Client, sim: Simulator) -> None:
    ok(await call(client, "list_instances"))
    sim.expire_sessions()
    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(call, client, "list_instances")
    assert len(sim.calls("auth")) == 2


async def test_a_refused_login_is_not_tried_again(api_url: str, sim: Simulator, era: str) -> None:
    settings = Settings(api_url=api_url, username=DEMO_USERNAME, password="Wrong-Passw0rd", timeout=1.0)
    async with client_for(settings, era) as client:
        first = error(await call(client, "list_instances"))
        second = error(await call(client, "list_instances"))
    assert first == second
    assert "will not try again until it is restarted" in first
    assert len(sim.calls("auth")) == 1


async def test_the_configured_language_goes_on_the_wire(api_url: str, sim: Simulator, era: str) -> None:
    token = sim.new_session()
    async with client_for(Settings(api_url=api_url, auth_token=token, lang="ru", timeout=1.0), era) as client:
        ok(await call(client, "list_instances"))
    assert {r.fields["lang"] for r in sim.requests} == {"ru"}
