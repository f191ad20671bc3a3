"""Secret masking stays cheap over a long life: configured secrets are kept, learnt ones only the most recent."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.core import redact
from zomro_rescue_mcp.settings.config import Settings


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with nothing remembered, and leaves the process's secrets as they were."""
    monkeypatch.setattr(redact, "_registry", redact._Registry())


def learnt(n: int) -> list[str]:
    return [f"session-{i:05d}" for i in range(n)]


def test_only_the_most_recent_learnt_secrets_are_remembered() -> None:
    sessions = learnt(redact.MAX_RECENT + 1)
    for session in sessions:
        redact.register(session)
    assert redact.scrub(sessions[0]) == sessions[0]
    assert redact.scrub(sessions[1]) == redact.MASK
    assert redact.scrub(sessions[-1]) == redact.MASK


def test_a_secret_registered_again_is_the_most_recent_again() -> None:
    sessions = learnt(redact.MAX_RECENT)
    for session in sessions:
        redact.register(session)
    redact.register(sessions[0])
    redact.register("one-more-session")
    assert redact.scrub(sessions[0]) == redact.MASK
    assert redact.scrub(sessions[1]) == sessions[1]


def test_passwords_for_the_logs_are_bounded_too() -> None:
    generated = [f"Generated-{i:05d}" for i in range(redact.MAX_RECENT + 1)]
    for password in generated:
        redact.register_for_logs(password)
    assert redact.scrub(generated[0], for_log=True) == generated[0]
    assert redact.scrub(generated[-1], for_log=True) == redact.MASK
    assert redact.scrub(generated[-1]) == generated[-1]  # a result may still show it to the person


def test_configured_secrets_are_masked_however_many_are_learnt_later() -> None:
    Settings.from_env(
        {"ZOMRO_USERNAME": "me", "ZOMRO_PASSWORD": "Account-Pass-1", "ZOMRO_MCP_TOKEN": "an-mcp-token-of-24-chars"}
    )
    for session in learnt(3 * redact.MAX_RECENT):
        redact.register(session)
        redact.register_for_logs(session.upper())
    assert redact.scrub("Account-Pass-1 an-mcp-token-of-24-chars") == f"{redact.MASK} {redact.MASK}"
    assert redact.scrub("Account-Pass-1", for_log=True) == redact.MASK


def test_the_longest_secret_is_masked_first() -> None:
    redact.register("abcd")
    redact.register("abcdefgh")
    assert redact.scrub("abcdefgh") == redact.MASK
