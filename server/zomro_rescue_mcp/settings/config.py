"""Settings read once from the environment (and mirrored flags), validated at start.

Secrets are kept out of the settings' repr, and every problem is one sentence that never echoes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..core import redact
from ..core.errors import ConfigError
from .toolsets import DEFAULT_TOOLSETS, parse_toolsets
from .values import (
    DEFAULT_API_URL,
    ApprovalMode,
    Reader,
    check_token,
    check_url,
    flag,
    instance_ids,
    parse_approval,
    parse_instance_id,
    port,
    ports,
    seconds,
    totp_secret_of,
)

__all__ = [
    "DEFAULT_API_URL",
    "ApiSettings",
    "ApprovalMode",
    "GuardRails",
    "HttpSettings",
    "RescueSystem",
    "Settings",
    "Timing",
    "check_token",
    "check_url",
    "parse_approval",
    "parse_instance_id",
    "totp_secret_of",
]


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


@dataclass(frozen=True)
class GuardRails:
    """What the operator allows: read-only, the allowlist, the audit trail, approval and the preview rule."""

    read_only: bool = False
    allowed_instances: frozenset[int] | None = None  # None: every instance of the account
    audit_log: str | None = None
    require_approval: ApprovalMode = "auto"
    require_preview: bool = True  # a confirmed change only after the same server previewed the same action
    preview_ttl: float = 600.0  # seconds a preview stays valid for its confirmed call
    toolsets: frozenset[str] = DEFAULT_TOOLSETS  # the groups of tools offered (toolsets.py)


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


@dataclass(frozen=True)
class RescueSystem:
    """Reaching the rescue system over SSH: its port, and how long the server keeps a rescue login in memory; and the
    ports an instance back from rescue mode must answer on (check_instance, after exit_rescue)."""

    ssh_port: int = 22
    session_ttl: float = 4 * 3600.0  # a rescue password (and its host-key trust) is forgotten after this
    health_ports: tuple[int, ...] = (22,)


_GROUPS = {
    "api": ApiSettings,
    "guard_rails": GuardRails,
    "timing": Timing,
    "http": HttpSettings,
    "rescue": RescueSystem,
}
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
    rescue: RescueSystem

    def __init__(
        self,
        *,
        api: ApiSettings | None = None,
        guard_rails: GuardRails | None = None,
        timing: Timing | None = None,
        http: HttpSettings | None = None,
        rescue: RescueSystem | None = None,
        **settings: Any,
    ) -> None:
        groups: dict[str, Any] = {
            "api": api or ApiSettings(),
            "guard_rails": guard_rails or GuardRails(),
            "timing": timing or Timing(),
            "http": http or HttpSettings(),
            "rescue": rescue or RescueSystem(),
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
        return Settings(
            api=self.api,
            guard_rails=self.guard_rails,
            timing=self.timing,
            http=self.http,
            rescue=self.rescue,
            **settings,
        )

    @classmethod
    def shared_from_env(cls, env: Mapping[str, str], **overrides: str | None) -> Settings:
        """What every account shares, from `ZOMRO_*` variables (flags in `overrides` win when not None): timing,
        timeout and language, the audit trail, the preview rule and the HTTP transport, and the guard rails as set in
        the environment (for a configuration file, a floor every account keeps). No credentials are read here.
        """
        read = Reader(env, overrides)
        timeout = seconds("ZOMRO_TIMEOUT", read.get("ZOMRO_TIMEOUT"), default=30.0, low=1.0, high=300.0)
        wait_seconds = seconds(
            "ZOMRO_WAIT_SECONDS", read.get("ZOMRO_WAIT_SECONDS"), default=120.0, high=3600.0, zero_is_off=True
        )
        poll_interval = seconds("ZOMRO_POLL_INTERVAL", read.get("ZOMRO_POLL_INTERVAL"), default=3.0, low=1.0, high=60.0)
        mcp_token = read.get("ZOMRO_MCP_TOKEN")
        if mcp_token is not None and len(mcp_token) < 16:  # refused unechoed; too short to mask without harm
            raise ConfigError(
                "ZOMRO_MCP_TOKEN must be at least 16 characters long; generate one with "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`."  # stdout ok: a hint
            )
        redact.register_configured(mcp_token)
        hint = "set it to 1 or 0, or unset it for the default"
        lang = read.get("ZOMRO_LANG") or "en"
        if not re.fullmatch(r"[a-z]{2}", lang):
            raise ConfigError(f"ZOMRO_LANG must be a two-letter language code such as en or ru, not {lang!r}.")
        return Settings(
            timeout=timeout,
            lang=lang,
            wait_seconds=wait_seconds,
            poll_interval=poll_interval,
            read_only=flag("ZOMRO_READ_ONLY", read.guard("ZOMRO_READ_ONLY", empty=f"{hint} (off)")),
            allowed_instances=instance_ids(env.get("ZOMRO_ALLOWED_INSTANCES")),
            audit_log=read.guard(
                "ZOMRO_AUDIT_LOG", empty="set it to the path of the audit file, or unset it to keep none"
            ),
            require_approval=parse_approval(
                "ZOMRO_REQUIRE_APPROVAL",
                read.guard(
                    "ZOMRO_REQUIRE_APPROVAL", empty="set it to auto, 1 or 0, or unset it for the default (auto)"
                ),
            ),
            require_preview=flag(
                "ZOMRO_REQUIRE_PREVIEW", read.guard("ZOMRO_REQUIRE_PREVIEW", empty=f"{hint} (on)"), default=True
            ),
            preview_ttl=seconds("ZOMRO_PREVIEW_TTL", read.get("ZOMRO_PREVIEW_TTL"), default=600.0, high=86400.0),
            toolsets=parse_toolsets(
                "ZOMRO_TOOLSETS",
                read.guard(
                    "ZOMRO_TOOLSETS",
                    empty="name toolsets, or unset it for the default (rescue,recovery,power,snapshots)",
                ),
            ),
            ssh_port=port("ZOMRO_RESCUE_SSH_PORT", read.get("ZOMRO_RESCUE_SSH_PORT")),
            session_ttl=seconds(
                "ZOMRO_RESCUE_SESSION_TTL", read.get("ZOMRO_RESCUE_SESSION_TTL"), default=4 * 3600.0, high=7 * 86400.0
            ),
            health_ports=ports("ZOMRO_HEALTH_PORTS", read.get("ZOMRO_HEALTH_PORTS")),
            mcp_token=mcp_token,
            allowed_hosts=tuple(h.strip() for h in (read.get("ZOMRO_ALLOWED_HOSTS") or "").split(",") if h.strip()),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, simulator: bool = False, **overrides: str | None) -> Settings:
        """One account, named "default", from `ZOMRO_*` variables; `overrides` (from flags) win when not None."""
        chosen = cls.shared_from_env(env, **overrides)
        read = Reader(env, overrides)
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
