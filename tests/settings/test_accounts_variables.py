"""The accounts file's sentences name the variable a `*_env` key names (ZOMRO_PROD_PASSWORD): a variable's name is no
secret. What the key holds is repeated only when it is surely a name, since it may be the secret itself, typed in
the wrong place."""

from __future__ import annotations

from pathlib import Path

import pytest

from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.settings.accounts import load_accounts

TEXT = """\
[accounts.prod]
username = "ops@example.com"
password_env = "PROD_PASSWORD"
totp_secret_env = "PROD_TOTP"

[accounts.staging]
api_url = "https://staging.example.com/"
token_env = "STAGING_TOKEN"
"""
SECRETS = {"PROD_PASSWORD": "Prod-Passw0rd", "PROD_TOTP": "JBSWY3DPEHPK3PXP", "STAGING_TOKEN": "staging-session-0001"}


def write(folder: Path, text: str = TEXT) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def refusal(path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_accounts({"ZOMRO_CONFIG": str(path), **SECRETS, **env})
    return str(raised.value)


def test_a_session_id_that_is_no_session_id_names_its_variable(tmp_path: Path) -> None:
    path = write(tmp_path)
    said = refusal(path, STAGING_TOKEN="copied with spaces")
    assert said.startswith(f"STAGING_TOKEN (token_env of the account staging in {path}) does not look like a session")
    assert "copied with spaces" not in said


def test_a_six_digit_code_for_a_two_factor_secret_names_its_variable(tmp_path: Path) -> None:
    path = write(tmp_path)
    said = refusal(path, PROD_TOTP="123456")
    assert said.startswith(f"PROD_TOTP (totp_secret_env of the account prod in {path}) must be the base32 secret")
    assert "123456" not in said


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ZOMRO_PROD_PASSWORD", True),
        ("PASSWORD", True),
        ("ZOMRO_PROD2_PASSWORD", True),
        ("JBSWY3DPEHPK3PXP", False),  # a base32 two-factor secret: 16 characters or more in one word
        ("ZOMRO_JBSWY3DPEHPK3PXPJBSWY3DP", False),
        ("PASSW0RD123", False),  # a password in capitals: 3 digits or more in one word
        ("ZOMRO_4F9A2C71", False),  # a piece of a session id in capitals
    ],
)
def test_an_unset_variable_is_named_only_when_what_names_it_is_surely_a_name(
    tmp_path: Path, value: str, shown: bool
) -> None:
    path = write(tmp_path, TEXT.replace('"PROD_PASSWORD"', f'"{value}"'))
    said = refusal(path)
    if shown:
        assert said.startswith(f"{value} (password_env of the account prod in {path}) is not set (or is empty)")
    else:
        assert said.startswith(f"The variable that password_env of the account prod in {path} names is not set")
        assert value not in said


def test_a_variable_that_is_set_is_named_whatever_its_name_looks_like(tmp_path: Path) -> None:
    path = write(tmp_path, TEXT.replace('"STAGING_TOKEN"', '"STAGINGSESSIONTOKEN2024"'))
    said = refusal(path, STAGINGSESSIONTOKEN2024="not a session id")  # the environment has it: it is a name
    assert said.startswith("STAGINGSESSIONTOKEN2024 (token_env of the account staging in")


def test_accounts_that_cannot_be_used_still_list_their_variables_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, TEXT.replace('"PROD_PASSWORD"', '"JBSWY3DPEHPK3PXP"'))
    env = {"ZOMRO_CONFIG": str(path), "PROD_TOTP": SECRETS["PROD_TOTP"]}  # neither password nor token is set
    prod, staging = load_accounts(env, lenient=True).settings
    assert (prod.api.secrets_from, staging.api.secrets_from) == (("PROD_TOTP",), ("STAGING_TOKEN",))
    assert None not in (prod.api.problem, staging.api.problem)
