"""One [accounts.NAME] table as that account's settings: its keys, guard rails, endpoint and named secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core import redact
from ..core.errors import ConfigError
from .config import (
    DEFAULT_API_URL,
    ApprovalMode,
    Settings,
    check_token,
    check_url,
    parse_instance_id,
    totp_secret_of,
)
from .toolsets import parse_toolsets

__all__ = [
    "ACCOUNT_KEYS",
    "ACCOUNT_VARIABLES",
    "NAME",
    "PLAIN_SECRETS",
    "account_settings",
    "always_asks",
    "plain_secret",
]

ACCOUNT_KEYS = (
    "api_url",
    "username",
    "password_env",
    "token_env",
    "totp_secret_env",
    "read_only",
    "allowed_instances",
    "require_approval",
    "toolsets",
)
# The keys that name the variable holding a secret, and the variable they stand in for (as `ApiSettings.name_of`).
_SECRET_KEYS = {
    "token_env": "ZOMRO_AUTH_TOKEN",
    "password_env": "ZOMRO_PASSWORD",
    "totp_secret_env": "ZOMRO_TOTP_SECRET",
}
PLAIN_SECRETS = re.compile(r"(^|_)(password|passwd|pass|token|secret|auth|api_?key|totp|session)(_|$)", re.IGNORECASE)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
# Variables that describe the environment's one account. With a file they would be silently ignored, so they are
# refused; and a file may not name them for its secrets either: otherwise a file that goes missing would leave
# the same credentials behind as an account without the file's guard rails.
ACCOUNT_VARIABLES = (
    "ZOMRO_API_URL",
    "ZOMRO_AUTH_TOKEN",
    "ZOMRO_USERNAME",
    "ZOMRO_PASSWORD",
    "ZOMRO_TOTP_SECRET",
    "ZOMRO_ALLOWED_INSTANCES",
)


def plain_secret(source: str, key: str) -> ConfigError:
    return ConfigError(
        f"The accounts file {source} is refused: its key {key!r} would hold a secret in plain text. Keep secrets in "
        "environment variables and name them with password_env, token_env or totp_secret_env."
    )


def account_settings(
    name: Any,
    table: Any,
    source: str,
    shared: Settings,
    env: Mapping[str, str],
    *,
    simulator: bool,
    lenient: bool = False,
) -> Settings:
    """One [accounts.NAME] table as that account's settings (the shared ones, its endpoint, secrets, guard rails)."""
    if not isinstance(name, str) or NAME.fullmatch(name) is None:
        raise ConfigError(f"An account in {source} is named {name!r}: use 1 to 40 letters, digits, '.', '_' or '-'.")
    where = f"account {name} in {source}"
    if not isinstance(table, dict):
        raise ConfigError(f"accounts.{name} in {source} must be a table ([accounts.{name}]).")
    for key in table:
        if key in ACCOUNT_KEYS:
            continue
        if PLAIN_SECRETS.search(key):
            raise plain_secret(source, f"accounts.{name}.{key}")
        raise ConfigError(f"The {where} has an unknown key {key!r}; the keys read are: {', '.join(ACCOUNT_KEYS)}.")
    api_url = _text(table, "api_url", where) or DEFAULT_API_URL
    username = _text(table, "username", where)
    rails = {
        "read_only": _bool(table, "read_only", where) or shared.guard_rails.read_only,
        "require_approval": _approval(table, where, shared),
        "allowed_instances": _ids(table, where),
        "toolsets": parse_toolsets(f"toolsets of the {where}", table["toolsets"])
        if "toolsets" in table
        else shared.guard_rails.toolsets,
    }
    base = shared.but(account=name, source=source, **rails)
    if simulator:
        return base.but(api_url="http://simulator.invalid/", simulator=True)
    try:
        return _credentials(base, table, where, env, api_url, username)
    except ConfigError as exc:
        if not lenient:
            raise
        named = tuple(v for k in _SECRET_KEYS if (v := _variable_shown(table.get(k), env)) is not None)
        return base.but(api_url=api_url, username=username, problem=str(exc), secrets_from=named)


def _credentials(
    base: Settings, table: dict[str, Any], where: str, env: Mapping[str, str], api_url: str, username: str | None
) -> Settings:
    """The account's endpoint and its secrets, from the variables its *_env keys name."""
    check_url(api_url, f"api_url of {where}")
    password = _secret(table, "password_env", where, env)
    token = _secret(table, "token_env", where, env)
    totp = _secret(table, "totp_secret_env", where, env)
    token_is, totp_is = _label(table, "token_env", where, env), _label(table, "totp_secret_env", where, env)
    if (username is None) != (password is None):
        missing = "password_env" if password is None else "username"
        raise ConfigError(f"username and password_env go together in the {where}: set {missing} as well.")
    if username is None and token is None:
        raise ConfigError(
            f"The {where} has no credentials: set username and password_env, or token_env (each *_env names the "
            "environment variable that holds the secret)."
        )
    check_token(token, token_is[0].upper() + token_is[1:])
    totp = totp_secret_of(totp, totp_is[0].upper() + totp_is[1:]) if totp is not None else None
    if totp is not None and username is None:
        raise ConfigError(f"totp_secret_env in the {where} is only used to log in with username and password_env.")
    for secret in (password, token, totp):
        redact.register_configured(secret)
    return base.but(
        api_url=api_url,
        username=username,
        password=password,
        auth_token=token,
        totp_secret=totp,
        secrets_from=tuple(str(table[k]) for k in _SECRET_KEYS if table.get(k) is not None),
        variables=tuple((v, str(table[k])) for k, v in _SECRET_KEYS.items() if table.get(k) is not None),
    )


def _text(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} of the {where} must be a non-empty string.")
    return value.strip()


def _bool(table: dict[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{key} of the {where} must be true or false (without quotes).")
    return value


def always_asks(shared: Settings) -> bool:
    return shared.guard_rails.require_approval == "always"


def _approval(table: dict[str, Any], where: str, shared: Settings) -> ApprovalMode:
    """An account's require_approval: true (always ask), false (never), "auto"; absent: the environment's.
    ZOMRO_REQUIRE_APPROVAL=1 is a floor: every account then asks."""
    if "require_approval" not in table or always_asks(shared):
        if "require_approval" in table and table["require_approval"] != "auto":
            _bool(table, "require_approval", where)  # still refused when malformed
        return shared.guard_rails.require_approval
    value = table["require_approval"]
    if value == "auto":
        return "auto"
    if not isinstance(value, bool):
        raise ConfigError(f'require_approval of the {where} must be true, false or "auto".')
    return "always" if value else "never"


def _ids(table: dict[str, Any], where: str) -> frozenset[int] | None:
    """None when absent; an empty list is an error, never "every instance"."""
    if "allowed_instances" not in table:
        return None
    raw = table["allowed_instances"]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"allowed_instances of the {where} must be a list of instance ids such as [5203773, 5203774]; "
            "leave it out to allow every instance."
        )
    ids = set()
    for item in raw:
        value = item if isinstance(item, int) and not isinstance(item, bool) and item >= 1 else None
        if isinstance(item, str):
            value = parse_instance_id(item)
        if value is None:
            raise ConfigError(f"allowed_instances of the {where} holds {item!r}, which is not an instance id.")
        ids.add(value)
    return frozenset(ids)


def _secret(table: dict[str, Any], key: str, where: str, env: Mapping[str, str]) -> str | None:
    """The secret held by the environment variable a *_env key names; the name is checked, the value never shown."""
    variable = table.get(key)
    if variable is None:
        return None
    # The value is never repeated in a sentence: it may be the secret itself, typed in the wrong place (a
    # base32 two-factor secret even looks like a variable name).
    if not isinstance(variable, str) or _VARIABLE.fullmatch(variable) is None:
        raise ConfigError(
            f"{key} of the {where} must name an environment variable (capitals, digits and '_', such as "
            "ZOMRO_PROD_PASSWORD), not hold the secret itself; the file is refused."
        )
    if variable in ACCOUNT_VARIABLES:
        raise ConfigError(
            f"{key} of the {where} names one of the variables of the environment's single account: name a "
            "variable of this account's own, such as ZOMRO_PROD_PASSWORD."
        )
    value = (env.get(variable) or "").strip()
    redact.register_configured(value or None)  # masked from here on, whatever is refused next
    if not value:
        said = _label(table, key, where, env)
        raise ConfigError(
            f"{said[0].upper()}{said[1:]} is not set (or is empty): set it where the server starts, or check the name "
            "in the file."
        )
    return value


# A variable's name is no secret, so the sentences name it (ZOMRO_PROD_PASSWORD); but what a *_env key holds may be
# the secret itself, typed in the wrong place. It is repeated only when it is surely a name:
# - the environment holds a variable of that name (set, even empty): then it is a name, whatever it looks like;
# - or it has a name's shape: capitals, digits and '_' (a password or a session id almost never has it: lower case,
#   punctuation), and none of its '_'-separated words is 16 characters or longer, or holds 3 digits or more. A base32
#   two-factor secret is 16 or more of A-Z and 2-7 with no '_', which these rules keep out; so is a long random
#   token in capitals; and a password in capitals with digits (PASSW0RD123).
# Otherwise the sentence says "the variable that password_env of the account prod names", as before. What is left,
# a short all-capitals word (HUNTER), reads as a name to anyone: nothing can tell them apart.


def _variable_shown(variable: Any, env: Mapping[str, str]) -> str | None:
    """The name a *_env key holds when a sentence may repeat it (see above), else None."""
    if not isinstance(variable, str) or _VARIABLE.fullmatch(variable) is None:
        return None
    if variable in env:
        return variable
    words = variable.split("_")
    if any(len(w) >= 16 or sum(c.isdigit() for c in w) >= 3 for w in words):
        return None
    return variable


def _label(table: dict[str, Any], key: str, where: str, env: Mapping[str, str]) -> str:
    """The variable a *_env key names, for a sentence: by its name when it may be repeated, and the key."""
    variable = _variable_shown(table.get(key), env)
    if variable is None:
        return f"the variable that {key} of the {where} names"
    return f"{variable} ({key} of the {where})"
