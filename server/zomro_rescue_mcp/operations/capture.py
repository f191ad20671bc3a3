"""`doctor --capture FILE`: what a real account's API answers, in the shapes the product relies on, made safe to share.

Nobody who builds this product can reach the real API; a user who can records these answers with read-only
calls (no `sok`, no unrescue): `whoami`, the first page of `instances`, `instances.filter`, `instances.edit` and
the rescue preview of one instance. Secrets, e-mail addresses, names, IP addresses and host names are replaced by
stable placeholders (the same value, the same placeholder), the file is written 0600, and what was replaced is
reported by kind and count, never by value. `serve --simulator --replay FILE` serves the capture again.

What counts as what:
- IPv4 and IPv6 addresses and host names anywhere in a text, a sentence's full stop after them or not; a host
  name is two labels or more ending in a top-level domain of letters, whichever (any script, or punycode).
  Version numbers (`22.04`), amounts, times, disk images' file names (`….iso`), loopback addresses and netmasks
  stay; BILLmanager's dotted function names
  (`instances.fleio.rescue`) stay where the text names a function (`func=…`, "function …") and, for the
  product's own functions, anywhere.
- Names: the values under name keys (`servername`, `name`, `elname`, `hostname`, `domain`, `rdns_record`,
  `username`, `$realname` …) and an image of one's own's `$name` are collected from all the answers first;
  each is then replaced wherever it stands, as a whole value under any key (`title`, `descr` …) and, from three
  characters on, as a word in free text (an error message, a description).
- The person: whoami's `user` (the panel reads `$realname`, `$email`, `$id`, `$phone`, `$balance` there) is
  replaced attribute by attribute; the real name is a name like the others, so it is replaced in free text too.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..core.errors import ConfigError, PolicyRefusedError, ZomroError
from ..settings.config import Settings
from ..wire.answers import Doc, as_list
from ..wire.billmanager import BillmanagerClient
from .instances import parse_row

__all__ = ["FORMAT", "Capture", "Redactor", "capture", "write_capture"]

FORMAT = "zomro-rescue-mcp capture"
RESCUE = "instances.fleio.rescue"
_FIRST_PAGE = "50"

_NAME_KEYS = frozenset(
    {"servername", "name", "elname", "$realname", "realname", "username", "rdns_record", "domain", "hostname"}
)
_SECRET_KEYS = frozenset({"auth", "authinfo", "password", "passwd", "sessionid", "qrcode", "secret"})
_ACCOUNT_KEYS = frozenset({"$email", "email"})
_PERSON_KEYS = frozenset({"$realname", "realname"})  # whoami's user: the person's own name
_OWN_ATTRIBUTES = frozenset({"$name", "$id", "$email", "$realname"})  # attributes that are values themselves
_MIN_NAME = 3  # a collected name shorter than this is replaced only where it is a whole value
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)"  # a sentence's full stop may follow
_IPV6 = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?![\w:]|\.\d)"
# A host name is two labels or more ending in a top-level domain of letters (any script, or punycode), not part
# of a longer dotted word; a full stop after it ends the sentence. Dotted function names are told apart by context.
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"  # letters of any script, digits, inner hyphens
_TLD = r"(?:[^\W\d_]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_HOST = rf"(?<![\w@-])(?<![\w-]\.)(?:{_LABEL}\.)+{_TLD}(?![\w-]|\.[\w-])"
_ADDRESSES = rf"(?P<ip6>{_IPV6})|(?P<ip4>{_IPV4})|(?P<host>{_HOST})"
# BILLmanager's function names look like host names (instances.fleio.rescue); they are kept where the text
# names a function, and the product's own are kept anywhere.
_FUNCTION_CONTEXT = re.compile(r"(?:func=|function\s+['\"«]?)$", re.IGNORECASE)
_FUNCTIONS = frozenset(
    {"instances.edit", "instances.filter", "instances.fleio.rescue", "instances.fleio.unrescue", "totp.confirm"}
)
_KINDS = {
    "secret": "secret(s)",
    "email": "e-mail address(es)",
    "name": "name(s)",
    "ip": "IP address(es)",
    "host": "host name(s)",
    "account": "account id(s)",
}


@dataclass
class Redactor:
    """Replaces personal and secret values by stable placeholders and counts what it replaced, by kind.

    `learn` first collects the names the answers hold (instances' names under any name key, the person's
    `$realname`, one's own images' names), so that each is replaced wherever it stands: as a whole value under
    any key (`title`, `descr` …), and as a word in free text.
    """

    literal_secrets: list[str] = field(default_factory=list)
    _seen: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    names: set[str] = field(default_factory=set)
    _names_pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def _placeholder(self, kind: str, original: str) -> str:
        if original in self._seen:
            return self._seen[original]
        number = self.counts[kind] + 1
        placeholder = {
            "secret": f"secret-{number}",
            "email": f"user-{number}@example.com",
            "name": f"name-{number}",
            "ip": _documentation_ip(original, number),
            "host": f"host-{number}.example.net",
            "account": f"account-{number}",
        }[kind]
        self._seen[original] = placeholder
        self.counts[kind] += 1
        return placeholder

    def learn(self, value: Any, key: str = "") -> None:
        """Collect the names a parsed answer holds (walked as `value` walks it), to replace them everywhere."""
        if isinstance(value, dict):
            descriptor = "val" in value
            for k, v in value.items():
                if key == "user":
                    if k in _PERSON_KEYS:
                        self.learn(v, k)
                elif k == "$name":  # an option's own name (an image of one's own), not a field's or a param's
                    if not descriptor and "$key" in value:
                        self.learn(v, k)
                else:
                    self.learn(v, k if k in _OWN_ATTRIBUTES or not k.startswith("$") else key)
        elif isinstance(value, list):
            for item in value:
                self.learn(item, key)
        elif isinstance(value, str) and (key.lower() in _NAME_KEYS or key == "$name"):
            name = value.strip()
            if name and not _EMAIL_ONLY.fullmatch(name):  # a login is replaced as an e-mail address
                self.names.add(name)
                self._names_pattern = None

    def value(self, value: Any, key: str = "") -> Any:
        """A redacted copy of a parsed JSON value; `key` is the field it sits under (its `$` text inherits it)."""
        if isinstance(value, dict):
            if key == "user":  # who the account is: every attribute is personal
                return {k: self._personal(v, k) for k, v in value.items()}
            descriptor = "val" in value  # a form field or list: its $name names the field, not a person or server
            copied: dict[str, Any] = {}
            for k, v in value.items():
                if k == "$name" and descriptor:
                    copied[k] = v
                elif k in _OWN_ATTRIBUTES or not k.startswith("$"):
                    copied[k] = self.value(v, k)
                else:
                    copied[k] = self.value(v, key)  # "$" text and other attributes belong to their field
            return copied
        if isinstance(value, list):
            return [self.value(item, key) for item in value]
        if not isinstance(value, str) or not value:
            return value
        lowered = key.lower()
        if lowered in _SECRET_KEYS or (lowered == "$id" and key == "$id" and _looks_like_session(value)):
            return self._placeholder("secret", value)
        if lowered in _ACCOUNT_KEYS:
            return self._placeholder("email", value)
        if lowered == "$id":
            return self._placeholder("account", value)
        if lowered in _NAME_KEYS or lowered == "$name":
            return self._placeholder("name", value)
        if value.strip() in self.names:
            return self._placeholder("name", value.strip())
        return self.text(value)

    def _personal(self, value: Any, key: str) -> Any:
        if not isinstance(value, str) or not value:
            return self.value(value, "user")
        if key in _PERSON_KEYS:
            return self._placeholder("name", value.strip() or value)
        return self._placeholder("email" if _EMAIL_ONLY.fullmatch(value) else "account", value)

    def text(self, text: str) -> str:
        """Free text with configured secrets, e-mail addresses, known names, IP addresses and host names replaced.

        One pass over the text, so a placeholder put in is never taken for something to replace."""
        for secret in sorted(self.literal_secrets, key=len, reverse=True):
            if secret and secret in text:
                text = text.replace(secret, self._placeholder("secret", secret))
        return self._pattern().sub(self._found, text)

    def _pattern(self) -> re.Pattern[str]:
        """E-mail addresses, then the known names (as words, not inside a longer dotted name), then addresses."""
        if self._names_pattern is None:
            words = sorted((n for n in self.names if len(n) >= _MIN_NAME), key=len, reverse=True)
            names = "|".join(re.escape(n) for n in words)
            known = rf"(?<![\w-])(?<![\w-]\.)(?P<name>{names})(?![\w-]|\.[\w-])|" if names else ""
            self._names_pattern = re.compile(rf"(?P<email>{_EMAIL})|{known}{_ADDRESSES}")
        return self._names_pattern

    def _found(self, match: re.Match[str]) -> str:
        kind, found = next((k, v) for k, v in match.groupdict().items() if v is not None)
        if found in self._seen.values():  # a placeholder already put in stays
            return found
        if kind == "name":
            return self._placeholder("name", found)
        if kind == "host":
            before = match.string[max(0, match.start() - 12) : match.start()]
            kept = found in _FUNCTIONS or _FUNCTION_CONTEXT.search(before) or _is_image_file(found)
            return found if kept else self._placeholder(kind, found)
        if kind in ("ip4", "ip6"):
            return self._address(found)
        return self._placeholder(kind, found)

    def _address(self, found: str) -> str:
        """An address's placeholder; a text that only looks like one (a time, a MAC address) stays."""
        tail = ""
        if found.endswith(":") and not found.endswith("::"):
            found, tail = found[:-1], ":"  # "at 2001:db8::1: …" — the colon is the sentence's
        try:
            address = ipaddress.ip_address(found)
        except ValueError:
            return found + tail
        if address.is_loopback or address.is_unspecified or _is_netmask(address):
            return found + tail  # nobody's address: 127.0.0.1, ::, 255.255.255.0
        return self._placeholder("ip", found) + tail

    def report(self) -> str:
        """What was replaced, by kind and count (never the values)."""
        parts = [f"{self.counts[kind]} {label}" for kind, label in _KINDS.items() if self.counts[kind]]
        return "replaced " + (", ".join(parts) if parts else "nothing") + " with placeholders"


_EMAIL_ONLY = re.compile(_EMAIL)
_IMAGE_FILES = (".iso", ".img", ".raw", ".vmdk", ".vhd", ".vhdx")  # disk images' names; no top-level domain ends so


def _is_image_file(name: str) -> bool:
    return name.lower().endswith(_IMAGE_FILES)


def _is_netmask(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An IPv4 netmask of eight bits or more (ones, then zeros): a setting, not an address."""
    if address.version != 4 or int(address) < 0xFF000000:
        return False
    inverted = ~int(address) & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


def _documentation_ip(original: str, number: int) -> str:
    """An address from the ranges reserved for documentation, of the same family."""
    if ":" in original:
        return f"2001:db8::{number:x}"
    return f"192.0.2.{number}" if number < 255 else f"198.51.100.{number % 254 + 1}"


def _looks_like_session(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{16,}", value))


@dataclass
class Capture:
    """The recorded answers, already redacted, and the redaction's report."""

    document: dict[str, Any]
    report: str


async def capture(api: BillmanagerClient, settings: Settings, instance_id: int | None) -> Capture:
    """Record the answers the product relies on, with read-only calls only.

    Every answer is read before any is redacted: the names they hold (an instance's, the person's) are collected
    from all of them first, so a name is replaced in an answer read before the one that names it."""
    recorded: list[tuple[str, dict[str, str], Doc | str]] = []  # function, fields as sent, the doc or the failure

    async def record(func: str, **fields: str) -> Doc | None:
        try:
            doc = await api.read_doc(func, **fields)
        except ZomroError as exc:
            recorded.append((func, fields, str(exc)))
            return None
        recorded.append((func, fields, doc))
        return doc

    allowed = settings.guard_rails.allowed_instances
    if instance_id is not None and allowed is not None and instance_id not in allowed:
        raise PolicyRefusedError(
            f"Instance {instance_id} is not among the instances this server may touch (ZOMRO_ALLOWED_INSTANCES); "
            "nothing was recorded.",
            kind="refused.allowlist",
            instance_id=instance_id,
        )
    await record("whoami")
    page = await record("instances", p_cnt=_FIRST_PAGE, p_num="1")
    await record("instances.filter")
    rows = [parse_row(e) for e in as_list(page.get("elem")) if isinstance(e, dict)] if page is not None else []
    if instance_id is None:
        instance_id = next((r.id for r in rows if r is not None and (allowed is None or r.id in allowed)), None)
    if instance_id is not None:
        await record("instances.edit", elid=str(instance_id))
        await record(RESCUE, elid=str(instance_id))

    redactor = Redactor(
        literal_secrets=[s for s in (settings.api.auth_token, settings.api.username, settings.api.password) if s]
    )
    redactor.literal_secrets += [settings.api.totp_secret] if settings.api.totp_secret else []
    for _, _, answer in recorded:  # the names of instances outside the allowed ones are learnt too
        if not isinstance(answer, str):
            redactor.learn({"doc": answer})
    answers: list[dict[str, Any]] = []
    for func, fields, answer in recorded:
        # The request (function, instance id, paging) stays as sent; only the answer is redacted.
        if isinstance(answer, str):
            answers.append({"func": func, "fields": fields, "failed": redactor.text(answer)})
            continue
        if func == "instances" and allowed is not None:  # rows of instances the server may not touch: not recorded
            answer = _keep_allowed(answer, allowed)
        answers.append({"func": func, "fields": fields, "answer": redactor.value({"doc": answer})})
    document = {
        "capture": FORMAT,
        "format": 1,
        "product_version": __version__,
        "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "instance_id": instance_id,
        "answers": answers,
    }
    return Capture(document=document, report=redactor.report())


def _keep_allowed(doc: Doc, allowed: frozenset[int]) -> Doc:
    """The recorded first page without the list rows of instances outside ZOMRO_ALLOWED_INSTANCES."""
    if "elem" not in doc:
        return doc
    rows = [e for e in as_list(doc["elem"]) if isinstance(e, dict) and (row := parse_row(e)) and row.id in allowed]
    return {**doc, "elem": rows}


def write_capture(path: str, document: dict[str, Any]) -> None:
    """Write the capture as a new or replaced regular file of its own, mode 0600.

    A symlink, FIFO, device or directory at the path is refused without blocking, and so is a file with other
    names (hard links), which truncating would change too. A short write (a full disk) is an error.
    """
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise ConfigError(f"The capture file {path} cannot be written ({exc.strerror}): choose another path.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            raise ConfigError(f"{path} is not a plain file of its own: choose a new path for the capture.")
        os.ftruncate(fd, 0)
        os.fchmod(fd, 0o600)
        if os.write(fd, data) != len(data):
            raise ConfigError(f"The capture file {path} could not be written whole (is the disk full?).")
    finally:
        os.close(fd)
