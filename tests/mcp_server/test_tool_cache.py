"""A server built again reuses its tools' schemas (tool_cache.py): what it offers is exactly what the SDK would
build, and each server's tools run that server's own functions and resolvers."""

from __future__ import annotations

from mcp.server.mcpserver.tools.base import Tool

from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.settings.toolsets import TOOLSETS


def _settings() -> Settings:
    return Settings(
        api_url="http://127.0.0.1:9/", username="u@example.com", password="a-password", toolsets=frozenset(TOOLSETS)
    )


def test_a_rebuilt_server_offers_what_the_sdk_builds() -> None:
    build_server(_settings())
    again = build_server(_settings())
    for tool in again._tool_manager.list_tools():
        fresh = Tool.from_function(
            tool.fn, name=tool.name, title=tool.title, description=tool.description, annotations=tool.annotations
        )
        assert tool.parameters == fresh.parameters, tool.name
        assert tool.output_schema == fresh.output_schema, tool.name
        assert (tool.context_kwarg, set(tool.resolved_params)) == (fresh.context_kwarg, set(fresh.resolved_params))


def test_each_server_runs_its_own_functions_and_resolvers() -> None:
    first, second = build_server(_settings()), build_server(_settings())
    for name in ("power_instance", "create_snapshot", "enter_rescue"):
        one, other = first._tool_manager.get_tool(name), second._tool_manager.get_tool(name)
        assert one is not None
        assert other is not None
        assert one.fn is not other.fn
        [(marker_one, _)] = one.resolved_params.values()
        [(marker_other, _)] = other.resolved_params.values()
        assert marker_one is not marker_other
        assert one.fn_metadata is other.fn_metadata  # the signature's derivations are shared
