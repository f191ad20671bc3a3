"""The tools exactly as `tools/list` serves them, as one JSON document per tool (the `schemas/` folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from .config import Settings

__all__ = ["live_tool_documents", "write_schemas"]


def live_tool_documents() -> dict[str, dict[str, Any]]:
    """Each tool's name, title, description, schemas and annotations, read through the official MCP client."""

    async def read() -> dict[str, dict[str, Any]]:
        from mcp import Client

        from .mcp_server import build_server

        server = build_server(Settings(simulator=True, api_url="http://simulator.invalid/"))
        async with Client(server, mode="legacy") as client:
            tools = (await client.list_tools()).tools
        return {
            tool.name: tool.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"meta"})
            for tool in tools
        }

    return anyio.run(read)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write `<tool>.json` for every tool into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in sorted(live_tool_documents().items()):
        path = folder / f"{name}.json"
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written
