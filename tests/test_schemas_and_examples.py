"""The committed schemas/ match the live server, and every example config names the real command and settings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zomro_rescue_mcp.cli import EPILOG
from zomro_rescue_mcp.schemas import live_modes, live_tool_documents, render

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


def test_read_only_mode_serves_the_same_documents() -> None:
    full, read_only = live_tool_documents(), live_tool_documents(read_only=True)
    assert set(read_only) == {"list_instances", "list_rescue_images"}
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


def test_vscode_example_asks_for_the_token_as_a_password() -> None:
    config = json.loads((ROOT / "examples/vscode/mcp.json").read_text(encoding="utf-8"))
    assert config["inputs"]
    assert all(item["password"] is True for item in config["inputs"])


def test_the_python_example_previews_before_each_change_and_completes(tmp_path: Path) -> None:
    script = ROOT / "examples" / "python" / "recovery_workflow.py"
    audit = tmp_path / "audit.jsonl"
    done = subprocess.run(
        [sys.executable, str(script), "web-1", "--command", f"{CONSOLE_SCRIPT} serve --simulator", "--yes"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "ZOMRO_LOG_LEVEL": "WARNING", "ZOMRO_AUDIT_LOG": str(audit)},
    )
    assert done.returncode == 0, done.stderr
    assert "root password (shown once):" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"instance": 5203773, "final_state": "active"}
    steps = [
        (r["tool"], r["confirmed"]) for r in map(json.loads, audit.read_text().splitlines()) if r["phase"] != "outcome"
    ]
    assert steps == [("enter_rescue", False), ("enter_rescue", True), ("exit_rescue", False), ("exit_rescue", True)]


def test_claude_code_example_adds_the_real_command() -> None:
    script = (ROOT / "examples/claude-code/add.sh").read_text(encoding="utf-8")
    command = re.search(
        r"^claude mcp add --scope user zomro-rescue (.*?) -- zomro-rescue-mcp serve$",
        " ".join(script.replace("\\\n", " ").split(" ")),
        re.M,
    )
    assert command is not None
    settings = re.findall(r'-e (ZOMRO_[A-Z_]+)="\$(ZOMRO_[A-Z_]+)"', command.group(1))
    assert settings, "the settings come from the environment"
    assert all(name == source and name in SETTINGS for name, source in settings)  # no literal secret in the file
