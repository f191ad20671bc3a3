"""The simulator answers the panel's other recovery calls over real HTTP as the API notes describe them: power
(reboot, start, stop: no `sok`, they act at once), snapshots and backups, booting from an ISO and leaving it, and the
root password. A preview (no `sok`) changes nothing; every change is in the request log as a mutation.

States under way are seen with a long `transition_seconds`; settled ones with none (the default of the fixture).
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from zomro_rescue_mcp.simulator import Simulator
from zomro_rescue_mcp.simulator.recovery_calls import ISO_IMAGES
from zomro_rescue_mcp.simulator.state import SimSnapshot

WEB = 5203773  # active
LEGACY = 5203775  # rescued
MAIL = 5203776  # error
GOOD_PASSWORD = "Fresh-Passw0rd9"
PUBLIC_ISO, _, _ = ISO_IMAGES[0]
OWN_ISO = next(key for key, _, zone in ISO_IMAGES if zone == "own")


def post(api_url: str, sim: Simulator, **fields: str | int) -> dict[str, Any]:
    """One request as the panel sends it (form fields, `out=json`, `lang=en`, a live session); the answer's doc."""
    form = {"out": "json", "lang": "en", "auth": sim.new_session(), **{k: str(v) for k, v in fields.items()}}
    with httpx2.Client(base_url=api_url, timeout=5) as http:
        response = http.post("/", data=form)
    response.raise_for_status()
    doc: dict[str, Any] = response.json()["doc"]
    return doc


def refusal(doc: dict[str, Any]) -> tuple[str, str]:
    """An error answer's `$object` (or, for a cloud-layer one, the field its JSON names) and its message."""
    error = doc["error"]
    message = error["msg"]["$"]
    if error["$object"] == "" and message.startswith("{"):
        field, messages = next(iter(json.loads(message).items()))
        return field, messages[0]
    return error["$object"], message


def status(api_url: str, sim: Simulator, elid: int) -> str:
    """The instance's state as the panel reads it: its row in the list."""
    doc = post(api_url, sim, func="instances")
    rows = doc["elem"] if isinstance(doc["elem"], list) else [doc["elem"]]
    return str(next(row["instance_status"]["$"] for row in rows if row["id"]["$"] == str(elid)))


def snapshot_rows(api_url: str, sim: Simulator, elid: int, func: str = "instances.snapshots") -> list[dict[str, Any]]:
    doc = post(api_url, sim, func=func, elid=elid)
    assert "error" not in doc, doc
    rows = doc.get("elem", [])
    return rows if isinstance(rows, list) else [rows]


# Power: reboot, stop, start.


def test_a_reboot_acts_without_sok_and_shows_rebooting_while_under_way(api_url: str, sim: Simulator) -> None:
    sim.transition_seconds = 3600
    assert "error" not in post(api_url, sim, func="service.reboot", elid=WEB)
    assert status(api_url, sim, WEB) == "rebooting"


def test_a_reboot_ends_active(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="service.reboot", elid=WEB)
    assert status(api_url, sim, WEB) == "active"


@pytest.mark.parametrize("func", ["service.reboot", "service.stop"])
def test_a_power_call_is_logged_as_a_change_though_it_has_no_sok(api_url: str, sim: Simulator, func: str) -> None:
    post(api_url, sim, func=func, elid=WEB)
    assert [(r.func, r.fields["elid"]) for r in sim.mutating_requests()] == [(func, str(WEB))]


def test_a_stop_passes_through_stopping(api_url: str, sim: Simulator) -> None:
    sim.transition_seconds = 3600
    post(api_url, sim, func="service.stop", elid=WEB)
    assert status(api_url, sim, WEB) == "stopping"


def test_a_stop_ends_stopped(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="service.stop", elid=WEB)
    assert status(api_url, sim, WEB) == "stopped"


def test_a_start_passes_through_starting_to_active(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].status = "stopped"
    sim.transition_seconds = 3600
    post(api_url, sim, func="service.start", elid=WEB)
    assert status(api_url, sim, WEB) == "starting"


def test_a_start_ends_active(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].status = "stopped"
    post(api_url, sim, func="service.start", elid=WEB)
    assert status(api_url, sim, WEB) == "active"


def test_stopping_a_stopped_instance_is_refused(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].status = "stopped"
    assert refusal(post(api_url, sim, func="service.stop", elid=WEB)) == (
        "instance_status",
        "The instance is already stopped; nothing was done.",
    )


def test_starting_an_active_instance_is_refused(api_url: str, sim: Simulator) -> None:
    assert refusal(post(api_url, sim, func="service.start", elid=WEB)) == (
        "instance_status",
        "Cannot start: the instance is not stopped (state active); nothing was done.",
    )


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("stopped", "Cannot reboot: the instance is in state stopped; nothing was done."),
        ("rescued", "Cannot reboot: the instance is in state rescued; nothing was done. Leave that mode first."),
        (
            "booted_from_iso",
            "Cannot reboot: the instance is in state booted_from_iso; nothing was done. Leave that mode first.",
        ),
        ("resized", "Cannot reboot: the instance is in state resized; nothing was done. Leave that mode first."),
        ("error", "Cannot reboot: the instance is in state error; nothing was done."),
        ("suspended", "Cannot reboot: the instance is in state suspended; nothing was done."),
    ],
)
def test_a_reboot_is_refused_where_the_panel_offers_none(
    api_url: str, sim: Simulator, state: str, message: str
) -> None:
    sim.instances[WEB].status = state
    assert refusal(post(api_url, sim, func="service.reboot", elid=WEB)) == ("instance_status", message)
    assert sim.instances[WEB].status == state


@pytest.mark.parametrize("func", ["service.reboot", "service.stop"])
def test_a_power_call_is_refused_while_another_operation_runs(api_url: str, sim: Simulator, func: str) -> None:
    sim.transition_seconds = 3600
    post(api_url, sim, func="service.reboot", elid=WEB)
    object_, message = refusal(post(api_url, sim, func=func, elid=WEB))
    assert (object_, message) == (
        "runningoperation",
        "Another operation is running on this instance; nothing was done. Wait until it has finished.",
    )
    assert status(api_url, sim, WEB) == "rebooting"


def test_a_power_call_is_refused_while_an_accepted_one_is_not_yet_shown(api_url: str, sim: Simulator) -> None:
    sim.transition_lag = 3600
    post(api_url, sim, func="service.stop", elid=WEB)
    assert status(api_url, sim, WEB) == "active"
    assert refusal(post(api_url, sim, func="service.reboot", elid=WEB))[0] == "runningoperation"


def test_a_power_call_is_refused_while_billing_is_inactive(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].billing_status = "4"
    assert refusal(post(api_url, sim, func="service.stop", elid=WEB)) == (
        "status",
        "Cannot stop: the service is not active (billing status 4).",
    )


def test_a_power_call_for_an_unknown_instance_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="service.reboot", elid=999)
    assert doc["error"]["$type"] == "missed"
    assert doc["error"]["$object"] == "elid"


# Snapshots and backups.


def test_the_snapshot_preview_makes_nothing(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="before-fix")
    assert doc["plid"]["$"] == str(WEB)
    assert sim.instances[WEB].snapshots == []
    assert status(api_url, sim, WEB) == "active"
    assert sim.mutating_requests() == []


def test_a_new_snapshot_is_saving_while_the_instance_uploads_it(api_url: str, sim: Simulator) -> None:
    sim.transition_seconds = 3600
    assert "error" not in post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="before-fix", sok="ok")
    [row] = snapshot_rows(api_url, sim, WEB)
    assert (row["name"]["$"], row["status"]["$"]) == ("before-fix", "Saving")
    assert status(api_url, sim, WEB) == "image_uploading"


def test_a_saved_snapshot_is_active_and_the_instance_back_in_its_state(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].status = "stopped"
    post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="before-fix", sok="ok")
    [row] = snapshot_rows(api_url, sim, WEB)
    assert row["status"]["$"] == "Active"
    assert status(api_url, sim, WEB) == "stopped"


def test_the_snapshot_list_also_takes_plid(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="before-fix", sok="ok")
    doc = post(api_url, sim, func="instances.snapshots", plid=WEB)
    assert doc["elem"]["name"]["$"] == "before-fix"


def test_a_snapshot_name_of_100_characters_is_taken(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="n" * 100, sok="ok")
    assert "error" not in doc
    assert [s.name for s in sim.instances[WEB].snapshots] == ["n" * 100]


def test_a_snapshot_name_of_101_characters_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="n" * 101, sok="ok")
    assert refusal(doc) == ("name", "The name has more than 100 characters; no snapshot was made.")
    assert sim.instances[WEB].snapshots == []


def test_a_snapshot_without_a_name_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="  ", sok="ok")
    assert refusal(doc) == ("name", "A name is required; no snapshot was made.")


def test_the_sixth_snapshot_of_a_day_is_refused(api_url: str, sim: Simulator) -> None:
    for number in range(5):
        doc = post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name=f"s{number}", sok="ok")
        assert "error" not in doc, doc
    doc = post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="s5", sok="ok")
    assert refusal(doc) == (
        "manual_created_today",
        "At most 5 snapshots can be made a day; none was made. Try tomorrow.",
    )
    assert len(sim.instances[WEB].snapshots) == 5


def test_the_snapshot_list_says_how_many_were_made_today(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].snapshots.append(SimSnapshot(1, "old", "2025-01-15", 0.0))
    for number in range(2):
        post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name=f"s{number}", sok="ok")
    doc = post(api_url, sim, func="instances.snapshots", elid=WEB)
    assert (doc["manual_created_today"]["$"], doc["manual_created_total"]["$"], doc["p_elems"]["$"]) == ("2", "3", "3")


def test_a_snapshot_is_refused_while_another_operation_runs(api_url: str, sim: Simulator) -> None:
    sim.transition_seconds = 3600
    post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="first", sok="ok")
    doc = post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="second", sok="ok")
    assert refusal(doc)[0] == "runningoperation"
    assert [s.name for s in sim.instances[WEB].snapshots] == ["first"]


def test_a_reboot_is_refused_while_a_snapshot_is_saved(api_url: str, sim: Simulator) -> None:
    sim.transition_seconds = 3600
    post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="first", sok="ok")
    assert refusal(post(api_url, sim, func="service.reboot", elid=WEB))[0] == "runningoperation"


def test_a_snapshot_of_an_instance_in_error_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.snapshots.edit", plid=MAIL, name="broken", sok="ok")
    assert refusal(doc) == (
        "instance_status",
        "Cannot make a snapshot: the instance is in state error; nothing was done.",
    )


def test_a_snapshot_is_renamed_by_its_elid(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="instances.snapshots.edit", plid=WEB, name="first", sok="ok")
    [made] = sim.instances[WEB].snapshots
    post(api_url, sim, func="instances.snapshots.edit", plid=WEB, elid=made.id, name="renamed", sok="ok")
    assert [(s.id, s.name) for s in sim.instances[WEB].snapshots] == [(made.id, "renamed")]


def test_a_backup_is_made_and_listed(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="instances.fleio_bckps.edit", plid=WEB, name="nightly", sok="ok")
    [row] = snapshot_rows(api_url, sim, WEB, func="instances.fleio_bckps")
    assert row["name"]["$"] == "nightly"
    assert sim.instances[WEB].snapshots == []


def test_the_hundred_and_first_backup_is_refused(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].backups.extend(SimSnapshot(n, f"b{n}", "2025-01-15", 0.0) for n in range(100))
    doc = post(api_url, sim, func="instances.fleio_bckps.edit", plid=WEB, name="one-more", sok="ok")
    assert refusal(doc) == (
        "manual_created_total",
        "At most 100 backups can be kept; delete one before making another.",
    )


# Booting from an ISO.


def test_the_iso_form_offers_the_isos_by_zone_and_changes_nothing(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.fleio.boot_from_iso", elid=WEB)
    lists = {item["$name"]: item["val"] for item in doc["slist"]}
    assert [zone["$key"] for zone in lists["zone"]] == ["pub", "own"]
    assert {(iso["$key"], iso["$depend"]) for iso in lists["select_boot_from_iso"]} == {
        (key, zone) for key, _, zone in ISO_IMAGES
    }
    assert status(api_url, sim, WEB) == "active"
    assert sim.mutating_requests() == []


def test_an_iso_boot_as_the_panel_sends_it_passes_through_booting_from_iso(api_url: str, sim: Simulator) -> None:
    sim.transition_seconds = 3600
    doc = post(
        api_url,
        sim,
        func="instances.fleio.boot_from_iso",
        elid=WEB,
        sok="ok",
        clicked_button="ok",
        select_boot_from_iso=OWN_ISO,
        password="",
    )
    assert "error" not in doc, doc
    assert status(api_url, sim, WEB) == "booting_from_iso"


def test_an_iso_boot_ends_booted_from_iso(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="instances.fleio.boot_from_iso", elid=WEB, sok="ok", select_boot_from_iso=PUBLIC_ISO)
    assert status(api_url, sim, WEB) == "booted_from_iso"


def test_unrescue_leaves_the_iso(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="instances.fleio.boot_from_iso", elid=WEB, sok="ok", select_boot_from_iso=PUBLIC_ISO)
    assert "error" not in post(api_url, sim, func="instances.fleio.unrescue", elid=WEB)
    assert status(api_url, sim, WEB) == "active"
    assert sim.instances[WEB].rescue_image is None


def test_an_iso_of_another_zone_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(
        api_url, sim, func="instances.fleio.boot_from_iso", elid=WEB, sok="ok", select_boot_from_iso=OWN_ISO, zone="pub"
    )
    assert refusal(doc) == ("zone", "The ISO image does not belong to the selected zone.")
    assert status(api_url, sim, WEB) == "active"


def test_an_unknown_iso_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.fleio.boot_from_iso", elid=WEB, sok="ok", select_boot_from_iso="nope")
    assert refusal(doc) == ("select_boot_from_iso", "This ISO image is not available.")


def test_an_iso_boot_of_a_rescued_instance_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.fleio.boot_from_iso", elid=LEGACY, sok="ok", select_boot_from_iso=OWN_ISO)
    assert refusal(doc) == (
        "instance_status",
        "Cannot boot from an ISO: the instance is in state rescued; nothing was done. Leave that mode first.",
    )


# The root password.


def test_the_password_form_changes_nothing(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.fleio.changepassword", elid=WEB, password=GOOD_PASSWORD)
    assert doc["elid"]["$"] == str(WEB)
    assert sim.instances[WEB].root_password is None
    assert sim.mutating_requests() == []


def test_a_confirmed_password_change_sets_the_root_password(api_url: str, sim: Simulator) -> None:
    doc = post(
        api_url,
        sim,
        func="instances.fleio.changepassword",
        elid=WEB,
        password=GOOD_PASSWORD,
        sok="ok",
        clicked_button="ok",
    )
    assert "error" not in doc
    assert GOOD_PASSWORD not in json.dumps(doc)
    assert sim.instances[WEB].root_password == GOOD_PASSWORD
    assert [r.func for r in sim.mutating_requests()] == ["instances.fleio.changepassword"]


def test_the_root_password_is_not_in_the_instance_repr(api_url: str, sim: Simulator) -> None:
    post(api_url, sim, func="instances.fleio.changepassword", elid=WEB, password=GOOD_PASSWORD, sok="ok")
    assert GOOD_PASSWORD not in repr(sim.instances[WEB])


def test_a_password_change_of_a_windows_instance_is_refused(api_url: str, sim: Simulator) -> None:
    sim.instances[WEB].os_distro = "Windows Server"
    doc = post(api_url, sim, func="instances.fleio.changepassword", elid=WEB, password=GOOD_PASSWORD, sok="ok")
    assert refusal(doc) == (
        "password",
        "The password of a Windows instance cannot be changed here; set it from the console.",
    )
    assert sim.instances[WEB].root_password is None


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("stopped", "Cannot change the password: the instance is in state stopped; nothing was done."),
        (
            "rescued",
            "Cannot change the password: the instance is in state rescued; nothing was done. Leave that mode first.",
        ),
        ("suspended", "Cannot change the password: the instance is in state suspended; nothing was done."),
    ],
)
def test_a_password_change_is_refused_where_the_panel_offers_none(
    api_url: str, sim: Simulator, state: str, message: str
) -> None:
    sim.instances[WEB].status = state
    doc = post(api_url, sim, func="instances.fleio.changepassword", elid=WEB, password=GOOD_PASSWORD, sok="ok")
    assert refusal(doc) == ("instance_status", message)
    assert sim.instances[WEB].root_password is None


def test_a_weak_password_is_refused(api_url: str, sim: Simulator) -> None:
    doc = post(api_url, sim, func="instances.fleio.changepassword", elid=WEB, password="short", sok="ok")
    assert refusal(doc) == ("password", "The password does not meet the requirements; nothing was changed.")
