"""list_instances: every page, the single-element quirk, and turning a name into an id."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import SimInstance, Simulator

from ..conftest import call, error, ok

pytestmark = pytest.mark.anyio


async def test_lists_every_instance_with_its_state(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "list_instances"))
    by_id = {i["id"]: i for i in data["instances"]}
    assert set(by_id) == set(sim.instances)
    assert by_id[5203773] == {
        "id": 5203773,
        "account": "default",
        "name": "web-1",
        "ip": "203.0.113.10",
        "ipv6": None,
        "status": "active",
        "billing_status": "2",
        "item_status": "Active",
        "datacenter": "Netherlands",
        "os": "Ubuntu 22.04",
    }
    assert by_id[5203775]["status"] == "rescued"
    assert by_id[5203776]["status"] == "error"


async def test_reads_the_list_without_changing_anything(client: Client, sim: Simulator) -> None:
    ok(await call(client, "list_instances"))
    [listing] = sim.calls("instances")
    assert set(listing.fields) == {"func", "out", "lang", "auth", "p_cnt", "p_num"}
    assert listing.fields["p_num"] == "1"
    assert sim.mutating_requests() == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [("WEB", [5203773]), ("web-1", [5203773]), ("203.0.113.11", [5203774]), ("5203775", [5203775]), ("-1", None)],
)
async def test_query_turns_a_name_or_address_into_an_id(
    client: Client, sim: Simulator, query: str, expected: list[int] | None
) -> None:
    data = ok(await call(client, "list_instances", query=query))
    ids = [i["id"] for i in data["instances"]]
    if expected is None:  # "-1" is part of every name: web-1, db-1 …
        assert ids == sorted(sim.instances)
    else:
        assert ids == expected


async def test_a_query_matching_nothing_gives_an_empty_list(client: Client, sim: Simulator) -> None:
    assert ok(await call(client, "list_instances", query="no-such-box"))["instances"] == []


async def test_reads_every_page_when_the_api_pages_the_list(client: Client, sim: Simulator) -> None:
    sim.max_page_size = 2
    for n in range(5):
        sim.instances[6000000 + n] = SimInstance(id=6000000 + n, name=f"worker-{n}", ip=f"198.51.100.{n}")
    data = ok(await call(client, "list_instances"))
    assert sorted(i["id"] for i in data["instances"]) == sorted(sim.instances)
    assert sorted(r.fields["p_num"] for r in sim.calls("instances")) == ["1", "2", "3", "4", "5"]


async def test_a_single_instance_arrives_as_a_bare_object_and_is_listed(client: Client, sim: Simulator) -> None:
    sim.instances = {5203773: SimInstance(id=5203773, name="web-1")}
    data = ok(await call(client, "list_instances"))
    assert [i["name"] for i in data["instances"]] == ["web-1"]


async def test_an_account_without_instances_gives_an_empty_list(client: Client, sim: Simulator) -> None:
    sim.instances = {}
    assert ok(await call(client, "list_instances"))["instances"] == []


async def test_list_rescue_images_also_tells_the_name_and_state(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "list_rescue_images", instance_id=5203775))
    assert data["name"] == "legacy-1"
    assert data["status"] == "rescued"
    assert len(data["images"]) == 16


async def test_an_overlong_query_is_refused_without_any_request(client: Client, sim: Simulator) -> None:
    message = error(await call(client, "list_instances", query="x" * 500))
    assert "list_instances was not run because its arguments are invalid" in message
    assert sim.requests == []
