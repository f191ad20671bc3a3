"""The unified diff a file-editing repair previews (a/PATH to b/PATH; a missing final newline marked as diff does)."""

from __future__ import annotations

import difflib

__all__ = ["text", "unified_diff"]


def text(data: bytes) -> str:
    """A file's bytes as text, any byte that is not UTF-8 kept (surrogateescape), so that it can be written back."""
    return data.decode("utf-8", "surrogateescape")


def unified_diff(path: str, old: bytes, new: bytes) -> str:
    """The unified diff from `old` to `new` of the file `path` (inside the instance's root)."""
    lines = difflib.unified_diff(
        text(old).splitlines(keepends=True), text(new).splitlines(keepends=True), f"a{path}", f"b{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
