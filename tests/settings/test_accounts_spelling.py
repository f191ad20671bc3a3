"""One thing, one spelling: an endpoint spelled two ways is one endpoint, two account names that differ only in case
are one name to a person, ZOMRO_CONFIG names exactly the file it spells, and a file nested deeper than an accounts
file is refused like any other file that is not one."""

from __future__ import annotations

from pathlib import Path

import pytest

from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.settings.accounts import load_accounts

SECRETS = {"PROD_PASSWORD": "Prod-Passw0rd", "OTHER_TOKEN": "other-session-0001"}


def write(folder: Path, text: str, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def account(
    name: str, api_url: str, login: str = 'username = "ops@example.com"\npassword_env = "PROD_PASSWORD"'
) -> str:
    return f'[accounts.{name}]\napi_url = "{api_url}"\n{login}\n'


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as raised:
        load_accounts({**SECRETS, **env})
    return str(raised.value)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://api.zomro.com/", "https://api.zomro.com/billmgr"),
        ("https://api.zomro.com/billmgr/", "https://API.Zomro.com:443"),
        ("http://127.0.0.1:8089/", "http://localhost:8089"),
        ("http://localhost/", "http://[::1]:80/billmgr"),
        ("http://127.0.0.1:8089/billmgr", "http://LOCALHOST:8089//"),
        ("https://api.zomro.com/./billmgr", "https://api.zomro.com/"),
    ],
    ids=str,
)
def test_one_login_to_one_endpoint_however_spelled_is_one_account(tmp_path: Path, first: str, second: str) -> None:
    path = write(tmp_path, account("prod", first) + account("again", second))
    said = refusal({"ZOMRO_CONFIG": str(path)})
    assert "The accounts prod and again" in said
    assert "log in as the same user to the same endpoint" in said


def test_account_names_that_differ_only_in_case_are_refused_as_ambiguous(tmp_path: Path) -> None:
    text = account("prod", "https://api.zomro.com/") + account(
        "Prod", "https://x.example.com/", 'token_env = "OTHER_TOKEN"'
    )
    said = refusal({"ZOMRO_CONFIG": str(write(tmp_path, text))})
    assert "The accounts prod and Prod in" in said
    assert "differ only in case" in said


@pytest.mark.parametrize("spelled", [" none", "none "], ids=repr)
def test_only_none_exactly_as_written_means_no_file(spelled: str) -> None:
    said = refusal({"ZOMRO_CONFIG": spelled, "ZOMRO_AUTH_TOKEN": "session-0001"})
    assert "does not exist (ZOMRO_CONFIG is taken as written, and it begins or ends with a space)" in said


def test_a_line_break_in_zomro_config_is_refused_rather_than_trimmed() -> None:
    said = refusal({"ZOMRO_CONFIG": "none\n", "ZOMRO_AUTH_TOKEN": "session-0001"})  # as a wrapper's echo leaves it
    assert said == (
        "ZOMRO_CONFIG holds a line break or another control character, which the path of an accounts file does not "
        "need: set it to the path alone."
    )


def test_zomro_config_keeps_its_spaces(tmp_path: Path) -> None:
    path = write(tmp_path, account("prod", "https://api.zomro.com/"), name="config.toml ")  # no file without it
    assert load_accounts({"ZOMRO_CONFIG": str(path), **SECRETS}).source == str(path)


def test_zomro_config_does_not_expand_a_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, account("prod", "https://api.zomro.com/"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    said = refusal({"ZOMRO_CONFIG": "~/config.toml"})
    assert f"The accounts file {tmp_path / '~' / 'config.toml'} does not exist" in said
    assert "~ is not expanded, so give the whole path" in said


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    "nested", ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000], ids=["arrays", "tables"]
)
def test_deeply_nested_toml_is_refused_with_a_sentence_and_exit_2(
    tmp_path: Path, nested: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from zomro_rescue_mcp.cli.app import main

    path = write(tmp_path, account("prod", "https://api.zomro.com/") + f"allowed_instances = {nested}\n")
    assert main(["accounts"], env={"ZOMRO_CONFIG": str(path), "ZOMRO_LOG_LEVEL": "WARNING", **SECRETS}) == 2
    assert f"The accounts file {path} holds tables or lists nested more than 8 deep" in capsys.readouterr().err
