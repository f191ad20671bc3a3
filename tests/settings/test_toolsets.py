"""ZOMRO_TOOLSETS and an account's `toolsets` key: which groups of tools a server offers. No MCP and no API here."""

from __future__ import annotations

from pathlib import Path

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.settings.accounts import load_accounts
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.settings.toolsets import DEFAULT_TOOLSETS, TOOLSETS, parse_toolsets, tools_of

LOGIN = {"ZOMRO_USERNAME": "someone@example.com", "ZOMRO_PASSWORD": "a-password"}
SETS = ", ".join([*TOOLSETS, "all"])  # every set, as the sentences list them


def toolsets(**env: str) -> frozenset[str]:
    return Settings.from_env({**LOGIN, **env}).guard_rails.toolsets


def test_the_default_is_rescue_recovery_power_and_snapshots() -> None:
    assert toolsets() == DEFAULT_TOOLSETS == {"rescue", "recovery", "power", "snapshots"}


def test_a_comma_list_is_read_with_spaces_and_case_forgiven() -> None:
    assert toolsets(ZOMRO_TOOLSETS=" Rescue , power") == {"rescue", "power"}


def test_all_stands_for_every_set() -> None:
    assert toolsets(ZOMRO_TOOLSETS="all") == set(TOOLSETS)


def test_an_unknown_set_is_one_sentence_listing_the_sets() -> None:
    with pytest.raises(ConfigError) as raised:
        toolsets(ZOMRO_TOOLSETS="rescue,backups")
    assert str(raised.value) == (
        f"ZOMRO_TOOLSETS names the toolset 'backups', which does not exist; the sets are: {SETS}."
    )


@pytest.mark.parametrize("raw", ["", "rescue,,power"])
def test_an_empty_name_is_refused_never_read_as_none(raw: str) -> None:
    with pytest.raises(ConfigError) as raised:
        toolsets(ZOMRO_TOOLSETS=raw)
    assert "ZOMRO_TOOLSETS" in str(raised.value)


def test_an_unknown_set_stops_the_server_with_the_exit_code_of_a_configuration_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve"], env={**LOGIN, "ZOMRO_TOOLSETS": "backups"}) == 2
    assert f"the sets are: {SETS}." in capsys.readouterr().err


def test_list_instances_is_in_every_selection() -> None:
    for name in TOOLSETS:
        assert "list_instances" in tools_of({name})
    assert tools_of(set()) == {"list_instances"}


def write(folder: Path, extra: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[accounts.prod]\nusername = "ops@example.com"\npassword_env = "PROD_PASSWORD"\n{extra}\n'
        '[accounts.staging]\nusername = "qa@example.com"\npassword_env = "PROD_PASSWORD"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_an_account_may_name_its_own_toolsets(tmp_path: Path) -> None:
    accounts = load_accounts({"ZOMRO_CONFIG": str(write(tmp_path, 'toolsets = ["power"]')), "PROD_PASSWORD": "x-1"})
    prod, staging = accounts.settings
    assert prod.guard_rails.toolsets == {"power"}
    assert staging.guard_rails.toolsets == DEFAULT_TOOLSETS  # without the key: the environment's (here the default)


def test_an_account_without_the_key_keeps_the_environments_toolsets(tmp_path: Path) -> None:
    env = {"ZOMRO_CONFIG": str(write(tmp_path, "")), "PROD_PASSWORD": "x-1", "ZOMRO_TOOLSETS": "rescue"}
    assert {s.guard_rails.toolsets for s in load_accounts(env).settings} == {frozenset({"rescue"})}


def test_an_accounts_unknown_set_names_the_account(tmp_path: Path) -> None:
    path = write(tmp_path, 'toolsets = ["rescue", "backups"]')
    with pytest.raises(ConfigError) as raised:
        load_accounts({"ZOMRO_CONFIG": str(path), "PROD_PASSWORD": "x-1"})
    assert "toolsets of the account prod in" in str(raised.value)
    assert f"'backups', which does not exist; the sets are: {SETS}." in str(raised.value)


def test_an_accounts_toolsets_must_be_a_list_of_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_accounts({"ZOMRO_CONFIG": str(write(tmp_path, "toolsets = [1]")), "PROD_PASSWORD": "x-1"})


def test_parse_keeps_a_list_or_a_comma_string_alike() -> None:
    assert parse_toolsets("x", ["rescue", "power"]) == parse_toolsets("x", "rescue,power")
