"""One OpenSSH public key line, checked strictly before ssh.add_key appends it to root's authorized_keys.

A line is `TYPE BASE64 [COMMENT]`: a known type, base64 that decodes and whose first field repeats the type, an
optional comment of plain characters, one line of at most 16 KiB. No options (`from=…`, `command=…`): a key added here
logs in plainly. Every refusal is a sentence that never repeats what it was given (it may be a private key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

__all__ = ["KEY_TYPES", "MAX_KEY_BYTES", "PublicKey", "has_key", "parse_public_key"]

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
MAX_KEY_BYTES = 16 * 1024
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_COMMENT = re.compile(r"[A-Za-z0-9 @._+:,=/()\[\]-]{1,1024}")
_ASK = (
    "give the one line of the key's .pub file (TYPE BASE64 [COMMENT], of type "
    "ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or sk-…@openssh.com)"
)


@dataclass(frozen=True)
class PublicKey:
    kind: str
    blob: bytes  # the decoded key
    line: bytes  # as appended: TYPE BASE64 [COMMENT]

    @property
    def fingerprint(self) -> str:
        """SHA256:… as `ssh-keygen -l` prints it."""
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.blob).digest()).decode("ascii").rstrip("=")


def _refuse(why: str) -> ValueError:
    return ValueError(f"The key was not added: {why}; {_ASK}.")


def parse_public_key(given: str | None) -> PublicKey:
    """The key `given` holds, or ValueError with a sentence that does not repeat it."""
    if given is None or not given.strip():
        raise _refuse("no key was given (target)")
    if "PRIVATE KEY" in given.upper() or "b3BlbnNzaC1rZXktdjE" in given:
        raise ValueError(
            "The key was not added and is not repeated here: it is a private key, which must stay with its owner; "
            "give its public half (the .pub file's one line) instead."
        )
    if len(given.encode("utf-8", "replace")) > MAX_KEY_BYTES:
        raise _refuse("it is longer than 16 KiB")
    line = given.strip()
    if "\n" in line or "\r" in line:
        raise _refuse("it is more than one line")
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise _refuse("it does not start with a known key type (options such as from= are not taken)")
    kind, encoded = parts[0], parts[1]
    if not _BASE64.fullmatch(encoded):
        raise _refuse("its second field is not base64")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse("its second field does not decode as base64") from None
    size = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
    if size != len(kind) or blob[4 : 4 + size] != kind.encode("ascii"):
        raise _refuse("its key data does not repeat its type")
    comment = parts[2].strip() if len(parts) > 2 else ""
    if comment and not _COMMENT.fullmatch(comment):
        raise _refuse("its comment holds characters other than letters, digits, spaces and @._+:,=/()[]-")
    text = f"{kind} {encoded}" + (f" {comment}" if comment else "")
    return PublicKey(kind=kind, blob=blob, line=text.encode("ascii"))


def has_key(authorized_keys: bytes, key: PublicKey) -> bool:
    """Whether a line of `authorized_keys` (options or not) holds the same key data."""
    encoded = base64.b64encode(key.blob)
    for raw in authorized_keys.splitlines():
        words = raw.split()
        if words and not words[0].startswith(b"#") and encoded in words:
            return True
    return False
