"""repair_instance through the official MCP client, against the simulator's stand-in rescue system: the preview is
the exact diff and writes nothing, the confirm with its preview_id applies the fix once (the file backed up first),
and every other confirm (no id, a stale one, another's, a different fix, a declined approval, a lost answer, a second
confirm at the same time) leaves the disk model as it was or applies nothing twice.

The stand-in answers the product's own repair.sh from a model of the disk (simulator/disk_model.py), so the plan, the
apply and their SSH are the product's unchanged code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client

from zomro_rescue_mcp.rescue_system.repairs import REPAIRS
from zomro_rescue_mcp.simulator.disk_model import FSTAB

from ..conftest import client_for, error, logged, ok, text
from ..outcome import facts, kind
from ..person import Person
from .rescued import DB, STALE, WEB, World, audit_records, fresh, rescued, simulated

pytestmark = pytest.mark.anyio

ADD_NOFAIL_DIFF = (
    "--- a/etc/fstab\n"
    "+++ b/etc/fstab\n"
    "@@ -1,4 +1,4 @@\n"
    " # <file system> <mount point> <type> <options> <dump> <pass>\n"
    " UUID=87d0019f-b4d0-49d6-b821-bcfd81f4c1e4 / ext4 errors=remount-ro 0 1\n"
    "-UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2\n"
    "+UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults,nofail 0 2\n"
    " LABEL=backup /srv/backup ext4 defaults,nofail 0 2\n"
)
FIX = {"instance_id": WEB, "fix": "fstab.add_nofail", "target": STALE}


@pytest.fixture(scope="module")
def running() -> Iterator[World]:
    with simulated() as started:
        yield started


@pytest.fixture
def world(running: World) -> Iterator[World]:
    with fresh(running) as started:
        yield started


async def finding(client: Client) -> dict[str, Any]:
    """diagnose_instance's fstab.unknown_device finding of web-1."""
    found = ok(await client.call_tool("diagnose_instance", {"instance_id": WEB}))
    [stale] = [f for f in found["findings"] if f["kind"] == "fstab.unknown_device"]
    return dict(stale)


async def preview(client: Client, arguments: dict[str, Any] = FIX) -> dict[str, Any]:
    data = ok(await client.call_tool("repair_instance", arguments))
    assert (data["kind"], data["executed"]) == ("preview", False)
    return data


async def confirm(client: Client, preview_id: str | None, arguments: dict[str, Any] = FIX) -> types.CallToolResult:
    return await client.call_tool("repair_instance", {**arguments, "confirm": True, "preview_id": preview_id})


def untouched(world: World) -> bool:
    """The disk model as the recording shows it: the stale line as it was, and no backup."""
    disk = world.disk()
    return disk.backups == [] and disk.fstab is not None and f"\n{STALE}\n" in disk.fstab


async def test_the_preview_of_a_findings_fix_is_its_exact_diff_and_writes_nothing(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        stale = await finding(client)
        data = await preview(client, {"instance_id": WEB, "fix": stale["fix"], "target": stale["target"]})
    assert (stale["fix"], stale["target"]) == ("fstab.add_nofail", STALE)
    assert (data["diff"], data["files"], data["device"]) == (ADD_NOFAIL_DIFF, [FSTAB], "/dev/vdb1")
    assert isinstance(data["preview_id"], str)
    assert untouched(world)


async def test_the_confirm_with_its_preview_id_applies_the_fix_once_and_backs_the_file_up(
    world: World, era: str
) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        shown = await preview(client)
        data = ok(await confirm(client, shown["preview_id"]))
        after = ok(await client.call_tool("diagnose_instance", {"instance_id": WEB}))
    disk = world.disk()
    assert (data["kind"], data["executed"], data["problem_gone"]) == ("executed", True, True)
    assert (data["files_changed"], data["backups"]) == ([FSTAB], disk.backups)
    assert len(disk.backups) == 1
    assert disk.backups[0].startswith(f"{FSTAB}.zomro-rescue-")
    assert f"{STALE.replace('defaults', 'defaults,nofail')}\n" in (disk.fstab or "")
    assert "fstab.unknown_device" not in [f["kind"] for f in after["findings"]]


async def test_the_confirm_shows_the_backup_in_the_text_the_model_reads(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        result = await confirm(client, (await preview(client))["preview_id"])
    assert f"backups: {world.disk().backups[0]}" in text(result)


async def refused(result: types.CallToolResult) -> str:
    data = ok(result)
    assert (data["kind"], data["executed"], data["preview_id"]) == ("refused.preview_required", False, None)
    return str(data["preview_refusal"])


@pytest.mark.both_eras
async def test_a_confirm_without_a_preview_id_is_refused_and_writes_nothing(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        assert await refused(await confirm(client, None)) == "missing"
    assert untouched(world)


async def test_a_confirm_with_a_superseded_preview_id_is_refused_and_writes_nothing(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        older = (await preview(client))["preview_id"]
        await preview(client)
        assert await refused(await confirm(client, older)) == "superseded"
    assert untouched(world)


async def test_a_confirm_with_an_expired_preview_id_is_refused_and_writes_nothing(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as entering:
        password = await rescued(entering)
    async with client_for(world.settings(preview_ttl=1e-9), era) as client:
        ok(await client.call_tool("diagnose_instance", {"instance_id": WEB, "rescue_password": password}))
        assert await refused(await confirm(client, (await preview(client))["preview_id"])) == "expired"
    assert untouched(world)


async def test_a_confirm_with_another_instances_preview_id_is_refused_and_writes_nothing(
    world: World, era: str
) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        others = ok(await client.call_tool("enter_rescue", {"instance_id": DB, "image": "Debian 12"}))["preview_id"]
        assert await refused(await confirm(client, others)) == "different"
    assert untouched(world)


@pytest.mark.parametrize(
    "other",
    [
        {"fix": "fstab.comment_out"},
        {"target": "LABEL=backup /srv/backup ext4 defaults 0 2"},
    ],
    ids=["another fix", "another target"],
)
async def test_a_repair_preview_id_confirms_no_other_fix_or_target(
    world: World, era: str, other: dict[str, str]
) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        world.disk().files[FSTAB].content += b"LABEL=backup /srv/backup ext4 defaults 0 2\n"
        before = world.disk().fstab
        preview_id = (await preview(client))["preview_id"]
        assert await refused(await confirm(client, preview_id, {**FIX, **other})) == "different"
    assert (world.disk().fstab, world.disk().backups) == (before, [])


@pytest.mark.both_eras
async def test_the_approval_question_shows_the_exact_diff(world: World, era: str) -> None:
    person = Person("accept")
    async with client_for(world.settings(require_approval="always"), era, elicitation_callback=person) as client:
        await rescued(client)
        person.asked.clear()  # entering asked too
        data = ok(await confirm(client, (await preview(client))["preview_id"]))
    [question] = person.asked
    assert isinstance(question, types.ElicitRequestFormParams)
    for line in ADD_NOFAIL_DIFF.splitlines():
        assert line in question.message
    assert (data["executed"], data["approved_by"]) == (True, "person (elicitation)")


@pytest.mark.both_eras
async def test_a_declined_approval_changes_nothing(world: World, era: str) -> None:
    accepting = Person("accept")
    async with client_for(world.settings(require_approval="always"), era, elicitation_callback=accepting) as client:
        await rescued(client)
        accepting.action = "decline"
        result = await confirm(client, (await preview(client))["preview_id"])
    assert kind(result) == "refused.approval"
    assert "declined" in error(result)
    assert untouched(world)


async def test_a_fix_that_does_not_apply_is_refused_in_a_sentence_and_writes_nothing(world: World, era: str) -> None:
    absent = "UUID=0badc0de-0000-4000-8000-00000000ffff /srv/none ext4 defaults 0 2"
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        result = await client.call_tool("repair_instance", {**FIX, "target": absent})
    assert kind(result) == "rescue.repair_refused"
    assert error(result) == (
        f"No line of /etc/fstab is {absent!r} or mounts it; diagnose again and use the line a finding names. "
        "Nothing was changed."
    )
    assert untouched(world)


async def test_an_unknown_fix_is_refused_with_the_list_of_fixes(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        sentence = error(await client.call_tool("repair_instance", {**FIX, "fix": "fstab.make_it_work"}))
    assert "There is no fix 'fstab.make_it_work'" in sentence
    assert all(fix in sentence for fix in REPAIRS)
    assert untouched(world)


async def test_a_weak_root_password_is_refused_as_the_root_password_it_is(world: World, era: str) -> None:
    arguments = {"instance_id": WEB, "fix": "account.set_root_password", "password": "short"}
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        result = await client.call_tool("repair_instance", arguments)
    assert kind(result) == "invalid.password"
    assert error(result).startswith("The root password was refused before anything was sent: it must be 8 to 48")
    assert "rescue password" not in error(result)
    assert "short" not in error(result)


async def test_a_repair_of_an_instance_not_in_rescue_mode_is_refused(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        result = await client.call_tool("repair_instance", FIX)
    assert kind(result) == "refused.not_in_rescue"
    assert "enter rescue mode first (enter_rescue)" in error(result)


@pytest.mark.both_eras
async def test_read_only_mode_neither_lists_nor_runs_the_rescue_tools(world: World, era: str) -> None:
    async with client_for(world.settings(read_only=True), era) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("repair_instance", {**FIX, "confirm": True})
    assert {"repair_instance", "run_in_rescue"} & names == set()
    assert "repair_instance is not offered: this server runs in read-only mode (ZOMRO_READ_ONLY)" in error(result)


async def test_the_allowlist_refuses_a_repair_of_another_instance(world: World, era: str) -> None:
    async with client_for(world.settings(allowed_instances=frozenset({DB})), era) as client:
        result = await client.call_tool("repair_instance", FIX)
    assert (kind(result), facts(result)["instance_id"]) == ("refused.allowlist", WEB)


async def test_the_audit_trail_has_the_fix_its_files_and_verdict_and_never_the_password(
    world: World, era: str, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    async with client_for(world.settings(audit_log=str(audit)), era) as client:
        password = await rescued(client)
        ok(await confirm(client, (await preview(client))["preview_id"]))
    records = [r for r in audit_records(audit) if r.get("tool") == "repair_instance"]
    done = records[-1]
    assert (done["fix"], done["target"], done["files"]) == ("fstab.add_nofail", STALE, [FSTAB])
    assert (done["files_changed"], done["backups"], done["verdict"]) == ([FSTAB], world.disk().backups, "problem_gone")
    assert password not in audit.read_text(encoding="utf-8")


async def test_a_lost_answer_is_outcome_unknown_and_the_fix_is_applied_once(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        shown = await preview(client)
        world.stand_in.lose_answers = 1
        result = await confirm(client, shown["preview_id"])
    assert kind(result) == "outcome_unknown"
    assert "diagnose again" in error(result)
    assert len(world.disk().backups) == 1  # made once, never sent again


async def test_the_audit_trail_records_a_lost_answer_as_outcome_unknown(world: World, era: str, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    async with client_for(world.settings(audit_log=str(audit)), era) as client:
        await rescued(client)
        shown = await preview(client)
        world.stand_in.lose_answers = 1
        await confirm(client, shown["preview_id"])
    [intent, outcome] = [r for r in audit_records(audit) if r.get("tool") == "repair_instance" and r["confirmed"]]
    assert (intent["phase"], intent["result"]) == ("intent", "pending")
    assert (outcome["phase"], outcome["result"], outcome["fix"]) == ("outcome", "outcome_unknown", "fstab.add_nofail")


async def test_a_second_confirm_while_the_first_runs_is_refused_as_busy(world: World, era: str) -> None:
    async with client_for(world.settings(require_preview=False), era) as client:
        await rescued(client)
        world.stand_in.hold_writes = held = threading.Event()
        results: list[types.CallToolResult] = []
        with logged("repair fstab.add_nofail on instance") as applying:
            async with anyio.create_task_group() as group:

                async def first() -> None:
                    results.append(await confirm(client, None))

                group.start_soon(first)
                with anyio.fail_after(15):
                    await applying.wait()
                second = await confirm(client, None)
                held.set()
    assert kind(second) == "refused.busy"
    assert ok(results[0])["problem_gone"] is True
    assert len(world.disk().backups) == 1


async def test_leaving_rescue_mode_while_a_repair_runs_is_refused_as_busy(world: World, era: str) -> None:
    async with client_for(world.settings(require_preview=False), era) as client:
        await rescued(client)
        world.stand_in.hold_writes = held = threading.Event()
        with logged("repair fstab.add_nofail on instance") as applying:
            async with anyio.create_task_group() as group:
                group.start_soon(confirm, client, None)
                with anyio.fail_after(15):
                    await applying.wait()
                leaving = await client.call_tool("exit_rescue", {"instance_id": WEB, "confirm": True})
                held.set()
    assert kind(leaving) == "refused.busy"
    assert world.sim.instances[WEB].status == "rescued"
