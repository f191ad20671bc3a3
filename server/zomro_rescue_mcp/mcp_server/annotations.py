"""The tools' annotations (MCP's hints to the client), said once: every tool here reaches Zomro (open world); a read
is idempotent and changes nothing, a change is destructive unless it only adds."""

from mcp.types import ToolAnnotations

__all__ = ["change", "read"]


def read(title: str) -> ToolAnnotations:
    """A tool that only reads."""
    return ToolAnnotations(
        title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )


def change(title: str, *, idempotent: bool = False, destructive: bool = True) -> ToolAnnotations:
    """A tool that changes an instance (`destructive=False`: it only adds, as a snapshot does)."""
    return ToolAnnotations(
        title=title,
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )
