"""Reading BILLmanager answers, with no I/O: bounded JSON, "object or array" lists, `$` text, errors, long-page links.

Everything here is pure, so the protocol's quirks are tested without a network.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_DEPTH",
    "Doc",
    "as_list",
    "depth_exceeds",
    "error_of",
    "field_message",
    "long_url",
    "message_of",
    "text_of",
]

Doc = dict[str, Any]

MAX_ANSWER_BYTES = 1024 * 1024  # a page of 250 instances is about 150 KB; a megabyte is not an answer we expect
MAX_DEPTH = 64  # BILLmanager documents nest a handful of levels; far deeper is not a document

# The panel finds the long-operation link with an unanchored `long.+billmgr`; the link may be absolute or relative.
_LONG_LINK = re.compile(r"""[^\s"'<>]*long[^\s"'<>]*billmgr[^\s"'<>]*""")
_ABSOLUTE = re.compile(r"https?://|//", re.IGNORECASE)


def as_list(value: Any) -> list[Any]:
    """Read a BILLmanager list: a repeated element is an array, a single one a bare object, none is absent."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text_of(value: Any) -> str | None:
    """The text of a field (`{"$": "text"}`, a bare string, or an array of either: the first); None when absent."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        inner = value.get("$")
        return inner if isinstance(inner, str) else None
    return value if isinstance(value, str) else None


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed JSON value nests deeper than `limit` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def error_of(doc: Doc) -> dict[str, Any] | None:
    """The doc's `error`, whatever its shape (object, list, string), as one object; None when there is none.

    Any `error` at all means the request was not executed, so an unusual shape must never read as success.
    """
    if "error" not in doc:
        return None
    raw = doc["error"]
    if isinstance(raw, list):
        first = next((item for item in raw if isinstance(item, dict)), None)
        if first is not None:
            return first
        texts = [t for t in (text_of(item) for item in raw) if t]
        return {"msg": {"$": "; ".join(texts) or "no message"}}
    if isinstance(raw, dict):
        return raw
    if raw is None or raw == "":
        return {"msg": {"$": "no message"}}
    return {"msg": {"$": str(raw) if not isinstance(raw, str) else raw}}


MAX_MESSAGE = 500  # characters of an API message kept in a sentence


def message_of(error: dict[str, Any]) -> str:
    """The error's own message text (bounded)."""
    text = text_of(error.get("msg")) or text_of(error.get("detail")) or text_of(error) or "no message"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def readable(error: dict[str, Any]) -> str:
    """What a person should read of an error: "field: message" from the cloud layer's JSON, else its message."""
    found = field_message(error)
    return f"{found[0]}: {found[1]}" if found is not None else message_of(error)


def _first_text(value: Any) -> str:
    """The first string inside a JSON value (a list of messages, or messages nested under sub-fields)."""
    for _ in range(MAX_DEPTH):
        if isinstance(value, list):
            value = value[0] if value else None
        elif isinstance(value, dict):
            value = next(iter(value.values()), None)
        else:
            break
    return str(value)[:MAX_MESSAGE] if isinstance(value, str | int | float) and value != "" else "no message"


def field_message(error: dict[str, Any]) -> tuple[str, str] | None:
    """The cloud layer's `{"<field>": ["<message>", …]}` inside `msg.$` (or, in older builds, `$object`).

    Returns the first field and its first message, as the panel shows them; None when neither holds such JSON.
    """
    for raw in (text_of(error.get("msg")), error.get("$object")):
        if not isinstance(raw, str) or not raw.lstrip().startswith("{"):
            continue
        try:
            parsed = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(parsed, dict) or not parsed:
            continue
        field, messages = next(iter(parsed.items()))
        return str(field)[:100], _first_text(messages)
    return None


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def long_url(body: str, api_url: str) -> str | None:
    """The long-operation link in a page, resolved against the API URL; None unless it stays on the API's origin.

    A relative link is taken as the panel takes it, from "long" on; an absolute one must keep the API's scheme,
    host and port (compared without case, with default ports), so it is never a downgrade or another host.
    """
    origin = _origin(api_url)
    for match in _LONG_LINK.finditer(body):
        token = match.group(0).replace("&amp;", "&")
        absolute = _ABSOLUTE.search(token)
        link = token[absolute.start() :] if absolute else token[token.find("long") :]
        candidate = urljoin(api_url, link)
        if _origin(candidate) == origin:
            return candidate
    return None
