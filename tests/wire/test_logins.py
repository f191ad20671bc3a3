"""Logins as the panel does them: keepalive before a re-login, permission denials, two-factor, refusal sentences."""

from __future__ import annotations

import json
import tempfile
import time

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import (
    CAPTCHA_USERNAME,
    DEMO_PASSWORD,
    TOTP_SECRET,
    TOTP_USERNAME,
    Behaviour,
    Simulator,
)
from zomro_rescue_mcp.wire import login

from ..conftest import call, client_for, error, ok, stdio_server

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775


@pytest.fixture
def two_factor(settings: Settings) -> Settings:
    return settings.but(username=TOTP_USERNAME, totp_secret=TOTP_SECRET)


class FakeTime:
    """The time two-factor codes are computed for, moved on by the waits for the next step instead of passing."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def pause(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """From now on (the simulator checks codes against the real time, within a step either side)."""
    fake = FakeTime(time.time())
    monkeypatch.setattr(login, "clock", fake.clock)
    monkeypatch.setattr(login, "pause", fake.pause)
    return fake


async def test_an_expired_session_is_checked_with_keepalive_before_logging_in_again(
    client: Client, sim: Simulator
) -> None:
    ok(await call(client, "list_instances"))
    stale = sim.calls("instances")[0].fields["auth"]
    sim.expire_sessions()
    ok(await call(client, "list_instances"))
    keepalives = sim.calls("keepalive")
    assert keepalives  # the page and the saved filter are read side by side: each may ask
    assert {k.fields["auth"] for k in keepalives} == {stale}
    assert len(sim.calls("auth")) == 2


async def test_a_permission_denial_names_the_function_and_logs_in_no_more(client: Client, sim: Simulator) -> None:
    sim.behaviour = Behaviour(denied=frozenset({"instances.fleio.rescue"}))
    message = error(await call(client, "list_rescue_images", instance_id=WEB))
    assert "does not permit instances.fleio.rescue for this account (instances.fleio.rescue)" in message
    assert "logging in again would not help" in message
    assert len(sim.calls("auth")) == 1
    assert len(sim.calls("keepalive")) == 1


async def test_without_keepalive_a_denied_function_costs_one_login_not_one_per_call(
    client: Client, sim: Simulator
) -> None:
    sim.behaviour = Behaviour(
        functions=frozenset({"instances", "instances.filter", "instances.fleio.rescue"}),
        denied=frozenset({"instances.fleio.rescue"}),
    )
    for _ in range(4):
        result = await call(client, "list_rescue_images", instance_id=WEB)
        assert result.meta is not None
        assert result.meta["zomro/kind"] == "api.denied"
    assert len(sim.calls("auth")) == 2  # the first login, and one to tell a dead session from a denial


async def test_an_unconfirmed_call_of_a_two_factor_account_sends_sok_only_to_confirm_its_login(
    two_factor: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(two_factor, era) as client:
        ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    assert {r.func for r in sim.requests if "sok" in r.fields} == {"totp.confirm"}
    assert sim.mutating_requests() == []


async def test_a_denied_confirmed_change_is_refused_once_and_not_sent_again(client: Client, sim: Simulator) -> None:
    sim.behaviour = Behaviour(denied=frozenset({"instances.fleio.unrescue"}))
    message = error(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
    assert "does not permit instances.fleio.unrescue" in message
    assert len(sim.mutating_requests()) == 1
    assert sim.instances[LEGACY].status == "rescued"


async def test_a_two_factor_account_confirms_its_login_as_the_panel_does(
    two_factor: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(two_factor, era) as client:
        ok(await call(client, "list_instances"))
    [confirm] = sim.calls("totp.confirm")
    assert confirm.fields["sok"] == "ok"
    assert confirm.fields["clicked_button"] == "ok"
    assert len(confirm.fields["qrcode"]) == 6
    assert confirm.fields["qrcode"].isdigit()
    [login] = sim.calls("auth")
    assert confirm.fields["auth"] != sim.calls("instances")[0].fields["auth"]  # the new session is used
    assert login.fields.keys() == {"func", "out", "lang", "username", "password"}


async def test_a_two_factor_account_works_through_a_confirmed_change(
    two_factor: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(two_factor, era) as client:
        data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert (data["executed"], data["wait"]) == (True, "reached")


async def test_an_expired_two_factor_session_logs_in_again_once_with_a_fresh_code(
    two_factor: Settings, sim: Simulator, era: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = iter(range(0, 300, 30))  # each login happens one 30-s step later, as it would after an hour
    started = time.time()
    monkeypatch.setattr(login, "clock", lambda: started + next(steps))
    async with client_for(two_factor, era) as client:
        ok(await call(client, "list_instances"))
        sim.expire_sessions()
        ok(await call(client, "list_instances"))
    assert len(sim.calls("auth")) == 2
    first, second = (r.fields["qrcode"] for r in sim.calls("totp.confirm"))
    assert first != second


async def test_a_second_login_in_the_same_step_waits_for_a_fresh_code(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTime(1_000_000.0)
    monkeypatch.setattr(login, "clock", fake.clock)
    monkeypatch.setattr(login, "pause", fake.pause)
    codes = login.TotpCodes(TOTP_SECRET)
    first, second = await codes(), await codes()
    assert first != second
    assert len(fake.waits) == 1
    assert fake.waits[0] <= 30.01


async def test_a_code_another_login_already_used_is_sent_again_once_with_the_next_steps_code(
    two_factor: Settings, sim: Simulator, era: str, fake_time: FakeTime
) -> None:
    async with client_for(two_factor, era) as other:  # another server with the same secret, in the same step
        ok(await call(other, "list_instances"))
    async with client_for(two_factor, era) as client:
        ok(await call(client, "list_instances"))
        ok(await call(client, "list_rescue_images", instance_id=WEB))  # and it stays logged in
    used, refused, fresh = (r.fields["qrcode"] for r in sim.calls("totp.confirm"))
    assert used == refused != fresh
    assert len(fake_time.waits) == 1  # it waited for the next step to make the new code
    assert len(sim.calls("auth")) == 2  # the same login's session confirmed, no new login


async def test_a_two_factor_account_without_its_secret_is_told_what_to_set(
    settings: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(settings.but(username=TOTP_USERNAME), era) as client:
        message = error(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert "two-factor authentication" in message
    assert "ZOMRO_TOTP_SECRET" in message
    assert sim.mutating_requests() == []


async def test_a_wrong_two_factor_secret_costs_two_codes_then_a_sentence_and_is_not_tried_again(
    two_factor: Settings, sim: Simulator, era: str, fake_time: FakeTime
) -> None:
    wrong = two_factor.but(totp_secret="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    async with client_for(wrong, era) as client:
        first = error(await call(client, "list_instances"))
        second = error(await call(client, "list_instances"))
    assert "refused the two-factor code" in first
    assert "the next 30-second step's code too" in first
    assert "ZOMRO_TOTP_SECRET" in first
    assert first == second
    codes = [r.fields["qrcode"] for r in sim.calls("totp.confirm")]
    assert len(codes) == len(set(codes)) == 2


@pytest.mark.heavy  # many seconds: make test-heavy
@pytest.mark.e2e
async def test_the_two_factor_secret_never_reaches_results_or_logs(
    server_env: dict[str, str], sim: Simulator, era: str
) -> None:
    env = {**server_env, "ZOMRO_USERNAME": TOTP_USERNAME, "ZOMRO_TOTP_SECRET": TOTP_SECRET.lower()}
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(env, era, errlog) as client:
            results = [await call(client, "list_instances"), await call(client, "list_rescue_images", instance_id=WEB)]
        errlog.seek(0)
        logged = errlog.read()
    said = logged + "".join(json.dumps(r.model_dump(mode="json")) for r in results)
    assert "two-factor login confirmed" in logged
    assert TOTP_SECRET not in said
    assert TOTP_SECRET.lower() not in said


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        ("blocked_ip", "contact Zomro support"),
        ("blockgeoip", "follow the unlock instructions Zomro sent"),
        ("badip", "logins from this IP address are not allowed"),
        ("blocklogon", "blocked for a short while after failed attempts"),
    ],
)
async def test_each_login_refusal_has_its_own_sentence(client: Client, sim: Simulator, refusal: str, said: str) -> None:
    sim.login_refusal = refusal
    message = error(await call(client, "list_instances"))
    assert said in message
    assert "will not try again until it is restarted" in message


async def test_a_captcha_refusal_says_to_use_a_session_token(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(username=CAPTCHA_USERNAME, password=DEMO_PASSWORD), era) as client:
        message = error(await call(client, "list_instances"))
    assert "reCAPTCHA" in message
    assert "ZOMRO_AUTH_TOKEN" in message
