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
_ATTRIBUTE = re.compile(r"^[A-Za-z-]+=")


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


def message_of(error: dict[str, Any]) -> str:
    """The error's own message text."""
    return text_of(error.get("msg")) or text_of(error.get("detail")) or text_of(error) or "no message"


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
        first = messages[0] if isinstance(messages, list) and messages else messages
        return str(field), str(first) if first is not None else "no message"
    return None


def long_url(body: str, api_url: str) -> str | None:
    """The long-operation link in a page, resolved against the API URL; None unless it stays on the API's host."""
    host = urlsplit(api_url).netloc
    for match in _LONG_LINK.finditer(body):
        link = _ATTRIBUTE.sub("", match.group(0)).replace("&amp;", "&")  # an unquoted href=… keeps only the link
        candidate = urljoin(api_url, link)
        parts = urlsplit(candidate)
        if parts.scheme in ("http", "https") and parts.netloc == host:
            return candidate
    return None
