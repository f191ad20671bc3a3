"""One setting's value from its text, checked: flags, seconds, ports, instance ids, approval modes, URLs, tokens and
two-factor secrets; each problem is one sentence that never echoes a secret."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from ..core.errors import ConfigError

__all__ = [
    "DEFAULT_API_URL",
    "ApprovalMode",
    "Reader",
    "check_token",
    "check_url",
    "flag",
    "instance_ids",
    "parse_approval",
    "parse_instance_id",
    "port",
    "seconds",
    "totp_secret_of",
]

ApprovalMode = Literal["auto", "always", "never"]
"""ZOMRO_REQUIRE_APPROVAL: auto = ask the person wherever the client can (form elicitation), else serve on the
preview_id and confirm; always (1) = ask, and refuse a client that cannot; never (0) = never ask."""

DEFAULT_API_URL = "https://api.zomro.com/"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_INSTANCE_ID = re.compile(r"[0-9]{1,12}")
_SECONDS = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # plain decimal: no nan, inf or exponent


class Reader:
    """Reads `ZOMRO_*` variables, a flag's override winning over the environment."""

    def __init__(self, env: Mapping[str, str], overrides: Mapping[str, str | None]) -> None:
        self._env, self._overrides = env, overrides

    def given(self, name: str) -> str | None:
        """The stripped value, "" when set but empty, None when unset."""
        value = self._overrides.get(name.removeprefix("ZOMRO_").lower())
        if value is None:
            value = self._env.get(name)
        return value.strip() if value is not None else None

    def get(self, name: str) -> str | None:
        return self.given(name) or None

    def guard(self, name: str, *, empty: str) -> str | None:
        """A guard rail's value: set but empty is an error, never "off"."""
        value = self.given(name)
        if value == "":
            raise ConfigError(f"{name} is set but empty, which is never read as off: {empty}.")
        return value


def check_token(token: str | None, where: str) -> None:
    """A session id as the panel shows it; refused without echoing it."""
    if token is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{8,128}", token):
        raise ConfigError(
            f"{where} does not look like a session id (8–128 letters, digits, '-', '_' or '.'): "
            "check that it was copied whole."
        )


def flag(name: str, raw: str | None, *, default: bool = False) -> bool:
    if raw is None:
        return default
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {raw!r}.")


def port(name: str, raw: str | None, *, default: int = 22) -> int:
    """A TCP port, 1 to 65535, in ASCII digits."""
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,5}", raw) or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a TCP port from 1 to 65535, not {raw!r}.")
    return int(raw)


def ports(name: str, raw: str | None, *, default: tuple[int, ...] = (22,)) -> tuple[int, ...]:
    """TCP ports separated by commas (each 1 to 65535, in ASCII digits), in the order given, each once."""
    if raw is None:
        return default
    parts = [p.strip() for p in raw.split(",")]
    if not all(re.fullmatch(r"[0-9]{1,5}", p) and 1 <= int(p) <= 65535 for p in parts) or len(parts) > 16:
        raise ConfigError(
            f"{name} must be up to 16 TCP ports from 1 to 65535 separated by commas, such as 22,443, not {raw!r}."
        )
    return tuple(dict.fromkeys(int(p) for p in parts))


def parse_approval(name: str, raw: str | None) -> ApprovalMode:
    """auto (the default), or 1/0 and their spellings as for every flag (1: always ask; 0: never ask)."""
    if raw is None or raw.lower() == "auto":
        return "auto"
    try:
        return "always" if flag(name, raw) else "never"
    except ConfigError:
        raise ConfigError(f"{name} must be auto, 1 or 0 (true/false, yes/no, on/off), not {raw!r}.") from None


def totp_secret_of(raw: str | None, where: str = "ZOMRO_TOTP_SECRET") -> str | None:
    """The base32 secret shown when two-factor was set up (spaces and case as the panel shows them are fine)."""
    if raw is None:
        return None
    secret = "".join(raw.split()).upper().rstrip("=")
    if not re.fullmatch(r"[A-Z2-7]{16,128}", secret):
        raise ConfigError(
            f"{where} must be the base32 secret shown when two-factor authentication was set up "
            "(16 or more letters A-Z and digits 2-7), not a six-digit code."
        )
    return secret


def parse_instance_id(text: str) -> int | None:
    """The instance id `text` spells (1 to 12 ASCII digits, no sign or space, at least 1), or None.

    For settings, API data and tool arguments alike: `str.isdigit` also accepts "²" or Arabic-Indic digits,
    which must never turn into (or crash the reading of) an id.
    """
    if not isinstance(text, str) or _INSTANCE_ID.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value >= 1 else None


def instance_ids(raw: str | None) -> frozenset[int] | None:
    """None when unset; set but empty is an error, never "all instances"."""
    if raw is None:
        return None
    parts = [p for p in re.split(r"[,\s]+", raw) if p]
    ids = [parse_instance_id(p) for p in parts]
    bad = [p for p, i in zip(parts, ids, strict=True) if i is None]
    if bad or not parts:
        raise ConfigError(
            "ZOMRO_ALLOWED_INSTANCES must be instance ids (digits 0-9) separated by commas, such as 5203773,5203774"
            + (f"; {bad[0]!r} is not one." if bad else "; it is set but empty (unset it to allow every instance).")
        )
    return frozenset(i for i in ids if i is not None)


def seconds(
    name: str, raw: str | None, *, default: float, high: float, low: float = 0.0, zero_is_off: bool = False
) -> float:
    """A number of seconds within its bounds: [0, high] when 0 means off, [low, high] when low > 0, else (0, high]."""
    if raw is None:
        return default
    if _SECONDS.fullmatch(raw) is None:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}.")
    value = float(raw)
    if zero_is_off:
        ok, bounds = 0 <= value <= high, f"from 0 (do not wait) to {high:g}"
    elif low > 0:
        ok, bounds = low <= value <= high, f"from {low:g} to {high:g}"
    else:
        ok, bounds = 0 < value <= high, f"more than 0 and at most {high:g}"
    if not ok or not math.isfinite(value):
        raise ConfigError(f"{name} must be {bounds} seconds, not {raw}.")
    return value


def check_url(url: str, where: str) -> None:
    """An API URL: http(s), no credentials or query, and plain http only to a loopback address."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # both parse lazily, and raise on a malformed address or port
    except ValueError:
        raise ConfigError(f"{where} is not a valid URL; give it as {DEFAULT_API_URL} is given.") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{where} must be an http(s) URL such as {DEFAULT_API_URL}.")
    if parts.username or parts.password or parts.query:
        raise ConfigError(f"{where} must not carry credentials or a query string; use ZOMRO_AUTH_TOKEN.")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ConfigError(
            f"{where} uses plain http to {parts.hostname}: credentials would cross the network unencrypted. "
            "Use https (plain http is accepted only for a loopback address)."
        )
