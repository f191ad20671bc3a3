"""server.json, the entry for the official MCP registry: valid, in step with the package, and complete."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from zomro_rescue_mcp import __version__
from zomro_rescue_mcp.settings.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SERVER = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((ROOT / "tools" / "registry" / "server.schema.json").read_text(encoding="utf-8"))
[PACKAGE] = SERVER["packages"]
VARIABLES: dict[str, dict[str, Any]] = {v["name"]: v for v in PACKAGE["environmentVariables"]}
SECRETS = {"ZOMRO_PASSWORD", "ZOMRO_AUTH_TOKEN", "ZOMRO_TOTP_SECRET", "ZOMRO_MCP_TOKEN"}
CREDENTIALS = {"ZOMRO_USERNAME", "ZOMRO_PASSWORD", "ZOMRO_AUTH_TOKEN"}
LOGIN = {"ZOMRO_USERNAME": "someone@example.com", "ZOMRO_PASSWORD": "a-password"}
# Read only by the rescue VM, a test device (`zomro-rescue-mcp rescue-vm`, docs/development.md), never by the server.
TEST_DEVICE = {"ZOMRO_RESCUE_VM_CACHE", "ZOMRO_RESCUE_PASSWORD"}


def test_server_json_is_valid_against_the_registrys_published_schema() -> None:
    validator = Draft7Validator(SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(SERVER)]
    assert errors == []


def test_server_json_declares_the_vendored_schema() -> None:
    assert SERVER["$schema"] == "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
    assert SCHEMA["$id"] == SERVER["$schema"]


def test_the_entry_and_its_pypi_package_carry_the_package_version() -> None:
    assert SERVER["version"] == __version__
    assert PACKAGE["registryType"] == "pypi"
    assert (
        PACKAGE["identifier"] == tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    )
    assert PACKAGE["version"] == __version__


def test_the_package_is_served_over_stdio() -> None:
    assert PACKAGE["transport"] == {"type": "stdio"}


def test_every_setting_the_code_reads_is_declared_and_nothing_else() -> None:
    # A setting is read by its whole name as a string literal (env.get("ZOMRO_…"), get("ZOMRO_…")).
    sources = (ROOT / "server" / "zomro_rescue_mcp").rglob("*.py")
    read = {name for path in sources for name in re.findall(r"[\"'](ZOMRO_[A-Z_]+)[\"']", path.read_text("utf-8"))}
    assert read >= {"ZOMRO_USERNAME", "ZOMRO_LOG_LEVEL", "ZOMRO_MCP_TOKEN"}  # config.py, cli.py, the HTTP transport
    assert set(VARIABLES) == read - TEST_DEVICE


def test_exactly_the_secrets_are_marked_secret() -> None:
    assert {name for name, v in VARIABLES.items() if v.get("isSecret")} == SECRETS


def test_no_variable_is_required_alone_and_the_credentials_say_which_pair_is() -> None:
    # Either ZOMRO_USERNAME and ZOMRO_PASSWORD, or ZOMRO_AUTH_TOKEN: the schema cannot say "one of", so the
    # descriptions do.
    assert not any(v.get("isRequired") for v in VARIABLES.values())
    for name in CREDENTIALS:
        assert all(other in VARIABLES[name]["description"] for other in CREDENTIALS), name


@pytest.mark.parametrize(
    "name", sorted(n for n, v in VARIABLES.items() if "default" in v and n != "ZOMRO_LOG_LEVEL"), ids=str
)
def test_a_declared_default_is_what_the_server_uses_when_unset(name: str) -> None:
    assert Settings.from_env({**LOGIN, name: VARIABLES[name]["default"]}) == Settings.from_env(LOGIN)


def test_the_log_level_default_is_one_of_its_choices() -> None:
    level = VARIABLES["ZOMRO_LOG_LEVEL"]
    assert level["default"] == "INFO"
    assert level["choices"] == ["DEBUG", "INFO", "WARNING", "ERROR"]


def test_the_name_is_the_github_namespace_of_the_repository_the_package_names() -> None:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert SERVER["repository"] == {"url": urls["Repository"], "source": "github"}
    owner, repository = urls["Repository"].removeprefix("https://github.com/").split("/")
    assert SERVER["name"] == f"io.github.{owner}/{repository}"


def test_the_readme_carries_the_ownership_marker_the_registry_looks_for_on_pypi() -> None:
    # PyPI shows README.md as the package's description; the registry finds `mcp-name: <name>` there.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["readme"] == "README.md"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"<!-- mcp-name: {SERVER['name']} -->" in readme
    assert re.findall(r"mcp-name:\s*(\S+)", readme) == [SERVER["name"]]
