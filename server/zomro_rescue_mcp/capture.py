"""`doctor --capture FILE`: what a real account's API answers, in the shapes the product relies on, made safe to share.

Nobody who builds this product can reach the real API; a user who can records these answers with read-only
calls (no `sok`, no unrescue): `whoami`, the first page of `instances`, `instances.filter`, `instances.edit` and
the rescue preview of one instance. Secrets, e-mail addresses, names, IP addresses and host names are replaced by
stable placeholders (the same value, the same placeholder), the file is written 0600, and what was replaced is
reported by kind and count, never by value. `serve --simulator --replay FILE` serves the capture again.
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

from . import __version__
from .billmanager import BillmanagerClient
from .config import Settings
from .errors import ConfigError, PolicyRefusedError, ZomroError
from .instances import parse_row
from .wire import as_list

__all__ = ["FORMAT", "Capture", "Redactor", "capture", "write_capture"]

FORMAT = "zomro-rescue-mcp capture"
RESCUE = "instances.fleio.rescue"
_FIRST_PAGE = "50"

_NAME_KEYS = frozenset({"servername", "name", "$realname", "realname", "username", "rdns_record", "domain", "hostname"})
_SECRET_KEYS = frozenset({"auth", "authinfo", "password", "passwd", "sessionid", "qrcode", "secret"})
_ACCOUNT_KEYS = frozenset({"$email", "email"})
_OWN_ATTRIBUTES = frozenset({"$name", "$id", "$email", "$realname"})  # attributes that are values themselves
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
# A host name ends in a country code or a common top-level domain, so that dotted function names
# (instances.fleio.rescue) and file names stay as they are.
_TLDS = "[A-Za-z]{2}|com|net|org|info|biz|io|dev|app|cloud|online|site|tech|host|xyz|pro|space|store|name|email"
_HOST = re.compile(rf"(?<![\w.@-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:{_TLDS})(?![\w.-])", re.IGNORECASE)
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
    """Replaces personal and secret values by stable placeholders and counts what it replaced, by kind."""

    literal_secrets: list[str] = field(default_factory=list)
    _seen: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

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

    def value(self, value: Any, key: str = "") -> Any:
        """A redacted copy of a parsed JSON value; `key` is the field it sits under (its `$` text inherits it)."""
        if isinstance(value, dict):
            if key == "user":  # who the account is: every attribute is personal
                return {k: self._personal(v) for k, v in value.items()}
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
        return self.text(value)

    def _personal(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return self.value(value, "user")
        return self._placeholder("email" if _EMAIL.fullmatch(value) else "account", value)

    def text(self, text: str) -> str:
        """Free text with configured secrets, e-mail addresses, IP addresses and host names replaced."""
        for secret in sorted(self.literal_secrets, key=len, reverse=True):
            if secret and secret in text:
                text = text.replace(secret, self._placeholder("secret", secret))
        text = _EMAIL.sub(lambda m: self._replace("email", m.group(0)), text)
        text = _IPV4.sub(lambda m: self._replace("ip", m.group(0)), text)
        text = _IPV6.sub(lambda m: self._replace("ip", m.group(0)), text)
        return _HOST.sub(lambda m: self._replace("host", m.group(0)), text)

    def _replace(self, kind: str, found: str) -> str:
        """A found value's placeholder; a placeholder already put in, or a text that is no address, stays."""
        if found in self._seen.values():
            return found
        if kind == "ip":
            try:
                ipaddress.ip_address(found)
            except ValueError:
                return found
        return self._placeholder(kind, found)

    def report(self) -> str:
        """What was replaced, by kind and count (never the values)."""
        parts = [f"{self.counts[kind]} {label}" for kind, label in _KINDS.items() if self.counts[kind]]
        return "replaced " + (", ".join(parts) if parts else "nothing") + " with placeholders"


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
    """Record the answers the product relies on, with read-only calls only."""
    answers: list[dict[str, Any]] = []

    redactor = Redactor(
        literal_secrets=[s for s in (settings.api.auth_token, settings.api.username, settings.api.password) if s]
    )
    redactor.literal_secrets += [settings.api.totp_secret] if settings.api.totp_secret else []

    async def record(func: str, **fields: str) -> dict[str, Any] | None:
        # The request (function, instance id, paging) stays as sent; only the answer is redacted.
        try:
            doc = await api.read_doc(func, **fields)
        except ZomroError as exc:
            answers.append({"func": func, "fields": fields, "failed": redactor.text(str(exc))})
            return None
        answers.append({"func": func, "fields": fields, "answer": redactor.value({"doc": doc})})
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
    if allowed is not None:  # rows of instances the server may not touch are not recorded either
        _keep_allowed(answers, allowed)
    if instance_id is None:
        instance_id = next((r.id for r in rows if r is not None and (allowed is None or r.id in allowed)), None)
    if instance_id is not None:
        await record("instances.edit", elid=str(instance_id))
        await record(RESCUE, elid=str(instance_id))
    document = {
        "capture": FORMAT,
        "format": 1,
        "product_version": __version__,
        "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "instance_id": instance_id,
        "answers": answers,
    }
    return Capture(document=document, report=redactor.report())


def _keep_allowed(answers: list[dict[str, Any]], allowed: frozenset[int]) -> None:
    """Drop the list rows of instances outside ZOMRO_ALLOWED_INSTANCES from the recorded first page."""
    for answer in answers:
        doc = answer.get("answer", {}).get("doc") if answer.get("func") == "instances" else None
        if isinstance(doc, dict) and "elem" in doc:
            doc["elem"] = [
                e for e in as_list(doc["elem"]) if isinstance(e, dict) and (row := parse_row(e)) and row.id in allowed
            ]


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
