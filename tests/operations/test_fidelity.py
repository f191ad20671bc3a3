"""True to the real Zomro: state from the list, only the seed's functions needed, a saved list filter respected.

The simulator behaves as the evidence (Zomro's panel source) says by default; its earlier guesses remain as
`Behaviour.legacy()`, and the product works against both.
"""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import Behaviour, Simulator

from ..conftest import call, ok

pytestmark = pytest.mark.anyio

WEB, DB, LEGACY = 5203773, 5203774, 5203775


@pytest.mark.parametrize("behaviour", [Behaviour(), Behaviour.legacy()], ids=["evidence", "legacy"])
async def test_the_whole_story_works_against_the_evidence_and_the_earlier_guesses(
    client: Client, sim: Simulator, behaviour: Behaviour
) -> None:
    sim.behaviour = behaviour
    entered = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    left = ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert (entered["wait"], entered["status"]) == ("reached", "rescued")
    assert (left["wait"], left["status"]) == ("reached", "active")


async def test_instances_edit_is_never_read(client: Client, sim: Simulator) -> None:
    ok(await call(client, "list_instances"))
    ok(await call(client, "list_rescue_images", instance_id=WEB))
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert sim.calls("instances.edit") == []


async def test_an_account_with_only_the_list_and_the_seed_functions_works_waiting_included(
    client: Client, sim: Simulator
) -> None:
    sim.behaviour = Behaviour.seed_only()
    images = ok(await call(client, "list_rescue_images", instance_id=WEB))
    entered = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    left = ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert (images["status"], len(images["images"])) == ("active", 16)
    assert (entered["status_before"], entered["wait"]) == ("active", "reached")
    assert (left["status_before"], left["wait"]) == ("rescued", "reached")


async def test_without_the_list_the_seed_tools_work_and_say_the_state_is_unknown(
    client: Client, sim: Simulator
) -> None:
    sim.behaviour = Behaviour.seed_only(with_list=False)
    images = ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert images["status"] is None
    assert len(images["images"]) == 16
    assert any("state could not be read" in note and "Zomro decides" in note for note in images["notes"])


async def test_without_the_list_a_confirmed_enter_says_it_could_not_watch(client: Client, sim: Simulator) -> None:
    sim.behaviour = Behaviour.seed_only(with_list=False)
    entered = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert (entered["executed"], entered["wait"]) == (True, "unwatchable")
    assert any("could not watch" in note for note in entered["notes"])
    assert "check its state in the Zomro panel" in entered["next_step"]
    assert sim.instances[WEB].status == "rescued"


async def test_without_the_list_a_confirmed_exit_says_it_could_not_watch(client: Client, sim: Simulator) -> None:
    sim.behaviour = Behaviour.seed_only(with_list=False)
    left = ok(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
    assert (left["executed"], left["status_before"], left["wait"]) == (True, None, "unwatchable")
    assert sim.instances[LEGACY].status == "active"


async def test_a_saved_filter_makes_the_list_say_it_is_not_complete(client: Client, sim: Simulator) -> None:
    sim.saved_filter = {"id": str(DB)}
    listing = ok(await call(client, "list_instances"))
    assert [i["id"] for i in listing["instances"]] == [DB]
    assert listing["complete"] is False
    assert any("list filter saved in the Zomro panel (id=5203774)" in note for note in listing["notes"])


async def test_an_instance_hidden_by_a_saved_filter_is_unknown_not_missing(client: Client, sim: Simulator) -> None:
    sim.saved_filter = {"id": str(DB)}
    images = ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert images["status"] is None
    assert len(images["images"]) == 16
    assert any("hides it" in note for note in images["notes"])


async def test_the_saved_filter_is_read_and_never_set(client: Client, sim: Simulator) -> None:
    sim.saved_filter = {"ip": "203.0.113.11"}
    ok(await call(client, "list_instances"))
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert sim.calls("instances.filter")
    assert all("sok" not in r.fields for r in sim.calls("instances.filter"))
    assert sim.saved_filter == {"ip": "203.0.113.11"}


async def test_an_unfiltered_account_reads_as_complete_without_notes(client: Client, sim: Simulator) -> None:
    listing = ok(await call(client, "list_instances"))
    assert (listing["complete"], listing["notes"], listing["total"]) == (True, [], 4)


async def test_an_account_without_the_filter_function_says_completeness_is_unknown(
    client: Client, sim: Simulator
) -> None:
    sim.behaviour = Behaviour.seed_only()
    listing = ok(await call(client, "list_instances"))
    assert listing["total"] == 4
    assert listing["complete"] is None
    assert any("could not be checked" in note for note in listing["notes"])


async def test_billing_state_comes_from_the_list_row(client: Client, sim: Simulator) -> None:
    sim.instances[DB].billing_status, sim.instances[DB].item_status = "1", "Activation in progress"
    listing = ok(await call(client, "list_instances", query="db-1"))
    [row] = listing["instances"]
    assert (row["billing_status"], row["item_status"]) == ("1", "Activation in progress")


async def test_a_row_whose_id_is_not_ascii_digits_is_skipped_with_a_note(client: Client, sim: Simulator) -> None:
    sim.instances[DB].raw_row = {"id": {"$": "١٢"}, "servername": {"$": "odd"}}
    listing = ok(await call(client, "list_instances"))
    assert DB not in {i["id"] for i in listing["instances"]}
    assert listing["total"] == 3
    assert any("no numeric instance id" in note for note in listing["notes"])


async def test_a_windows_rescue_image_is_reached_over_vnc_not_ssh(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Windows Server 2022", confirm=True))
    assert data["password_plan"] == "generated"
    assert data["password"]
    assert "VNC console" in data["summary"]
    assert "VNC console" in data["next_step"]
    assert "SSH" not in data["next_step"].replace("no SSH login", "")


async def test_a_saved_filter_on_a_field_this_product_does_not_know_still_counts(
    client: Client, sim: Simulator
) -> None:
    sim.instances[WEB].billing_status = "1"
    sim.saved_filter = {"status": "2"}  # the panel's billing-status filter
    listing = ok(await call(client, "list_instances"))
    images = ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert listing["complete"] is False
    assert WEB not in {i["id"] for i in listing["instances"]}
    assert images["status"] is None
    assert any("hides it" in note for note in images["notes"])


async def test_a_list_that_gives_no_total_is_read_to_its_last_page(client: Client, sim: Simulator) -> None:
    sim.populate(596)
    sim.reports_total, sim.max_page_size = False, 100
    listing = ok(await call(client, "list_instances", limit=1))
    last = ok(await call(client, "list_rescue_images", instance_id=max(sim.instances)))
    assert (listing["total"], listing["complete"]) == (600, True)
    assert last["status"] == "active"
