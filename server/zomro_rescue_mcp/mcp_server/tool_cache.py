"""Tools built once per process: a server started again (each HTTP session's, each test's) reuses the schemas.

The SDK derives a tool's argument model, input schema and output schema from its function's signature, which takes
most of the time a server needs to start (pydantic generates each schema). The tools of every server here are made
by the same definitions (closures over one server's approval asker), so what is derived from the signature is the
same for all: it is kept per definition, keyed by the function's code and by everything of the signature that is
not filled by a resolver (its annotations and defaults). What belongs to one server (the function itself, its
resolvers, description and annotations) is always taken afresh.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable
from typing import Any

from mcp.server.mcpserver.resolve import build_resolver_plans, find_resolved_parameters
from mcp.server.mcpserver.tools.base import Tool

__all__ = ["build_tool"]

_BUILT: dict[Hashable, Tool] = {}


def _key(fn: Callable[..., Any], resolved: set[str], structured_output: bool | None) -> Hashable:
    shape = tuple(
        (p.name, p.kind, repr(p.annotation), repr(p.default))
        for p in inspect.signature(fn).parameters.values()
        if p.name not in resolved
    )
    return (getattr(fn, "__code__", fn), structured_output, repr(inspect.signature(fn).return_annotation), shape)


def build_tool(fn: Callable[..., Any], **options: Any) -> Tool:
    """The tool `Tool.from_function(fn, **options)` builds, its signature's derivations reused when known."""
    resolved = find_resolved_parameters(fn)
    key = _key(fn, set(resolved), options.get("structured_output"))
    known = _BUILT.get(key)
    if known is None:
        tool = Tool.from_function(fn, **options)
        _BUILT[key] = tool
        return tool
    names = {field.alias or name for name, field in known.fn_metadata.arg_model.model_fields.items()}
    return known.model_copy(
        update={
            "fn": fn,
            "name": options.get("name") or fn.__name__,
            "title": options.get("title"),
            "description": options.get("description") or fn.__doc__ or "",
            "annotations": options.get("annotations"),
            "icons": options.get("icons"),
            "meta": options.get("meta"),
            "resolved_params": dict(resolved),
            "resolver_plans": build_resolver_plans(resolved, names),
        }
    )
