"""Lists that scale: pages of the answer (limit, offset, next_offset), every page of Zomro's list read a few at a
time, queries across all pages, and an answer that stays small on a large account.
"""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.simulator import Simulator

from ..conftest import call, error, ok

pytestmark = pytest.mark.anyio


async def test_a_page_carries_total_offset_and_next_offset(client: Client, sim: Simulator) -> None:
    sim.populate(120)
    first = ok(await call(client, "list_instances", limit=50))
    last = ok(await call(client, "list_instances", limit=50, offset=100))
    assert (len(first["instances"]), first["total"], first["offset"], first["next_offset"]) == (50, 124, 0, 50)
    assert (len(last["instances"]), last["offset"], last["next_offset"]) == (24, 100, None)


@pytest.mark.parametrize("limit", [0, 501])
async def test_the_page_size_is_bounded(client: Client, sim: Simulator, limit: int) -> None:
    message = error(await call(client, "list_instances", limit=limit))
    assert "limit" in message
    assert sim.requests == []


async def test_a_query_matches_across_every_page(client: Client, sim: Simulator) -> None:
    sim.populate(600)
    data = ok(await call(client, "list_instances", query="node-00600"))
    assert [i["name"] for i in data["instances"]] == ["node-00600"]
    assert (data["total"], data["next_offset"], data["complete"]) == (1, None, True)


async def test_later_pages_are_read_side_by_side_at_most_eight_at_a_time(client: Client, sim: Simulator) -> None:
    sim.populate(300)
    sim.max_page_size, sim.latency = 10, 0.05
    data = ok(await call(client, "list_instances", limit=500))
    assert data["total"] == 304
    assert len({i["id"] for i in data["instances"]}) == 304
    assert 2 <= sim.max_in_flight <= 8


async def test_a_state_read_stops_at_the_page_that_holds_the_instance(client: Client, sim: Simulator) -> None:
    sim.populate(1000)
    ok(await call(client, "list_rescue_images", instance_id=5203773))
    assert [r.fields["p_num"] for r in sim.calls("instances")] == ["1"]


async def test_the_answer_for_two_thousand_instances_stays_under_twenty_thousand_characters(
    client: Client, sim: Simulator
) -> None:
    sim.populate(1996)
    result = await call(client, "list_instances")
    assert ok(result)["total"] == 2000
    assert len(result.model_dump_json(by_alias=True, exclude_none=True)) < 20_000


async def test_the_state_of_the_last_of_many_instances_is_read(client: Client, sim: Simulator) -> None:
    sim.populate(1996)
    last = max(sim.instances)
    sim.instances[last].status = "stopped"
    data = ok(await call(client, "list_rescue_images", instance_id=last))
    assert (data["status"], data["name"]) == ("stopped", "node-01996")
    assert {r.fields["p_num"] for r in sim.calls("instances")} == {str(n) for n in range(1, 9)}  # pages of 250


def test_the_cli_prints_every_instance_with_all(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    sim.populate(120)
    assert main(["instances", "--all"], env={**server_env, "ZOMRO_LOG_LEVEL": "WARNING"}) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 124


def test_the_cli_says_how_to_see_more(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    sim.populate(120)
    assert main(["instances", "--limit", "10"], env={**server_env, "ZOMRO_LOG_LEVEL": "WARNING"}) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 10 + 1
    assert lines[-1] == "1-10 of 124; more with --offset 10, or all with --all"
