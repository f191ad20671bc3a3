"""Settings values: instance ids are ASCII digits, seconds are finite and bounded, an empty guard rail is an error."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.settings.config import Settings, parse_instance_id

TOKEN = "0123456789abcdef01234567"
SECONDS = ["ZOMRO_TIMEOUT", "ZOMRO_WAIT_SECONDS", "ZOMRO_POLL_INTERVAL", "ZOMRO_PREVIEW_TTL"]
GUARD_RAILS = ["ZOMRO_READ_ONLY", "ZOMRO_REQUIRE_APPROVAL", "ZOMRO_AUDIT_LOG", "ZOMRO_REQUIRE_PREVIEW"]


@pytest.mark.parametrize(("text", "expected"), [("5203773", 5203773), ("1", 1), ("123456789012", 123456789012)])
def test_an_instance_id_is_read_from_ascii_digits(text: str, expected: int) -> None:
    assert parse_instance_id(text) == expected


@pytest.mark.parametrize(
    "text",
    ["²", "١٢", "５２０３７７３", "0", "000", "", "+5", "-5", " 5", "5 ", "5\n", "5.0", "1_000", "1234567890123"],
)
def test_anything_else_is_not_an_instance_id(text: str) -> None:
    assert parse_instance_id(text) is None


@pytest.mark.parametrize("name", SECONDS)
@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "1" + "0" * 400])
def test_nan_and_infinity_are_refused_for_every_seconds_setting(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN, name: raw})


@pytest.mark.parametrize("name", SECONDS)
def test_seconds_are_plain_ascii_decimals(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} must be a number of seconds"):
        Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN, name: "١٢"})


@pytest.mark.parametrize(
    ("name", "group", "low", "high"),
    [("ZOMRO_TIMEOUT", "api", 1.0, 300.0), ("ZOMRO_POLL_INTERVAL", "timing", 1.0, 60.0)],
)
def test_the_bounds_themselves_are_accepted(name: str, group: str, low: float, high: float) -> None:
    for value in (low, high):
        settings = Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN, name: f"{value:g}"})
        assert getattr(getattr(settings, group), name.removeprefix("ZOMRO_").lower()) == value


def test_settings_built_in_code_may_poll_faster_than_the_environment_allows() -> None:
    settings = Settings(poll_interval=0.05, timeout=0.5)
    assert (settings.timing.poll_interval, settings.api.timeout) == (0.05, 0.5)


@pytest.mark.parametrize("name", GUARD_RAILS)
@pytest.mark.parametrize("raw", ["", " ", "\t"])
def test_an_empty_guard_rail_is_an_error_and_never_off(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} is set but empty, which is never read as off: "):
        Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN, name: raw})


def test_an_empty_guard_rail_is_an_error_with_the_simulator_too() -> None:
    with pytest.raises(ConfigError, match="ZOMRO_REQUIRE_PREVIEW is set but empty"):
        Settings.from_env({"ZOMRO_REQUIRE_PREVIEW": ""}, simulator=True)


def test_unset_guard_rails_keep_their_defaults() -> None:
    settings = Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN})
    assert (
        settings.guard_rails.read_only,
        settings.guard_rails.require_approval,
        settings.guard_rails.require_preview,
    ) == (False, "auto", True)
    assert settings.guard_rails.audit_log is None


def test_settings_are_grouped_by_concern_and_built_from_their_own_names() -> None:
    settings = Settings(username="me@example.com", read_only=True, wait_seconds=5.0, mcp_token="t" * 16)
    changed = settings.but(audit_log="audit.jsonl")
    assert (settings.api.username, settings.guard_rails.read_only, settings.timing.wait_seconds) == (
        "me@example.com",
        True,
        5.0,
    )
    assert settings.http.mcp_token == "t" * 16
    assert (changed.guard_rails.audit_log, changed.guard_rails.read_only) == ("audit.jsonl", True)
    assert settings.but(read_only=False).guard_rails.read_only is False


def test_a_setting_that_does_not_exist_is_refused() -> None:
    with pytest.raises(TypeError, match="no setting 'readonly'"):
        Settings(readonly=True)
