"""The accounts a server serves: one from the environment (named "default"), or several from a configuration file.

The file is TOML, found at ZOMRO_CONFIG or `$XDG_CONFIG_HOME/zomro-rescue-mcp/config.toml`:

    default_account = "staging"          # optional

    [accounts.prod]
    api_url = "https://api.zomro.com/"   # optional
    username = "ops@example.com"
    password_env = "PROD_PASSWORD"       # the name of the variable that holds the password
    totp_secret_env = "PROD_TOTP"        # optional, two-factor accounts
    read_only = true                     # optional guard rails, per account
    allowed_instances = [5203773]
    require_approval = true              # true: always ask; false: never; "auto" (default): where the client can

    [accounts.staging]
    token_env = "STAGING_TOKEN"

The file holds no secret: it names the environment variables that do. A file that holds one in plain text, that
others can write to, or that has a key nobody reads (a typo of a guard rail must not switch it off silently) is
refused at start with one sentence. What every account shares (timing, audit trail, preview rule, HTTP transport)
stays in the environment; ZOMRO_READ_ONLY=1 and ZOMRO_REQUIRE_APPROVAL=1 there apply to every account as well.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from .account_table import (
    ACCOUNT_KEYS,
    ACCOUNT_VARIABLES,
    NAME,
    PLAIN_SECRETS,
    account_settings,
    always_asks,
    plain_secret,
)
from .config import Settings
from .endpoints import refuse_twins
from .file_trust import file_refusal, folder_refusal, resolve

__all__ = ["ACCOUNT_KEYS", "NO_FILE", "Accounts", "config_path", "load_accounts"]

_TOP_KEYS = ("default_account", "accounts")
_MAX_FILE = 1 << 20
_MAX_DEPTH = 8  # tables and lists within one another; an accounts file needs 4 (top, accounts, NAME, allowlist)


@dataclass(frozen=True)
class Accounts:
    """The configured accounts, in the file's order, each with its own settings; and which one is the default."""

    settings: tuple[Settings, ...]
    default_account: str | None = None  # as configured; see `default`
    source: str | None = None  # the configuration file, or None for the environment
    floors: frozenset[str] = frozenset()  # guard rails the environment turns on for every account of the file
    skipped: str | None = None  # an accounts file at the default place that ZOMRO_CONFIG=none leaves unread

    @classmethod
    def single(cls, settings: Settings) -> Accounts:
        """One account (the environment's, or a test's)."""
        return cls((settings,), None, None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.api.account for s in self.settings)

    @property
    def shared(self) -> Settings:
        """What every account has in common (timing, audit trail, preview rule, HTTP) is read from any of them."""
        return self.settings[0]

    @property
    def several(self) -> bool:
        return len(self.settings) > 1

    @property
    def default(self) -> str | None:
        """The account a read without `account` uses: the configured default, or the only account."""
        if self.default_account is not None:
            return self.default_account
        return self.settings[0].api.account if not self.several else None

    @property
    def can_change(self) -> bool:
        """Whether any account may enter or leave rescue mode (the change tools exist only then)."""
        return any(not s.guard_rails.read_only for s in self.settings)

    def get(self, name: str) -> Settings | None:
        return next((s for s in self.settings if s.api.account == name), None)

    def where(self, name: str, setting: str) -> str:
        """Where an account's guard rail is set, for sentences: the variable, or the key of the account's table."""
        if self.source is None or setting in self.floors:
            return f"ZOMRO_{setting.upper()}"
        return f"{setting} of account {name} in {self.source}"


NO_FILE = "none"  # ZOMRO_CONFIG=none: no accounts file, even when one exists at the default place


def config_path(env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The configuration file's path (None: ZOMRO_CONFIG=none), and whether ZOMRO_CONFIG named it (then it must
    exist). It is taken exactly as written: no space is trimmed and no `~` expanded, so the file read is the one the
    person sees named. A relative path is taken from the directory the server starts in, and shown whole."""
    named = env.get("ZOMRO_CONFIG")
    if named is not None:
        if not named:
            raise ConfigError(
                "ZOMRO_CONFIG is set but empty: set it to the path of the accounts file, to none for the "
                "environment's one account, or unset it to use ~/.config/zomro-rescue-mcp/config.toml when it exists."
            )
        if named == NO_FILE:  # exactly: a wrapper's "None" or " none" is a path that does not exist, not a choice
            return None, True
        if any(ord(c) < 32 or ord(c) == 127 for c in named):  # it would break the one line of every sentence
            raise ConfigError(
                "ZOMRO_CONFIG holds a line break or another control character, which the path of an accounts file "
                "does not need: set it to the path alone."
            )
        try:
            return Path(named).absolute(), True
        except OSError:  # no working directory
            raise ConfigError(f"ZOMRO_CONFIG {named!r} cannot be made a whole path: give it in full.") from None
    base = env.get("XDG_CONFIG_HOME", "").strip() or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "zomro-rescue-mcp" / "config.toml", False


def load_accounts(
    env: Mapping[str, str], *, simulator: bool = False, lenient: bool = False, **overrides: str | None
) -> Accounts:
    """The accounts: from the configuration file when there is one, else the environment's one account.

    At the default place only a path that certainly does not exist means "no file": a dangling symbolic link, or
    a folder that cannot be looked into, is refused, so the file's guard rails never drop away unnoticed.
    `lenient` (for `doctor` and `accounts`, never for a server): an account whose credentials cannot be used is
    kept, with the sentence saying why in `api.problem`, so the other accounts can still be shown and checked.
    """
    path, named = config_path(env)
    if path is None:
        default, _ = config_path({k: v for k, v in env.items() if k != "ZOMRO_CONFIG"})
        single = Accounts.single(Settings.from_env(env, simulator=simulator, **overrides))
        return replace(single, skipped=str(default) if default is not None and _present(default) else None)
    if not named and not _present(path):
        return Accounts.single(Settings.from_env(env, simulator=simulator, **overrides))
    document = _read(path, named=named, hint=_as_written(env.get("ZOMRO_CONFIG") or ""))
    return _from_document(document, str(path), env, simulator=simulator, lenient=lenient, overrides=overrides)


def _as_written(named: str) -> str:
    """What ZOMRO_CONFIG, taken as written, may not do that its writer expected: for the sentence of a missing file."""
    if named != named.strip():
        return " (ZOMRO_CONFIG is taken as written, and it begins or ends with a space)"
    if named.startswith("~"):
        return " (ZOMRO_CONFIG is taken as written: ~ is not expanded, so give the whole path)"
    return ""


def _present(path: Path) -> bool:
    """Whether something is at `path` (a dangling link counts); only a certain absence is False."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise ConfigError(
            f"Whether the accounts file {path} exists cannot be checked ({exc.strerror}): make its folder "
            "readable to you, or set ZOMRO_CONFIG (none for the environment's one account)."
        ) from None
    return True


def _read(path: Path, *, named: bool, hint: str = "") -> dict[str, Any]:
    """The file's TOML, refused when it is missing, not a regular file, others could change it (the file, a
    symbolic link on the way to it, or a folder that holds either), it does not parse, or it is nested deeper than
    an accounts file is.

    Symbolic links are followed (dotfile managers use them), each judged on the way (see `file_trust.resolve`). The
    file is opened relative to its folder's descriptor, without following links, so the folder judged and the file
    read are the ones used.
    """
    redo = "set ZOMRO_CONFIG=none, or remove it" if not named else "unset ZOMRO_CONFIG"
    try:
        target = resolve(path)
    except (FileNotFoundError, NotADirectoryError):
        dangling = " (a symbolic link to nothing)" if path.is_symlink() else ""
        raise ConfigError(f"The accounts file {path} does not exist{dangling}{hint}: create it, or {redo}.") from None
    except OSError as exc:
        raise ConfigError(f"The accounts file {path} cannot be opened ({exc.strerror}).") from None
    try:
        folder_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise ConfigError(f"The accounts file {path} cannot be opened ({exc.strerror}).") from None
    try:
        if (why := folder_refusal(target.parent, os.fstat(folder_fd))) is not None:
            raise ConfigError(f"The accounts file {path} is refused: {why}")
        try:
            fd = os.open(target.name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW, dir_fd=folder_fd)
        except OSError as exc:
            raise ConfigError(f"The accounts file {path} cannot be opened ({exc.strerror}).") from None
    finally:
        os.close(folder_fd)
    try:
        if (why := file_refusal(path, os.fstat(fd))) is not None:
            raise ConfigError(f"The accounts file {path} is refused: {why}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(_MAX_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_FILE:
        raise ConfigError(f"The accounts file {path} is larger than 1 MiB; it is not an accounts file.")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"The accounts file {path} is not valid TOML ({_short(exc)}).") from None
    except RecursionError:  # tomllib reads nested arrays and inline tables by recursion
        document = None
    if document is None or _too_deep(document):
        raise ConfigError(
            f"The accounts file {path} holds tables or lists nested more than {_MAX_DEPTH} deep, which no accounts "
            "file does ([accounts.NAME] tables of keys, and lists of instance ids): check that it is the right file."
        )
    return document


def _too_deep(document: dict[str, Any]) -> bool:
    """Whether tables and lists sit more than _MAX_DEPTH within one another (counted without recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        inner = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in inner if isinstance(item, dict | list))
    return False


def _short(exc: Exception) -> str:
    """tomllib's message names the line and column; a quoted character (a piece of a value) is left out."""
    first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return re.sub(r"'[^']*'", "a character", first)


def _from_document(
    document: dict[str, Any],
    source: str,
    env: Mapping[str, str],
    *,
    simulator: bool,
    lenient: bool = False,
    overrides: Mapping[str, str | None],
) -> Accounts:
    for key in document:
        if PLAIN_SECRETS.search(key):
            raise plain_secret(source, key)
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"The accounts file {source} has an unknown key {key!r}: only default_account and [accounts.NAME] "
                "tables are read."
            )
    tables = document.get("accounts")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(
            f"The accounts file {source} names no account: add a table such as [accounts.prod] with username and "
            "password_env (or token_env)."
        )
    _refuse_case_twins(tables, source)
    for variable in ACCOUNT_VARIABLES:
        if env.get(variable) is not None:
            raise ConfigError(
                f"{variable} is set, but the accounts come from {source}, so it would be ignored: describe the "
                "account in the file (its *_env keys name other variables, such as ZOMRO_PROD_PASSWORD, for the "
                "secrets), or unset it; ZOMRO_CONFIG=none serves the environment's one account instead."
            )
    if overrides.get("api_url") is not None:
        raise ConfigError(f"--api-url names one endpoint, but the accounts come from {source}: set api_url there.")
    shared = Settings.shared_from_env(env, **overrides)
    settings = tuple(
        account_settings(name, table, source, shared, env, simulator=simulator, lenient=lenient)
        for name, table in tables.items()
    )
    refuse_twins(settings, source)
    default = document.get("default_account")
    if default is not None and (not isinstance(default, str) or default not in tables):
        names = ", ".join(tables)
        raise ConfigError(f"default_account in {source} must be the name of one of its accounts: {names}.")
    floors = frozenset(
        k for k, on in (("read_only", shared.guard_rails.read_only), ("require_approval", always_asks(shared))) if on
    )
    return Accounts(settings, default, source, floors)


def _refuse_case_twins(tables: dict[str, Any], source: str) -> None:
    """Two names that differ only in case (prod, Prod) are one name to a person or a model that retypes it: which
    account, with which guard rails, a change would go to would hang on a capital letter."""
    seen: dict[str, str] = {}
    for name in tables:
        if NAME.fullmatch(name) is None:
            continue  # refused with its own sentence in `account_settings`
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise ConfigError(
                f"The accounts {other} and {name} in {source} differ only in case, so a name typed for one could "
                "mean the other: rename one of them."
            )
