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

import contextlib
import errno
import ipaddress
import os
import re
import socket
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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

__all__ = ["ACCOUNT_KEYS", "NO_FILE", "Accounts", "config_path", "load_accounts"]

ACCOUNT_KEYS = (
    "api_url",
    "username",
    "password_env",
    "token_env",
    "totp_secret_env",
    "read_only",
    "allowed_instances",
    "require_approval",
)
_TOP_KEYS = ("default_account", "accounts")
# The keys that name the variable holding a secret, and the variable they stand in for (as `ApiSettings.name_of`).
_SECRET_KEYS = {
    "token_env": "ZOMRO_AUTH_TOKEN",
    "password_env": "ZOMRO_PASSWORD",
    "totp_secret_env": "ZOMRO_TOTP_SECRET",
}
_PLAIN_SECRETS = re.compile(r"(^|_)(password|passwd|pass|token|secret|auth|api_?key|totp|session)(_|$)", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_MAX_FILE = 1 << 20
_MAX_DEPTH = 8  # tables and lists within one another; an accounts file needs 4 (top, accounts, NAME, allowlist)
_MAX_LINKS = 40  # symbolic links followed on the way to the file, as Linux allows
# Variables that describe the environment's one account. With a file they would be silently ignored, so they are
# refused; and a file may not name them for its secrets either: otherwise a file that goes missing would leave
# the same credentials behind as an account without the file's guard rails.
_ACCOUNT_VARIABLES = (
    "ZOMRO_API_URL",
    "ZOMRO_AUTH_TOKEN",
    "ZOMRO_USERNAME",
    "ZOMRO_PASSWORD",
    "ZOMRO_TOTP_SECRET",
    "ZOMRO_ALLOWED_INSTANCES",
)


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

    Symbolic links are followed (dotfile managers use them), each judged on the way (see `_resolve`). The file is
    opened relative to its folder's descriptor, without following links, so the folder judged and the file read are
    the ones used.
    """
    redo = "set ZOMRO_CONFIG=none, or remove it" if not named else "unset ZOMRO_CONFIG"
    try:
        target = _resolve(path)
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
        if (why := _folder_refusal(target.parent, os.fstat(folder_fd))) is not None:
            raise ConfigError(f"The accounts file {path} is refused: {why}")
        try:
            fd = os.open(target.name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW, dir_fd=folder_fd)
        except OSError as exc:
            raise ConfigError(f"The accounts file {path} cannot be opened ({exc.strerror}).") from None
    finally:
        os.close(folder_fd)
    try:
        if (why := _file_refusal(path, os.fstat(fd))) is not None:
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


def _ours(uid: int) -> bool:
    return uid in (os.getuid(), 0)


def _file_refusal(path: Path, info: os.stat_result) -> str | None:
    """As ssh judges its configuration: a regular file of this user (or root) that others cannot write to."""
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file."
    if not _ours(info.st_uid):
        return "it belongs to another user, who could change it. Use a file of your own."
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"others can write to it, and it decides which accounts may be changed. Run `chmod go-w {path}`."
    return None


def _folder_refusal(folder: Path, info: os.stat_result) -> str | None:
    """A folder that holds the file (or a link to it), or one above: this user's or root's, and others may not
    write to it, unless the sticky bit (as /tmp has) keeps them from replacing what is not theirs."""
    open_to_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX
    if not _ours(info.st_uid) or open_to_others:
        fix = f"Run `chmod go-w {folder}`" if _ours(info.st_uid) else "Keep it in a folder of your own"
        return f"the folder {folder} can be changed by others, who could replace the file. {fix}."
    return None


def _resolve(path: Path) -> Path:
    """The file `path` names, found as the kernel finds it, one name at a time, and judged on the way: each folder
    crossed (including the folders that hold a link), and each symbolic link followed (to the file, to a folder on
    the way, or to another link). Whoever may change a link, or the folder it sits in, chooses the file read, and
    with it the guard rails; so a link must be this user's or root's, in a folder judged as the file's are.

    Raises OSError as opening the path would (FileNotFoundError for a name missing on the way).
    """
    whole = path if path.is_absolute() else Path.cwd() / path
    pending = list(reversed(whole.parts[1:]))  # the names still to look up, the next one last
    current = Path(whole.anchor)
    _judge_folder(path, current)
    links = 0
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":  # `current` holds no link, so its parent is the kernel's '..'
            current = current.parent
            continue
        candidate = current / name
        info = os.lstat(candidate)
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > _MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            if not _ours(info.st_uid):
                what = "it is" if candidate == whole else f"{candidate}, on the way to it, is"
                raise ConfigError(
                    f"The accounts file {path} is refused: {what} a symbolic link of another user, who could "
                    "repoint it. Use a link of your own, or name the file itself."
                )
            target = Path(os.readlink(candidate))
            if target.is_absolute():
                current = Path(target.anchor)
            pending.extend(reversed(target.parts[1:] if target.is_absolute() else target.parts))
            continue
        if pending:  # a folder on the way
            if not stat.S_ISDIR(info.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            _judge_folder(path, candidate, info)
        current = candidate
    return current


def _judge_folder(path: Path, folder: Path, info: os.stat_result | None = None) -> None:
    try:
        info = info or os.lstat(folder)
    except OSError as exc:
        raise ConfigError(f"The accounts file {path} cannot be checked: {folder} ({exc.strerror}).") from None
    if (why := _folder_refusal(folder, info)) is not None:
        raise ConfigError(f"The accounts file {path} is refused: {why}")


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
        if _PLAIN_SECRETS.search(key):
            raise _plain_secret(source, key)
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
    for variable in _ACCOUNT_VARIABLES:
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
        _account(name, table, source, shared, env, simulator=simulator, lenient=lenient)
        for name, table in tables.items()
    )
    _refuse_twins(settings, source)
    default = document.get("default_account")
    if default is not None and (not isinstance(default, str) or default not in tables):
        names = ", ".join(tables)
        raise ConfigError(f"default_account in {source} must be the name of one of its accounts: {names}.")
    floors = frozenset(
        k for k, on in (("read_only", shared.guard_rails.read_only), ("require_approval", _always(shared))) if on
    )
    return Accounts(settings, default, source, floors)


def _refuse_case_twins(tables: dict[str, Any], source: str) -> None:
    """Two names that differ only in case (prod, Prod) are one name to a person or a model that retypes it: which
    account, with which guard rails, a change would go to would hang on a capital letter."""
    seen: dict[str, str] = {}
    for name in tables:
        if _NAME.fullmatch(name) is None:
            continue  # refused with its own sentence in `_account`
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise ConfigError(
                f"The accounts {other} and {name} in {source} differ only in case, so a name typed for one could "
                "mean the other: rename one of them."
            )


def _plain_secret(source: str, key: str) -> ConfigError:
    return ConfigError(
        f"The accounts file {source} is refused: its key {key!r} would hold a secret in plain text. Keep secrets in "
        "environment variables and name them with password_env, token_env or totp_secret_env."
    )


def _account(
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
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ConfigError(f"An account in {source} is named {name!r}: use 1 to 40 letters, digits, '.', '_' or '-'.")
    where = f"account {name} in {source}"
    if not isinstance(table, dict):
        raise ConfigError(f"accounts.{name} in {source} must be a table ([accounts.{name}]).")
    for key in table:
        if key in ACCOUNT_KEYS:
            continue
        if _PLAIN_SECRETS.search(key):
            raise _plain_secret(source, f"accounts.{name}.{key}")
        raise ConfigError(f"The {where} has an unknown key {key!r}; the keys read are: {', '.join(ACCOUNT_KEYS)}.")
    api_url = _text(table, "api_url", where) or DEFAULT_API_URL
    username = _text(table, "username", where)
    rails = {
        "read_only": _bool(table, "read_only", where) or shared.guard_rails.read_only,
        "require_approval": _approval(table, where, shared),
        "allowed_instances": _ids(table, where),
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


def _always(shared: Settings) -> bool:
    return shared.guard_rails.require_approval == "always"


def _approval(table: dict[str, Any], where: str, shared: Settings) -> ApprovalMode:
    """An account's require_approval: true (always ask), false (never), "auto"; absent: the environment's.
    ZOMRO_REQUIRE_APPROVAL=1 is a floor: every account then asks."""
    if "require_approval" not in table or _always(shared):
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
    if variable in _ACCOUNT_VARIABLES:
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


def _refuse_twins(settings: tuple[Settings, ...], source: str) -> None:
    """Two accounts with one login (a user, or a session token) on one endpoint are one account: its guard rails and
    the one-request-at-a-time lock could then be bypassed through the other name. (Logins are compared, never
    shown.)"""
    seen: dict[tuple[str, str, str], str] = {}
    for one in settings:
        api = one.api
        endpoint = _endpoint(api.api_url)
        logins = [("user", api.username.casefold())] if api.username else []
        logins += [("token", api.auth_token)] if api.auth_token else []
        for kind, login in logins:  # none for the simulator's accounts, which have no credentials yet
            key = (endpoint, kind, login)
            if key in seen and seen[key] != api.account:
                raise ConfigError(
                    f"The accounts {seen[key]} and {api.account} in {source} log in as the same user to the same "
                    "endpoint, so they are one account: keep one of them, with the guard rails you want."
                )
            seen[key] = api.account


def _endpoint(url: str) -> str:
    """One spelling per endpoint, so that two spellings of one server are one: its host (see `_host`), its port,
    written or not (http 80, https 443; the scheme does not tell two servers on one port apart), and its path."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{_host(parts.hostname or '')}:{port}{_path(parts.path)}"


def _host(name: str) -> str:
    """A host in one spelling: lower case, no final dot, IDNA; an address as its canonical text (127.1 is 127.0.0.1,
    ::ffff:10.0.0.1 is 10.0.0.1); and every loopback name and address (localhost, 127.0.0.0/8, ::1) as one, since
    a server on the loopback answers on each of them."""
    host = name.rstrip(".").lower()
    with contextlib.suppress(UnicodeError):  # else compared as written
        host = host.encode("idna").decode("ascii")
    if host == "localhost":
        return "loopback"
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if re.fullmatch(r"(0x)?[0-9a-f]+(\.(0x)?[0-9a-f]+){0,3}", host) and any(c.isdigit() for c in host):
            with contextlib.suppress(OSError):  # older forms a resolver takes as an address: 127.1, 2130706433
                address = ipaddress.IPv4Address(socket.inet_aton(host))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address is None:
        return host
    return "loopback" if address.is_loopback else str(address)


def _path(path: str) -> str:
    """A path in one spelling: decoded, without '.', '..', repeated or final '/', in one case; and without a last
    `billmgr`, since BILLmanager answers at `/billmgr` as at `/`."""
    segments: list[str] = []
    for segment in unquote(path).split("/"):
        if segment == "..":
            segments = segments[:-1]
        elif segment not in ("", "."):
            segments.append(segment.casefold())
    if segments and segments[-1] == "billmgr":
        segments.pop()
    return "/" + "/".join(segments)
