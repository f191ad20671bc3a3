"""What of the API's answer is kept for the person: everything but page noise and secrets."""

from __future__ import annotations

from zomro_rescue_mcp.core import redact
from zomro_rescue_mcp.operations.messages import api_reply


def test_secret_keys_are_dropped_and_registered_secrets_masked_at_any_depth() -> None:
    redact.register("0123456789abcdef01234567")
    doc = {
        "$lang": "en",
        "tparams": {"auth": {"$": "x"}},
        "ok": {"$": "func=instances"},
        "password": {"$": "Nova-Generated-1"},
        "detail": [{"note": {"$": "session 0123456789abcdef01234567 used"}}, {"auth": {"$": "y"}}],
    }
    assert api_reply(doc) == (
        {"ok": {"$": "func=instances"}, "detail": [{"note": {"$": "session *** used"}}, {}]},
        False,
    )
