"""The tools exactly as `tools/list` serves them, as one JSON document per tool (the `schemas/` folder).

`modes.json` lists which tools each mode offers: read-only mode serves the same documents, fewer of them. Every
toolset is included (ZOMRO_TOOLSETS=all): a server offers the documents of the sets it is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from ..settings.config import Settings
from ..settings.toolsets import parse_toolsets

__all__ = ["live_modes", "live_tool_documents", "render", "write_schemas"]


def live_tool_documents(*, read_only: bool = False) -> dict[str, dict[str, Any]]:
    """Each tool's name, title, description, schemas and annotations, read through the official MCP client."""

    async def read() -> dict[str, dict[str, Any]]:
        from mcp import Client

        from .server import build_server

        every = parse_toolsets("ZOMRO_TOOLSETS", "all")  # every tool is documented, whichever sets are offered
        settings = Settings(simulator=True, api_url="http://simulator.invalid/", read_only=read_only, toolsets=every)
        async with Client(build_server(settings), mode="legacy") as client:
            tools = (await client.list_tools()).tools
        return {
            tool.name: tool.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"meta"})
            for tool in tools
        }

    return anyio.run(read)


def live_modes() -> dict[str, list[str]]:
    """The tool names each mode serves."""
    return {
        "full": sorted(live_tool_documents()),
        "read-only": sorted(live_tool_documents(read_only=True)),
    }


def render(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write `<tool>.json` for every tool and `modes.json` into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in sorted(live_tool_documents().items()):
        path = folder / f"{name}.json"
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    modes = folder / "modes.json"
    modes.write_text(render(live_modes()), encoding="utf-8")
    return [*written, modes]
