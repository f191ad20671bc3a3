"""What a tool result says as data: its kind and facts (`_meta`), so tests decide on those, not on sentences."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult


def kind(result: CallToolResult) -> str:
    """The outcome's kind, from `_meta`."""
    assert result.meta is not None, "the result carries no _meta"
    return str(result.meta["zomro/kind"])


def facts(result: CallToolResult) -> dict[str, Any]:
    """The failure's facts, from `_meta` (empty for a success)."""
    assert result.meta is not None, "the result carries no _meta"
    return dict(result.meta.get("zomro/facts", {}))
