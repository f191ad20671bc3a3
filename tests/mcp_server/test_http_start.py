"""A refused HTTP start says why in one sentence and announces nothing: no "serving over http" line first."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.cli.app import main

TOKEN = "http-token-0123456789abcdef"
SERVE_HTTP = ["serve", "--simulator", "--transport", "http", "--port", "8000"]
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - each start here is refused before anything listens


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    ("flags", "env", "refusal"),
    [
        ([], {}, "Refusing to serve HTTP without ZOMRO_MCP_TOKEN"),
        (["--host", EVERY_INTERFACE], {}, f"Refusing to serve on {EVERY_INTERFACE} without ZOMRO_MCP_TOKEN"),
        (
            ["--host", EVERY_INTERFACE],
            {"ZOMRO_MCP_TOKEN": TOKEN},
            f"Listening on '{EVERY_INTERFACE}' (every interface)",
        ),
    ],
    ids=["no-token-on-loopback", "no-token-on-every-interface", "no-allowed-hosts-on-every-interface"],
)
def test_a_refused_http_start_announces_nothing(
    flags: list[str], env: dict[str, str], refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*SERVE_HTTP, *flags], {"ZOMRO_LOG_LEVEL": "INFO", **env}) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()  # the refusal alone: no "serving over http" before it
    assert line.startswith(f"zomro-rescue-mcp: {refusal}")
