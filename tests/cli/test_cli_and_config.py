"""The command line and the configuration: one sentence per problem, never a secret, an exit code per class."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zomro_rescue_mcp import __version__
from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.settings.config import Settings

from ..conftest import CONSOLE_SCRIPT

TOKEN = "0123456789abcdef01234567"


pytestmark = pytest.mark.usefixtures("restore_logging")


def test_version_flag_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"zomro-rescue-mcp {__version__}"


def test_help_explains_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in (
        "ZOMRO_API_URL",
        "ZOMRO_AUTH_TOKEN",
        "ZOMRO_USERNAME",
        "ZOMRO_PASSWORD",
        "ZOMRO_TIMEOUT",
        "ZOMRO_LANG",
        "serve",
        "--simulator",
        "demo",
    ):
        assert name in out


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "No Zomro credentials are configured"),
        ({"ZOMRO_USERNAME": "me@example.com"}, "set ZOMRO_PASSWORD as well"),
        ({"ZOMRO_PASSWORD": "Secret-Pass-1"}, "set ZOMRO_USERNAME as well"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_TIMEOUT": "soon"}, "ZOMRO_TIMEOUT must be a number"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_TIMEOUT": "0"}, "ZOMRO_TIMEOUT must be from 1 to 300 seconds, not 0."),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_TIMEOUT": "0.5"}, "ZOMRO_TIMEOUT must be from 1 to 300 seconds"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_TIMEOUT": "301"}, "ZOMRO_TIMEOUT must be from 1 to 300 seconds"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_API_URL": "http://api.zomro.com/"}, "unencrypted"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_API_URL": "ftp://x/"}, "must be an http(s) URL"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_LANG": "english"}, "two-letter language code"),
        ({"ZOMRO_AUTH_TOKEN": "has spaces in it"}, "does not look like a session id"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_WAIT_SECONDS": "-1"}, "from 0 (do not wait) to 3600 seconds"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_WAIT_SECONDS": "long"}, "ZOMRO_WAIT_SECONDS must be a number"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_POLL_INTERVAL": "0"}, "ZOMRO_POLL_INTERVAL must be from 1 to 60 seconds"),
        (
            {"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_POLL_INTERVAL": "0.05"},
            "ZOMRO_POLL_INTERVAL must be from 1 to 60 seconds",
        ),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_POLL_INTERVAL": "61"}, "ZOMRO_POLL_INTERVAL must be from 1 to 60 seconds"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_READ_ONLY": "maybe"}, "ZOMRO_READ_ONLY must be 1 or 0"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_READ_ONLY": ""}, "ZOMRO_READ_ONLY is set but empty"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_READ_ONLY": "  "}, "ZOMRO_READ_ONLY is set but empty"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_REQUIRE_APPROVAL": ""}, "ZOMRO_REQUIRE_APPROVAL is set but empty"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_REQUIRE_PREVIEW": " "}, "ZOMRO_REQUIRE_PREVIEW is set but empty"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_AUDIT_LOG": ""}, "ZOMRO_AUDIT_LOG is set but empty"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_ALLOWED_INSTANCES": "5203773,web-1"}, "'web-1' is not one"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_ALLOWED_INSTANCES": " "}, "set but empty"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_ALLOWED_INSTANCES": "5203773,²"}, "'²' is not one"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_ALLOWED_INSTANCES": "١٢"}, "'١٢' is not one"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_ALLOWED_INSTANCES": "1234567890123"}, "'1234567890123' is not one"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_MCP_TOKEN": "short"}, "at least 16 characters"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_LOG_LEVEL": "LOUD"}, "ZOMRO_LOG_LEVEL must be DEBUG"),
        ({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_AUDIT_LOG": "/nonexistent/dir/audit.jsonl"}, "cannot be written"),
    ],
)
def test_bad_configuration_is_one_sentence_and_exit_2(
    env: dict[str, str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"], env=env) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert expected in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert TOKEN not in captured.err


def test_a_configuration_error_never_echoes_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"], env={"ZOMRO_PASSWORD": "Very-Secret-9"}) == 2
    assert "Very-Secret-9" not in capsys.readouterr().err


def test_flags_override_the_environment() -> None:
    settings = Settings.from_env(
        {"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_TIMEOUT": "5"}, timeout="7", api_url="http://127.0.0.1:9/"
    )
    assert settings.api.timeout == 7.0
    assert settings.api.api_url == "http://127.0.0.1:9/"


def test_guard_rails_and_timing_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "ZOMRO_AUTH_TOKEN": TOKEN,
            "ZOMRO_WAIT_SECONDS": "0",
            "ZOMRO_POLL_INTERVAL": "1.5",
            "ZOMRO_READ_ONLY": "yes",
            "ZOMRO_ALLOWED_INSTANCES": "5203773, 5203774 5203775",
            "ZOMRO_REQUIRE_APPROVAL": "1",
        }
    )
    assert (settings.timing.wait_seconds, settings.timing.poll_interval) == (0.0, 1.5)
    assert settings.guard_rails.read_only is True
    assert settings.guard_rails.allowed_instances == frozenset({5203773, 5203774, 5203775})
    assert settings.guard_rails.require_approval == "always"


def test_the_read_only_flag_overrides_the_environment() -> None:
    assert Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN}, read_only="1").guard_rails.read_only is True


def test_token_and_credentials_together_are_allowed_and_the_token_goes_first() -> None:
    settings = Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_USERNAME": "me", "ZOMRO_PASSWORD": "pw-Secret1"})
    assert settings.api.auth_kind == "token+login"


def test_settings_repr_holds_no_secret() -> None:
    settings = Settings.from_env({"ZOMRO_AUTH_TOKEN": TOKEN, "ZOMRO_USERNAME": "me", "ZOMRO_PASSWORD": "pw-Secret1"})
    assert TOKEN not in repr(settings)
    assert "pw-Secret1" not in repr(settings)


def test_config_error_is_a_config_error_class() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({})


@pytest.mark.e2e
def test_the_console_script_refuses_to_start_without_credentials() -> None:
    done = subprocess.run(
        [CONSOLE_SCRIPT],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "No Zomro credentials are configured" in done.stderr


@pytest.mark.e2e
def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zomro_rescue_mcp", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"zomro-rescue-mcp {__version__}"


@pytest.mark.e2e
@pytest.mark.heavy
def test_demo_tells_the_whole_story_and_exits_0() -> None:
    done = subprocess.run(
        [CONSOLE_SCRIPT, "demo"], capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr
    for step in (
        "-> list_instances",
        "5203773  web-1",
        "-> list_rescue_images",
        "... rescuing after",
        "... rescued after",
        "PREVIEW:",
        "EXECUTED:",
        "-> exit_rescue",
        "rescue root password",
        "The story is complete",
    ):
        assert step in done.stdout


@pytest.mark.parametrize("command", ["enter", "exit"])
def test_the_help_of_a_change_says_each_simulator_command_starts_a_fresh_one(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "With --simulator, each command starts a fresh simulator" in said
    assert "--dry-run" in said


def test_every_positional_argument_has_its_own_help_and_none_says_as_above() -> None:
    import argparse

    from zomro_rescue_mcp.cli.parser import build_parser

    def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        found = [parser]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found += parsers(child)
        return found

    positionals, vague = [], []
    for parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.option_strings and not action.help:
                positionals.append(f"{parser.prog} {action.metavar or action.dest}")
            if action.help and action.help.strip().lower() in ("as above", "same as above"):
                vague.append(f"{parser.prog} {action.option_strings or action.dest}")
    assert (positionals, vague) == ([], [])
