"""What tools/list serves per toolset (ZOMRO_TOOLSETS, or the accounts' toolsets), and the refusal of a tool outside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.settings.toolsets import CHANGE_TOOLS, TOOLSETS, parse_toolsets
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, Simulator

from ..conftest import call, client_for, error, ok
from ..outcome import kind
from .test_accounts_mcp import SECOND, two_accounts

pytestmark = pytest.mark.anyio

WEB = 5203773


def with_sets(settings: Settings, raw: str) -> Settings:
    return settings.but(toolsets=parse_toolsets("ZOMRO_TOOLSETS", raw))


async def names(client: Client) -> set[str]:
    return {t.name for t in (await client.list_tools()).tools}


@pytest.mark.both_eras
@pytest.mark.parametrize("toolset", sorted(TOOLSETS))
async def test_one_toolset_lists_its_tools_and_list_instances(settings: Settings, era: str, toolset: str) -> None:
    async with client_for(with_sets(settings, toolset), era) as client:
        assert await names(client) == {"list_instances", *TOOLSETS[toolset]}


@pytest.mark.both_eras
async def test_all_lists_every_tool_within_9000_characters(settings: Settings, era: str) -> None:
    async with client_for(with_sets(settings, "all"), era) as client:
        tools = (await client.list_tools()).tools
        described = sum(len(t.description or "") + len(json.dumps(t.input_schema)) for t in tools)
        assert {t.name for t in tools} == {tool for group in TOOLSETS.values() for tool in group}
        assert described + len(client.instructions or "") <= 9000


@pytest.mark.both_eras
async def test_read_only_still_hides_every_change_tool(settings: Settings, era: str) -> None:
    async with client_for(with_sets(settings, "all").but(read_only=True), era) as client:
        assert await names(client) == {tool for group in TOOLSETS.values() for tool in group} - CHANGE_TOOLS


async def test_a_tool_outside_the_toolsets_is_refused_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    async with client_for(with_sets(settings, "rescue"), "auto") as client:
        result = await call(client, "power_instance", instance_id=WEB, action="reboot", confirm=True)
    assert kind(result) == "refused.toolset"
    assert "its toolset is not in ZOMRO_TOOLSETS" in error(result)
    assert sim.mutating_requests() == []


async def test_the_server_offers_the_union_of_the_accounts_toolsets(
    tmp_path: Path, api_url: str, sim: Simulator
) -> None:
    sim.add_account(SECOND, DEMO_PASSWORD)
    accounts = two_accounts(tmp_path, api_url, prod='toolsets = ["rescue"]', staging='toolsets = ["power"]')
    async with client_for(accounts, "auto") as client:
        assert await names(client) == {"list_instances", *TOOLSETS["rescue"], "power_instance"}


async def test_a_call_on_an_account_whose_toolsets_lack_the_tool_is_refused(
    tmp_path: Path, api_url: str, sim: Simulator
) -> None:
    sim.add_account(SECOND, DEMO_PASSWORD)
    accounts = two_accounts(tmp_path, api_url, prod='toolsets = ["rescue"]', staging='toolsets = ["power"]')
    async with client_for(accounts, "auto") as client:
        result = await call(client, "power_instance", instance_id=WEB, action="stop", confirm=True, account="prod")
        assert kind(result) == "refused.toolset"
        assert "power_instance is not offered for account prod" in error(result)
        assert "toolsets of account prod in" in error(result)
        assert sim.mutating_requests() == []
        data = ok(await call(client, "power_instance", instance_id=WEB, action="stop", account="staging"))
        assert data["executed"] is False
