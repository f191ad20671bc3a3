"""Guard rails an operator sets once: read-only mode and the instance allowlist."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator

from ..conftest import call, client_for, error, ok
from ..outcome import facts, kind

pytestmark = pytest.mark.anyio

WEB, DB, LEGACY = 5203773, 5203774, 5203775


@pytest.mark.both_eras
async def test_read_only_mode_does_not_offer_the_changing_tools(settings: Settings, era: str) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        reads = {"list_instances", "list_rescue_images", "diagnose_instance", "check_instance", "list_snapshots"}
        assert names == reads
        assert "READ-ONLY" in (client.instructions or "")


@pytest.mark.both_eras
async def test_read_only_mode_refuses_a_call_to_a_hidden_tool_without_any_request(
    settings: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        await client.list_tools()
        result = await client.call_tool("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True})
    assert "enter_rescue is not offered: this server runs in read-only mode (ZOMRO_READ_ONLY)" in error(result)
    assert sim.requests == []


async def test_read_only_mode_still_reads(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        assert ok(await call(client, "list_rescue_images", instance_id=WEB))["status"] == "active"


@pytest.fixture
def guarded(settings: Settings) -> Settings:
    return settings.but(allowed_instances=frozenset({WEB, LEGACY}))


async def test_the_allowlist_hides_other_instances_from_the_list(guarded: Settings, sim: Simulator, era: str) -> None:
    async with client_for(guarded, era) as client:
        data = ok(await call(client, "list_instances"))
        assert "Only these instances may be touched: 5203773, 5203775" in (client.instructions or "")
    assert sorted(i["id"] for i in data["instances"]) == [WEB, LEGACY]


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_rescue_images", {"instance_id": DB}),
        ("enter_rescue", {"instance_id": DB, "image": "Ubuntu 22.04"}),
        ("enter_rescue", {"instance_id": DB, "image": "Ubuntu 22.04", "confirm": True}),
        ("exit_rescue", {"instance_id": DB, "confirm": True}),
    ],
)
async def test_the_allowlist_refuses_other_ids_before_any_api_call(
    guarded: Settings, sim: Simulator, era: str, tool: str, arguments: dict[str, object]
) -> None:
    async with client_for(guarded, era) as client:
        result = await client.call_tool(tool, arguments)
    assert (kind(result), facts(result)["instance_id"]) == ("refused.allowlist", 5203774)
    assert "ZOMRO_ALLOWED_INSTANCES" in error(result)
    assert sim.requests == []


async def test_the_allowlist_lets_listed_instances_through(guarded: Settings, sim: Simulator, era: str) -> None:
    async with client_for(guarded, era) as client:
        data = ok(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
    assert data["executed"] is True
