"""Settings read once from the environment (and mirrored flags), validated at start.

Secrets are kept out of the settings' repr, and every problem is one sentence that never echoes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from ..core import redact
from ..core.errors import ConfigError

__all__ = [
    "DEFAULT_API_URL",
    "ApiSettings",
    "ApprovalMode",
    "GuardRails",
    "HttpSettings",
    "Settings",
    "Timing",
    "check_token",
    "check_url",
    "parse_approval",
    "parse_instance_id",
    "totp_secret_of",
]

DEFAULT_API_URL = "https://api.zomro.com/"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_INSTANCE_ID = re.compile(r"[0-9]{1,12}")
_SECONDS = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # plain decimal: no nan, inf or exponent


# The settings of one account as the accounts file spells them (see `ApiSettings.name_of`).
_FILE_KEYS = {
    "ZOMRO_API_URL": "api_url",
    "ZOMRO_USERNAME": "username",
    "ZOMRO_PASSWORD": "password_env",
    "ZOMRO_AUTH_TOKEN": "token_env",
    "ZOMRO_TOTP_SECRET": "totp_secret_env",
}


@dataclass(frozen=True)
class ApiSettings:
    """Talking to the Zomro API: where, as whom, how long a request may take, in which language."""

    account: str = "default"  # the account's name: "default" from the environment, else its name in the file
    api_url: str = DEFAULT_API_URL
    auth_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    totp_secret: str | None = field(default=None, repr=False)  # base32 secret of a two-factor account
    timeout: float = 30.0
    lang: str = "en"
    simulator: bool = False
    secrets_from: tuple[str, ...] = ()  # the environment variables the secrets were read from (names only)
    problem: str | None = None  # why its credentials cannot be used (only `doctor` and `accounts` load such one)
    source: str | None = None  # the accounts file the account comes from; None: the environment
    # An account of the accounts file: the variable its *_env key names for each ZOMRO_* secret, such as
    # ZOMRO_PASSWORD -> ZOMRO_PROD_PASSWORD; names only, and only of variables that are set.
    variables: tuple[tuple[str, str], ...] = ()

    def name_of(self, variable: str) -> str:
        """How a person sets `variable` for this account, for sentences: the variable itself, or, for an account of
        the accounts file, the key of its table, with the variable that key names (a variable's name is no secret)."""
        key = _FILE_KEYS.get(variable) if self.source is not None else None
        if key is None:
            return variable
        where = f"{key} of account {self.account}"
        if not key.endswith("_env"):
            return where
        named = dict(self.variables).get(variable)
        return f"{named} ({where})" if named is not None else f"the variable that {where} names"

    @property
    def auth_kind(self) -> str:
        """How requests are authenticated, for display: "token", "login", "token+login" or "simulator"."""
        if self.simulator:
            return "simulator"
        kinds = [k for k, v in (("token", self.auth_token), ("login", self.username)) if v]
        return "+".join(kinds)


ApprovalMode = Literal["auto", "always", "never"]
"""ZOMRO_REQUIRE_APPROVAL: auto = ask the person wherever the client can (form elicitation), else serve on the
preview_id and confirm; always (1) = ask, and refuse a client that cannot; never (0) = never ask."""


@dataclass(frozen=True)
class GuardRails:
    """What the operator allows: read-only, the allowlist, the audit trail, approval and the preview rule."""

    read_only: bool = False
    allowed_instances: frozenset[int] | None = None  # None: every instance of the account
    audit_log: str | None = None
    require_approval: ApprovalMode = "auto"
    require_preview: bool = True  # a confirmed change only after the same server previewed the same action
    preview_ttl: float = 600.0  # seconds a preview stays valid for its confirmed call


@dataclass(frozen=True)
class Timing:
    """How long a confirmed change is watched, and how often its state is read."""

    wait_seconds: float = 120.0
    poll_interval: float = 3.0


@dataclass(frozen=True)
class HttpSettings:
    """The Streamable HTTP transport: its bearer token and the Host names it accepts."""

    mcp_token: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = ()


_GROUPS = {"api": ApiSettings, "guard_rails": GuardRails, "timing": Timing, "http": HttpSettings}
_GROUP_OF = {f.name: group for group, kind in _GROUPS.items() for f in fields(kind)}


@dataclass(frozen=True, init=False)
class Settings:
    """Everything read at start, grouped by concern; built by `Settings.from_env`.

    Code and tests may also build it from the settings' own names (`Settings(api_url=…, read_only=True)`), and
    change some with `settings.but(audit_log=…)`: each name goes to its group.
    """

    api: ApiSettings
    guard_rails: GuardRails
    timing: Timing
    http: HttpSettings

    def __init__(
        self,
        *,
        api: ApiSettings | None = None,
        guard_rails: GuardRails | None = None,
        timing: Timing | None = None,
        http: HttpSettings | None = None,
        **settings: Any,
    ) -> None:
        groups: dict[str, Any] = {
            "api": api or ApiSettings(),
            "guard_rails": guard_rails or GuardRails(),
            "timing": timing or Timing(),
            "http": http or HttpSettings(),
        }
        for name, value in settings.items():
            if name not in _GROUP_OF:
                raise TypeError(f"Settings has no setting {name!r}")
            group = _GROUP_OF[name]
            groups[group] = replace(groups[group], **{name: value})
        for group, value in groups.items():
            object.__setattr__(self, group, value)

    def but(self, **settings: Any) -> Settings:
        """A copy with some settings changed, named as themselves (`settings.but(read_only=True)`)."""
        return Settings(api=self.api, guard_rails=self.guard_rails, timing=self.timing, http=self.http, **settings)

    @classmethod
    def shared_from_env(cls, env: Mapping[str, str], **overrides: str | None) -> Settings:
        """What every account shares, from `ZOMRO_*` variables (flags in `overrides` win when not None): timing,
        timeout and language, the audit trail, the preview rule and the HTTP transport, and the guard rails as set in
        the environment (for a configuration file, a floor every account keeps). No credentials are read here.
        """
        read = _Reader(env, overrides)
        timeout = _seconds("ZOMRO_TIMEOUT", read.get("ZOMRO_TIMEOUT"), default=30.0, low=1.0, high=300.0)
        wait_seconds = _seconds(
            "ZOMRO_WAIT_SECONDS", read.get("ZOMRO_WAIT_SECONDS"), default=120.0, high=3600.0, zero_is_off=True
        )
        poll_interval = _seconds(
            "ZOMRO_POLL_INTERVAL", read.get("ZOMRO_POLL_INTERVAL"), default=3.0, low=1.0, high=60.0
        )
        mcp_token = read.get("ZOMRO_MCP_TOKEN")
        if mcp_token is not None and len(mcp_token) < 16:  # refused unechoed; too short to mask without harm
            raise ConfigError(
                "ZOMRO_MCP_TOKEN must be at least 16 characters long; generate one with "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`."  # stdout ok: a hint
            )
        redact.register_configured(mcp_token)
        flag = "set it to 1 or 0, or unset it for the default"
        lang = read.get("ZOMRO_LANG") or "en"
        if not re.fullmatch(r"[a-z]{2}", lang):
            raise ConfigError(f"ZOMRO_LANG must be a two-letter language code such as en or ru, not {lang!r}.")
        return Settings(
            timeout=timeout,
            lang=lang,
            wait_seconds=wait_seconds,
            poll_interval=poll_interval,
            read_only=_flag("ZOMRO_READ_ONLY", read.guard("ZOMRO_READ_ONLY", empty=f"{flag} (off)")),
            allowed_instances=_instance_ids(env.get("ZOMRO_ALLOWED_INSTANCES")),
            audit_log=read.guard(
                "ZOMRO_AUDIT_LOG", empty="set it to the path of the audit file, or unset it to keep none"
            ),
            require_approval=parse_approval(
                "ZOMRO_REQUIRE_APPROVAL",
                read.guard(
                    "ZOMRO_REQUIRE_APPROVAL", empty="set it to auto, 1 or 0, or unset it for the default (auto)"
                ),
            ),
            require_preview=_flag(
                "ZOMRO_REQUIRE_PREVIEW", read.guard("ZOMRO_REQUIRE_PREVIEW", empty=f"{flag} (on)"), default=True
            ),
            preview_ttl=_seconds("ZOMRO_PREVIEW_TTL", read.get("ZOMRO_PREVIEW_TTL"), default=600.0, high=86400.0),
            mcp_token=mcp_token,
            allowed_hosts=tuple(h.strip() for h in (read.get("ZOMRO_ALLOWED_HOSTS") or "").split(",") if h.strip()),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, simulator: bool = False, **overrides: str | None) -> Settings:
        """One account, named "default", from `ZOMRO_*` variables; `overrides` (from flags) win when not None."""
        chosen = cls.shared_from_env(env, **overrides)
        read = _Reader(env, overrides)
        if simulator:
            return chosen.but(api_url="http://simulator.invalid/", simulator=True)
        api_url = read.get("ZOMRO_API_URL") or DEFAULT_API_URL
        token = read.get("ZOMRO_AUTH_TOKEN")
        username = read.get("ZOMRO_USERNAME")
        password = read.get("ZOMRO_PASSWORD")
        totp_secret = totp_secret_of(read.get("ZOMRO_TOTP_SECRET"))
        for secret in (token, password, totp_secret):
            redact.register_configured(secret)
        if (username is None) != (password is None):
            missing = "ZOMRO_PASSWORD" if password is None else "ZOMRO_USERNAME"
            raise ConfigError(f"ZOMRO_USERNAME and ZOMRO_PASSWORD go together: set {missing} as well.")
        if token is None and username is None:
            raise ConfigError(
                "No Zomro credentials are configured: set ZOMRO_AUTH_TOKEN to a session id, or ZOMRO_USERNAME "
                "and ZOMRO_PASSWORD, for one account; or name several accounts in a configuration file "
                "(ZOMRO_CONFIG, by default ~/.config/zomro-rescue-mcp/config.toml); or run "
                "`zomro-rescue-mcp serve --simulator` to try it without an account."
            )
        check_token(token, "ZOMRO_AUTH_TOKEN")
        check_url(api_url, "ZOMRO_API_URL")
        if totp_secret is not None and username is None:
            raise ConfigError(
                "ZOMRO_TOTP_SECRET is only used to log in with ZOMRO_USERNAME and ZOMRO_PASSWORD: set them as well."
            )
        sources = [n for n, v in (("ZOMRO_AUTH_TOKEN", token), ("ZOMRO_PASSWORD", password)) if v is not None]
        return chosen.but(
            api_url=api_url,
            auth_token=token,
            username=username,
            password=password,
            totp_secret=totp_secret,
            secrets_from=(*sources, *(["ZOMRO_TOTP_SECRET"] if totp_secret else [])),
        )


class _Reader:
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


def _flag(name: str, raw: str | None, *, default: bool = False) -> bool:
    if raw is None:
        return default
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {raw!r}.")


def parse_approval(name: str, raw: str | None) -> ApprovalMode:
    """auto (the default), or 1/0 and their spellings as for every flag (1: always ask; 0: never ask)."""
    if raw is None or raw.lower() == "auto":
        return "auto"
    try:
        return "always" if _flag(name, raw) else "never"
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


def _instance_ids(raw: str | None) -> frozenset[int] | None:
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


def _seconds(
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
