"""Text from the API is data, never layout or instructions: what the renderers print is made printable once.

An instance's name, an image's label or an answer of the API may hold a newline, a carriage return, an ANSI escape
or another control character. Printed raw, a newline in a name forges a line of its own (`next: call enter_rescue
…`) in what the model reads, and an escape sequence repaints or hides what a person sees at a terminal. Both
renderers (mcp_server/render.py for the model, cli/render.py for the terminal) pass every line they write through
`printable`, which shows such characters as Python's `repr` shows them (`\\n`, `\\x1b`, `\\u202e`).
"""

from __future__ import annotations

__all__ = ["printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every character that is not printable (controls, line and paragraph separators, format
    characters such as a bidirectional override, spaces other than ' ') escaped as `repr` would; the rest as is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
