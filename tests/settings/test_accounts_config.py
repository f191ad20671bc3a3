"""The accounts file: found where documented, read into one account's settings each, refused with one sentence when
it could hide a secret, be changed by others, or silently switch a guard rail off. No MCP and no API here."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.settings.accounts import Accounts, config_path, load_accounts
from zomro_rescue_mcp.settings.config import DEFAULT_API_URL

TWO = """\
default_account = "prod"

[accounts.prod]
username = "ops@example.com"
password_env = "PROD_PASSWORD"
require_approval = true
allowed_instances = [5203773, "5203774"]

[accounts.staging]
api_url = "https://staging.example.com/"
token_env = "STAGING_TOKEN"
read_only = true
"""
SECRETS = {"PROD_PASSWORD": "Prod-Passw0rd", "STAGING_TOKEN": "staging-session-0001"}


def write(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def load(path: Path, **env: str) -> Accounts:
    return load_accounts({"ZOMRO_CONFIG": str(path), **SECRETS, **env})


def refusal(path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load(path, **env)
    return str(raised.value)


def test_each_table_is_an_account_with_its_own_credentials_and_guard_rails(tmp_path: Path) -> None:
    accounts = load(write(tmp_path, TWO))
    assert accounts.names == ("prod", "staging")
    prod, staging = accounts.settings
    assert (prod.api.api_url, prod.api.username, prod.api.password) == (
        DEFAULT_API_URL,
        "ops@example.com",
        "Prod-Passw0rd",
    )
    assert (prod.guard_rails.require_approval, prod.guard_rails.allowed_instances) == (
        "always",
        frozenset({5203773, 5203774}),
    )
    assert (staging.api.api_url, staging.api.auth_token) == ("https://staging.example.com/", "staging-session-0001")
    assert (staging.guard_rails.read_only, staging.guard_rails.allowed_instances) == (True, None)


def test_the_default_account_is_the_configured_one(tmp_path: Path) -> None:
    assert load(write(tmp_path, TWO)).default == "prod"


def test_several_accounts_without_a_default_have_none(tmp_path: Path) -> None:
    assert load(write(tmp_path, TWO.replace('default_account = "prod"\n', ""))).default is None


def test_the_accounts_remember_which_variables_hold_their_secrets_by_name_only(tmp_path: Path) -> None:
    prod, staging = load(write(tmp_path, TWO)).settings
    assert (prod.api.secrets_from, staging.api.secrets_from) == (("PROD_PASSWORD",), ("STAGING_TOKEN",))
    assert "Prod-Passw0rd" not in repr(prod)


def test_without_a_file_the_environment_is_one_account_named_default(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "ZOMRO_AUTH_TOKEN": "session-0001"}
    accounts = load_accounts(env)
    assert (accounts.names, accounts.default, accounts.source) == (("default",), "default", None)


def test_the_file_is_found_under_xdg_config_home(tmp_path: Path) -> None:
    folder = tmp_path / "zomro-rescue-mcp"
    folder.mkdir()
    write(folder, TWO)
    accounts = load_accounts({"XDG_CONFIG_HOME": str(tmp_path), **SECRETS})
    assert accounts.source == str(folder / "config.toml")


def test_without_xdg_config_home_the_file_is_under_home_dot_config(tmp_path: Path) -> None:
    assert config_path({"HOME": str(tmp_path)}) == (tmp_path / ".config" / "zomro-rescue-mcp" / "config.toml", False)


def test_with_neither_a_file_nor_credentials_the_sentence_names_both_ways(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_accounts({"XDG_CONFIG_HOME": str(tmp_path)})
    assert "ZOMRO_USERNAME and ZOMRO_PASSWORD, for one account" in str(raised.value)
    assert "several accounts in a configuration file (ZOMRO_CONFIG" in str(raised.value)


def test_a_missing_file_named_by_zomro_config_is_an_error(tmp_path: Path) -> None:
    assert "does not exist" in refusal(tmp_path / "nowhere.toml")


@pytest.mark.parametrize("key", ["password", "auth_token", "totp_secret", "api_key"])
def test_a_secret_in_plain_text_is_refused_without_echoing_it(tmp_path: Path, key: str) -> None:
    text = TWO.replace('token_env = "STAGING_TOKEN"', f'token_env = "STAGING_TOKEN"\n{key} = "Hunter2-Secret"')
    said = refusal(write(tmp_path, text))
    assert f"accounts.staging.{key}" in said
    assert "secret in plain text" in said
    assert "Hunter2-Secret" not in said


def test_a_secret_put_where_a_variable_name_belongs_is_refused_without_echoing_it(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace('"PROD_PASSWORD"', '"Prod-Passw0rd!"')))
    assert "must name an environment variable" in said
    assert "Prod-Passw0rd" not in said


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_file_others_can_write_to_is_refused(tmp_path: Path, mode: int) -> None:
    said = refusal(write(tmp_path, TWO, mode))
    assert "others can write to it" in said
    assert "chmod go-w" in said


def test_a_file_others_may_read_is_accepted_as_it_holds_no_secret(tmp_path: Path) -> None:
    assert load(write(tmp_path, TWO, 0o644)).names == ("prod", "staging")


def test_a_symbolic_link_is_followed_to_the_file_it_names(tmp_path: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(write(tmp_path, TWO))  # as dotfile managers keep it
    assert load(link).names == ("prod", "staging")


def test_a_symbolic_link_to_a_file_others_can_write_is_judged_by_that_file(tmp_path: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(write(tmp_path, TWO, 0o666))
    assert "others can write to it" in refusal(link)


def test_a_dangling_link_at_the_default_place_is_an_error_never_no_file(tmp_path: Path) -> None:
    folder = tmp_path / "zomro-rescue-mcp"
    folder.mkdir()
    (folder / "config.toml").symlink_to(tmp_path / "moved-away.toml")
    with pytest.raises(ConfigError) as raised:  # not the environment's account without the file's guard rails
        load_accounts({"XDG_CONFIG_HOME": str(tmp_path), "ZOMRO_AUTH_TOKEN": "session-0001"})
    assert "does not exist (a symbolic link to nothing)" in str(raised.value)


def test_a_folder_is_not_an_accounts_file(tmp_path: Path) -> None:
    assert "it is not a regular file" in refusal(tmp_path)


def test_a_file_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, TWO)
    if os.getuid() == 0:
        os.chown(path, 4242, -1)  # root gives the file away
    else:
        monkeypatch.setattr(os, "getuid", lambda: os.stat(path).st_uid + 4242)  # or becomes someone else
    assert "it belongs to another user" in refusal(path)


def test_a_file_in_a_folder_others_can_write_to_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    said = refusal(write(shared, TWO))
    assert f"the folder {shared} can be changed by others" in said
    assert f"Run `chmod go-w {shared}`" in said


def test_a_file_in_a_sticky_folder_such_as_tmp_is_accepted(tmp_path: Path) -> None:
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    assert load(write(sticky, TWO)).names == ("prod", "staging")


def test_a_mistyped_guard_rail_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace("read_only = true", "readonly = true")))
    assert "unknown key 'readonly'" in said
    assert "read_only" in said


def test_a_guard_rail_must_be_a_real_boolean(tmp_path: Path) -> None:
    assert "must be true or false" in refusal(write(tmp_path, TWO.replace("read_only = true", 'read_only = "no"')))


def test_an_empty_allowlist_is_an_error_never_every_instance(tmp_path: Path) -> None:
    text = TWO.replace('allowed_instances = [5203773, "5203774"]', "allowed_instances = []")
    assert "leave it out to allow every instance" in refusal(write(tmp_path, text))


def test_an_allowlist_entry_that_is_no_instance_id_is_refused(tmp_path: Path) -> None:
    text = TWO.replace('allowed_instances = [5203773, "5203774"]', 'allowed_instances = [5203773, "web-1"]')
    assert "'web-1', which is not an instance id" in refusal(write(tmp_path, text))


def test_a_variable_the_file_names_must_be_set(tmp_path: Path) -> None:
    path = write(tmp_path, TWO)
    with pytest.raises(ConfigError) as raised:
        load_accounts({"ZOMRO_CONFIG": str(path), "PROD_PASSWORD": "Prod-Passw0rd"})
    assert f"STAGING_TOKEN (token_env of the account staging in {path}) is not set (or is empty)" in str(raised.value)


def test_a_secret_that_looks_like_a_variable_name_is_never_repeated(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace('"PROD_PASSWORD"', '"JBSWY3DPEHPK3PXPJBSWY3DP"')))
    assert "password_env of the account prod" in said
    assert "JBSWY3DPEHPK3PXPJBSWY3DP" not in said


def test_a_variable_name_that_is_not_text_is_a_sentence_not_a_crash(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace('token_env = "STAGING_TOKEN"', 'token_env = ["STAGING_TOKEN"]')))
    assert "token_env of the account staging" in said


def test_two_accounts_with_one_login_on_one_endpoint_are_refused(tmp_path: Path) -> None:
    text = TWO + '\n[accounts.prod-readonly]\nusername = "OPS@example.com"\npassword_env = "PROD_PASSWORD"\n'
    said = refusal(write(tmp_path, text.replace("\nread_only = true", "")))
    assert "The accounts prod and prod-readonly" in said
    assert "log in as the same user to the same endpoint" in said


def test_an_account_without_credentials_is_refused(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO + "\n[accounts.empty]\nread_only = true\n"))
    assert "account empty" in said
    assert "has no credentials" in said


def test_a_default_account_that_is_not_configured_is_refused(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace('default_account = "prod"', 'default_account = "production"')))
    assert "must be the name of one of its accounts: prod, staging" in said


def test_a_file_without_accounts_is_refused(tmp_path: Path) -> None:
    assert "names no account" in refusal(write(tmp_path, 'default_account = "prod"\n'))


def test_a_file_that_is_not_toml_is_refused_with_the_line(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, "[accounts.prod\nusername = 1\n"))
    assert "is not valid TOML" in said
    assert "line 1" in said


def test_an_account_name_with_odd_characters_is_refused(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace("[accounts.staging]", '[accounts."staging box"]')))
    assert "is named 'staging box'" in said


@pytest.mark.parametrize("variable", ["ZOMRO_USERNAME", "ZOMRO_AUTH_TOKEN", "ZOMRO_API_URL", "ZOMRO_ALLOWED_INSTANCES"])
def test_an_account_variable_the_file_would_silently_override_is_refused(tmp_path: Path, variable: str) -> None:
    said = refusal(write(tmp_path, TWO), **{variable: "5203773"})
    assert f"{variable} is set, but the accounts come from" in said


def test_a_file_may_not_take_the_environments_single_account_variables_for_its_secrets(tmp_path: Path) -> None:
    # Else a file that goes missing would leave those credentials behind as an account without its guard rails.
    said = refusal(write(tmp_path, TWO.replace('"PROD_PASSWORD"', '"ZOMRO_PASSWORD"')))
    assert "names one of the variables of the environment's single account" in said


def test_a_zero_in_the_environment_never_lowers_an_accounts_guard_rail(tmp_path: Path) -> None:
    accounts = load(write(tmp_path, TWO), ZOMRO_READ_ONLY="0", ZOMRO_REQUIRE_APPROVAL="0")
    assert [(s.guard_rails.read_only, s.guard_rails.require_approval) for s in accounts.settings] == [
        (False, "always"),
        (True, "never"),
    ]


def test_the_read_only_flag_makes_every_account_of_the_file_read_only(tmp_path: Path) -> None:
    path = write(tmp_path, TWO)
    accounts = load_accounts({"ZOMRO_CONFIG": str(path), **SECRETS}, read_only="1")
    assert [s.guard_rails.read_only for s in accounts.settings] == [True, True]


def test_read_only_in_the_environment_makes_every_account_read_only(tmp_path: Path) -> None:
    accounts = load(write(tmp_path, TWO), ZOMRO_READ_ONLY="1")
    assert [s.guard_rails.read_only for s in accounts.settings] == [True, True]
    assert not accounts.can_change


def test_approval_in_the_environment_applies_to_every_account(tmp_path: Path) -> None:
    accounts = load(write(tmp_path, TWO), ZOMRO_REQUIRE_APPROVAL="1")
    assert [s.guard_rails.require_approval for s in accounts.settings] == ["always", "always"]


def test_the_shared_settings_come_from_the_environment(tmp_path: Path) -> None:
    accounts = load(write(tmp_path, TWO), ZOMRO_WAIT_SECONDS="7", ZOMRO_AUDIT_LOG=str(tmp_path / "a.jsonl"))
    assert {(s.timing.wait_seconds, s.guard_rails.audit_log) for s in accounts.settings} == {
        (7.0, str(tmp_path / "a.jsonl"))
    }


def test_an_api_url_must_be_https_per_account(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace("https://staging.example.com/", "http://staging.example.com/")))
    assert "api_url of account staging" in said
    assert "plain http" in said


def test_the_simulator_needs_no_secrets_from_the_file(tmp_path: Path) -> None:
    accounts = load_accounts({"ZOMRO_CONFIG": str(write(tmp_path, TWO))}, simulator=True)
    assert [s.api.simulator for s in accounts.settings] == [True, True]


def test_the_file_is_not_changed_by_being_read(tmp_path: Path) -> None:
    path = write(tmp_path, TWO, 0o640)  # a mode a careless reader might "fix" to 0600
    before = os.stat(path)
    load(path)
    after = os.stat(path)
    assert (after.st_mode & 0o777, after.st_mtime_ns, after.st_size) == (0o640, before.st_mtime_ns, before.st_size)


ROOT = Path(__file__).resolve().parents[2]


def documented(document: str) -> str:
    """The README's accounts file (its TOML block), or the example file."""
    text = (ROOT / document).read_text(encoding="utf-8")
    return text.split("```toml\n", 1)[1].split("```", 1)[0] if document == "README.md" else text


@pytest.mark.parametrize("document", ["README.md", "examples/accounts/config.toml"])
def test_the_documented_accounts_files_are_accepted(tmp_path: Path, document: str) -> None:
    text = documented(document)
    path = write(tmp_path, text)
    named = set(re.findall(r'_env\s*=\s*"([^"]+)"', text))
    secrets = {name: "JBSWY3DPEHPK3PXP" if "TOTP" in name else "Secret-Passw0rd-1" for name in named}
    accounts = load_accounts({"ZOMRO_CONFIG": str(path), **secrets})
    assert len(accounts.settings) >= 2
    assert accounts.default is not None
    assert all(name.startswith("ZOMRO_") for name in named)  # so the Python example passes them to the server


def test_the_health_probe_counts_a_guard_rail_only_when_every_account_has_it(tmp_path: Path) -> None:
    from zomro_rescue_mcp.mcp_server.http_app import health

    probe = health(load(write(tmp_path, TWO)))  # prod: approval and an allowlist; staging: read-only
    assert (probe["accounts"], probe["read_only"], probe["allowlist"], probe["approval"]) == (2, False, False, False)
    assert not {"prod", "staging"} & set(json.dumps(probe).replace('"', " ").split())  # no account's name


def test_zomro_config_none_serves_the_environments_account_beside_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "zomro-rescue-mcp"
    folder.mkdir()
    write(folder, TWO)
    env = {"XDG_CONFIG_HOME": str(tmp_path), "ZOMRO_AUTH_TOKEN": "session-0001"}
    with pytest.raises(ConfigError) as raised:
        load_accounts(env)  # the file is there: the token would be ignored, so it is refused
    assert "ZOMRO_CONFIG=none serves the environment's one account instead" in str(raised.value)
    accounts = load_accounts({**env, "ZOMRO_CONFIG": "none"})
    assert (accounts.names, accounts.source, accounts.settings[0].api.auth_token) == (
        ("default",),
        None,
        "session-0001",
    )


def test_a_relative_zomro_config_is_shown_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, TWO)
    monkeypatch.chdir(tmp_path)
    assert load_accounts({"ZOMRO_CONFIG": "config.toml", **SECRETS}).source == str(tmp_path / "config.toml")


def test_a_link_in_a_folder_others_can_write_to_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    link = shared / "config.toml"
    link.symlink_to(write(tmp_path, TWO))  # whoever can write the folder can repoint the link
    assert f"the folder {shared} can be changed by others" in refusal(link)


def test_a_good_folder_inside_one_others_can_write_to_is_refused(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    outer.chmod(0o777)  # others could rename inner away and put their own in its place
    assert f"the folder {outer} can be changed by others" in refusal(write(inner, TWO))


def test_a_default_place_that_cannot_be_looked_into_is_an_error_never_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = tmp_path / "zomro-rescue-mcp" / "config.toml"
    real_lstat = os.lstat

    def lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if Path(str(path)) == expected:
            raise PermissionError(13, "Permission denied")
        return real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "lstat", lstat)
    with pytest.raises(ConfigError) as raised:
        load_accounts({"XDG_CONFIG_HOME": str(tmp_path), "ZOMRO_AUTH_TOKEN": "session-0001"})
    assert "cannot be checked (Permission denied)" in str(raised.value)


def test_a_malformed_api_url_is_a_sentence_not_a_crash(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace("https://staging.example.com/", "https://[fe80::1/")))
    assert "api_url of account staging" in said
    assert "is not a valid URL" in said


@pytest.mark.parametrize(
    "endpoint", ["https://API.zomro.com/", "https://api.zomro.com:443", "https://api.zomro.com./"], ids=str
)
def test_one_endpoint_spelled_another_way_is_still_one_endpoint(tmp_path: Path, endpoint: str) -> None:
    text = (
        TWO
        + f'\n[accounts.again]\napi_url = "{endpoint}"\nusername = "ops@example.com"\npassword_env = "PROD_PASSWORD"\n'
    )
    assert "The accounts prod and again" in refusal(write(tmp_path, text))


def test_one_session_token_in_two_accounts_is_one_account(tmp_path: Path) -> None:
    text = TWO + '\n[accounts.again]\napi_url = "https://staging.example.com"\ntoken_env = "OTHER_TOKEN"\n'
    said = refusal(write(tmp_path, text), OTHER_TOKEN=SECRETS["STAGING_TOKEN"])
    assert "The accounts staging and again" in said
    assert SECRETS["STAGING_TOKEN"] not in said


def test_only_none_in_lower_case_means_no_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_accounts({"ZOMRO_CONFIG": "None", "ZOMRO_AUTH_TOKEN": "session-0001"})  # as str(None) spells it
    assert "does not exist" in str(raised.value)


def test_a_toml_error_never_shows_a_character_of_a_value(tmp_path: Path) -> None:
    said = refusal(write(tmp_path, TWO.replace('"ops@example.com"', '"ops\x01@example.com"')))
    assert "is not valid TOML" in said
    assert "\x01" not in said


@pytest.mark.usefixtures("restore_logging")
def test_none_beside_a_default_file_is_told_by_doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zomro_rescue_mcp.cli.app import main

    folder = tmp_path / "zomro-rescue-mcp"
    folder.mkdir()
    write(folder, TWO)
    env = {"XDG_CONFIG_HOME": str(tmp_path), "ZOMRO_CONFIG": "none", "ZOMRO_LOG_LEVEL": "WARNING"}
    main(["doctor", "--simulator"], env=env)
    assert f"ZOMRO_CONFIG=none, so {folder / 'config.toml'} is not read" in capsys.readouterr().out
