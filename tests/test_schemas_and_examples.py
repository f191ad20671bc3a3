"""The committed schemas/ match the live server, and every example config names the real command and settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.cli.parser import EPILOG
from zomro_rescue_mcp.mcp_server.schemas import live_modes, live_tool_documents, render
from zomro_rescue_mcp.settings.toolsets import CHANGE_TOOLS

from .conftest import CONSOLE_SCRIPT

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "run `zomro-rescue-mcp schemas --write schemas/` and commit the result"


def test_schemas_folder_matches_the_live_tools() -> None:
    live = live_tool_documents()
    files = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "schemas").glob("*.json") if p.stem != "modes"}
    assert set(files) == set(live), REGENERATE
    for name, document in live.items():
        assert files[name] == render(document), f"schemas/{name}.json is stale: {REGENERATE}"


def test_modes_file_matches_the_tools_each_mode_serves() -> None:
    modes = (ROOT / "schemas" / "modes.json").read_text(encoding="utf-8")
    assert modes == render(live_modes()), f"schemas/modes.json is stale: {REGENERATE}"


@pytest.mark.usefixtures("restore_logging")
def test_schemas_without_write_prints_one_document_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["schemas"]) == 0
    assert json.loads(capsys.readouterr().out) == {"tools": live_tool_documents(), "modes": live_modes()}
    assert list(tmp_path.iterdir()) == []


def test_read_only_mode_serves_the_same_documents() -> None:
    full, read_only = live_tool_documents(), live_tool_documents(read_only=True)
    assert set(read_only) == set(full) - CHANGE_TOOLS
    assert all(read_only[name] == full[name] for name in read_only)


EXAMPLES = sorted((ROOT / "examples").rglob("*.json"))
SETTINGS = set(re.findall(r"\b(ZOMRO_[A-Z_]+)\b", EPILOG))
SERVERS_KEY = {"claude-desktop": "mcpServers", "cursor": "mcpServers", "vscode": "servers"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_json_example_runs_the_real_command_with_known_settings(path: Path) -> None:
    config = json.loads(path.read_text(encoding="utf-8"))
    client = path.relative_to(ROOT / "examples").parts[0]
    servers = config[SERVERS_KEY[client]]
    assert servers, "no servers in the example"
    declared_inputs = {item["id"] for item in config.get("inputs", [])}
    for server in servers.values():
        assert server["command"] == "zomro-rescue-mcp"
        assert server["args"] == (["serve", "--simulator"] if "simulator" in path.name else ["serve"])
        for variable, value in server.get("env", {}).items():
            assert variable in SETTINGS, f"{variable} is not a setting of zomro-rescue-mcp"
            for reference in re.findall(r"\$\{input:([^}]+)\}", value):
                assert reference in declared_inputs, f"{reference} is not declared in inputs"


def test_there_is_an_example_for_every_client_and_a_simulator_variant() -> None:
    names = {str(p.relative_to(ROOT / "examples")) for p in EXAMPLES}
    for client in SERVERS_KEY:
        assert any(n.startswith(client) and "simulator" not in n for n in names)
        assert any(n.startswith(client) and "simulator" in n for n in names)


def _env(client: str, name: str) -> dict[str, str]:
    config = json.loads((ROOT / "examples" / client / name).read_text(encoding="utf-8"))
    [server] = config[SERVERS_KEY[client]].values()
    return dict(server["env"])


@pytest.mark.parametrize(
    ("client", "name"),
    [("vscode", "mcp.json"), ("cursor", "mcp.json"), ("claude-desktop", "claude_desktop_config.json")],
)
def test_each_ide_example_logs_in_with_username_and_password(client: str, name: str) -> None:
    # Not ZOMRO_AUTH_TOKEN: a session expires an hour after its last use, and a login is renewed by the server.
    assert set(_env(client, name)) == {"ZOMRO_USERNAME", "ZOMRO_PASSWORD"}


def test_vscode_example_asks_for_the_login_and_masks_the_password() -> None:
    config = json.loads((ROOT / "examples/vscode/mcp.json").read_text(encoding="utf-8"))
    inputs = {item["id"]: item for item in config["inputs"]}
    asked = {
        variable: re.fullmatch(r"\$\{input:([^}]+)\}", value) for variable, value in _env("vscode", "mcp.json").items()
    }
    assert all(match is not None for match in asked.values()), "every value is asked for, none is written"
    username, password = (
        inputs[match.group(1)] for match in (asked["ZOMRO_USERNAME"], asked["ZOMRO_PASSWORD"]) if match
    )
    assert all(item["type"] == "promptString" for item in (username, password))
    assert password["password"] is True
    assert username.get("password", False) is False  # the login is shown as it is typed


def test_cursor_example_takes_the_login_from_the_environment() -> None:
    assert _env("cursor", "mcp.json") == {name: f"${{env:{name}}}" for name in ("ZOMRO_USERNAME", "ZOMRO_PASSWORD")}


def test_the_examples_readme_offers_the_token_with_its_one_hour_life() -> None:
    text = " ".join((ROOT / "examples" / "README.md").read_text(encoding="utf-8").split())
    assert "ZOMRO_AUTH_TOKEN" in text
    assert "A session expires one hour after its last use" in text.replace("**", "")


def test_the_examples_readme_says_how_to_keep_the_claude_desktop_file_private() -> None:
    text = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    assert "chmod 600" in text
    assert "claude_desktop_config.json" in text


@pytest.mark.e2e
@pytest.mark.heavy
def test_the_python_example_previews_before_each_change_and_completes(tmp_path: Path) -> None:
    script = ROOT / "examples" / "python" / "recovery_workflow.py"
    audit = tmp_path / "audit.jsonl"
    done = subprocess.run(
        [sys.executable, str(script), "web-1", "--command", f"{CONSOLE_SCRIPT} serve --simulator", "--yes"],
        input="5203773\n5203773\n5203773\n",  # the instance id, typed for each of the server's approval questions
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # The shortest poll interval: the simulator's 2 s transitions are seen settling in about 2 s, not 3.
        env={
            "PATH": "/usr/bin:/bin",
            "ZOMRO_LOG_LEVEL": "WARNING",
            "ZOMRO_AUDIT_LOG": str(audit),
            "ZOMRO_POLL_INTERVAL": "1",
        },
    )
    assert done.returncode == 0, done.stderr
    assert "root password (shown once):" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "instance": 5203773,
        "final_state": "active",
        "reachable": {"2222": True},  # repaired, it boots and answers (the simulator's SSH port)
    }
    steps = [
        (r["tool"], r["confirmed"]) for r in map(json.loads, audit.read_text().splitlines()) if r["phase"] != "outcome"
    ]
    assert steps == [
        ("enter_rescue", False),
        ("enter_rescue", True),
        ("diagnose_instance", False),
        ("repair_instance", False),
        ("repair_instance", True),
        ("exit_rescue", False),
        ("exit_rescue", True),
    ]
    approvals = [r["approved_by"] for r in map(json.loads, audit.read_text().splitlines()) if r["phase"] == "outcome"]
    assert approvals == ["person (elicitation)"] * 3


ADD_SH = ROOT / "examples" / "claude-code" / "add.sh"


def _add_sh(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str] | None]:
    """Run add.sh with a stand-in `claude` on PATH that records its arguments; returns them (None: not run)."""
    record = tmp_path / "claude-argv.json"
    fake = tmp_path / "bin" / "claude"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\nopen({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    done = subprocess.run(
        ["/bin/sh", str(ADD_SH)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": f"{fake.parent}{os.pathsep}/usr/bin:/bin", **env},
    )
    return done, (json.loads(record.read_text(encoding="utf-8")) if record.exists() else None)


def test_claude_code_example_registers_the_login_from_the_environment(tmp_path: Path) -> None:
    done, argv = _add_sh(tmp_path, ZOMRO_USERNAME="someone@example.com", ZOMRO_PASSWORD="pass word $1")
    assert done.returncode == 0, done.stderr
    assert argv == [
        *("mcp", "add", "--scope", "user", "zomro-rescue"),
        *("-e", "ZOMRO_USERNAME=someone@example.com", "-e", "ZOMRO_PASSWORD=pass word $1"),
        *("--", "zomro-rescue-mcp", "serve"),
    ]


def test_claude_code_example_passes_a_two_factor_secret_on_when_set(tmp_path: Path) -> None:
    done, argv = _add_sh(tmp_path, ZOMRO_USERNAME="u", ZOMRO_PASSWORD="p", ZOMRO_TOTP_SECRET="JBSWY3DPEHPK3PXP")
    assert done.returncode == 0, done.stderr
    assert argv is not None
    assert argv[argv.index("--") - 2 : argv.index("--")] == ["-e", "ZOMRO_TOTP_SECRET=JBSWY3DPEHPK3PXP"]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "ZOMRO_USERNAME and ZOMRO_PASSWORD are"),
        ({"ZOMRO_USERNAME": "someone@example.com"}, "ZOMRO_PASSWORD is"),
        ({"ZOMRO_USERNAME": "someone@example.com", "ZOMRO_PASSWORD": ""}, "ZOMRO_PASSWORD is"),
        ({"ZOMRO_USERNAME": "", "ZOMRO_PASSWORD": "p"}, "ZOMRO_USERNAME is"),
    ],
    ids=["both-unset", "password-unset", "password-empty", "username-empty"],
)
def test_claude_code_example_refuses_a_missing_login_in_one_sentence(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    done, argv = _add_sh(tmp_path, **env)
    assert done.returncode == 2
    assert argv is None, "nothing is registered"
    [line] = done.stderr.splitlines()
    assert line.startswith(f"add.sh: {named} unset or empty, so nothing was registered")
    assert line.endswith(".")
    assert ". " not in line  # one sentence
