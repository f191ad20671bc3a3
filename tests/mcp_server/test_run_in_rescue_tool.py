"""run_in_rescue through the official MCP client, against the simulator's stand-in rescue system: the preview names
the exact command and where it would run (the root it finds, read-only) and runs nothing; a confirm needs the
preview's id; read-only mode does not offer it. The stand-in runs no command: its confirm says so in a sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mcp.types as types
import pytest
from mcp import Client

from zomro_rescue_mcp.simulator.disk_model import DiskModel

from ..conftest import client_for, error, ok, text
from ..outcome import kind
from .rescued import STALE, WEB, World, fresh, rescued, simulated

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]  # many seconds: make test-heavy

COMMAND = "apt-get -y install --reinstall openssh-server"
RUN = {"instance_id": WEB, "command": COMMAND}


@pytest.fixture(scope="module")
def running() -> Iterator[World]:
    with simulated() as started:
        yield started


@pytest.fixture
def world(running: World) -> Iterator[World]:
    with fresh(running) as started:
        yield started


def as_recorded(disk: DiskModel) -> bool:
    """Nothing written on the disk model: the stale line as it was, and no backup."""
    return disk.backups == [] and f"\n{STALE}\n" in (disk.fstab or "")


async def preview(client: Client, arguments: dict[str, Any] = RUN) -> types.CallToolResult:
    result = await client.call_tool("run_in_rescue", arguments)
    data = ok(result)
    assert (data["kind"], data["executed"]) == ("preview", False)
    return result


@pytest.mark.parametrize(
    ("chroot", "where"),
    [(True, "chroot in /dev/vdb1"), (False, "rescue system; root at /mnt/zomro-root: /dev/vdb1")],
    ids=["chroot", "rescue system"],
)
async def test_the_preview_shows_the_exact_command_and_where_it_runs_and_runs_nothing(
    world: World, era: str, chroot: bool, where: str
) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        result = await preview(client, {**RUN, "chroot": chroot})
    data = ok(result)
    assert (data["command"], data["chroot"], data["device"], data["timeout_s"]) == (COMMAND, chroot, "/dev/vdb1", 60)
    assert data["summary"].startswith(f"Runs `{COMMAND}` ")
    assert isinstance(data["preview_id"], str)
    assert f"command: {COMMAND}" in text(result)
    assert f"runs: {where}" in text(result)
    assert as_recorded(world.disk())


@pytest.mark.both_eras
async def test_a_confirm_without_a_preview_id_is_refused(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        data = ok(await client.call_tool("run_in_rescue", {**RUN, "confirm": True}))
    assert (data["kind"], data["executed"], data["preview_refusal"]) == ("refused.preview_required", False, "missing")
    assert as_recorded(world.disk())


async def test_a_preview_id_of_another_command_confirms_nothing(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        preview_id = ok(await preview(client))["preview_id"]
        data = ok(
            await client.call_tool(
                "run_in_rescue", {**RUN, "command": "true", "confirm": True, "preview_id": preview_id}
            )
        )
    assert (data["kind"], data["preview_refusal"]) == ("refused.preview_required", "different")


async def test_a_preview_id_confirms_the_same_command_in_the_chroot_only(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        preview_id = ok(await preview(client))["preview_id"]
        data = ok(
            await client.call_tool("run_in_rescue", {**RUN, "chroot": False, "confirm": True, "preview_id": preview_id})
        )
    assert (data["kind"], data["preview_refusal"]) == ("refused.preview_required", "different")


@pytest.mark.both_eras
async def test_read_only_mode_does_not_offer_run_in_rescue(world: World, era: str) -> None:
    async with client_for(world.settings(read_only=True), era) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("run_in_rescue", {**RUN, "confirm": True})
    assert "run_in_rescue" not in names
    assert "run_in_rescue is not offered: this server runs in read-only mode (ZOMRO_READ_ONLY)" in error(result)


async def test_the_stand_in_does_not_run_a_confirmed_command_and_says_so(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        preview_id = ok(await preview(client))["preview_id"]
        result = await client.call_tool("run_in_rescue", {**RUN, "confirm": True, "preview_id": preview_id})
    sentence = error(result)
    assert kind(result) == "rescue.script_failed"
    assert "does not emulate the repair mode 'run'" in sentence
    assert "nothing was run" in sentence
    assert as_recorded(world.disk())


@pytest.mark.both_eras
async def test_the_approval_question_shows_the_exact_command_and_where(world: World, era: str) -> None:
    asked: list[types.ElicitRequestParams] = []

    async def person(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        """Approves the first question (entering rescue mode), declines the next."""
        asked.append(params)
        if len(asked) == 1:
            return types.ElicitResult(action="accept", content={"instance_id": str(WEB)})
        return types.ElicitResult(action="decline")

    settings = world.settings(require_approval="always", require_preview=False)
    async with client_for(settings, era, elicitation_callback=person) as client:
        await rescued(client)
        result = await client.call_tool("run_in_rescue", {**RUN, "confirm": True})
    [_, question] = asked
    assert f"$ {COMMAND}" in question.message
    assert "(/dev/vdb1), chrooted" in question.message
    assert kind(result) == "refused.approval"


async def test_a_command_of_an_instance_not_in_rescue_mode_is_refused(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        result = await client.call_tool("run_in_rescue", RUN)
    assert kind(result) == "refused.not_in_rescue"


async def test_a_command_of_two_lines_is_refused_in_a_sentence(world: World, era: str) -> None:
    async with client_for(world.settings(), era) as client:
        await rescued(client)
        result = await client.call_tool("run_in_rescue", {**RUN, "command": "true\nreboot"})
    assert "command must be one line" in error(result)
    assert "nothing was run" in error(result)


@pytest.mark.parametrize("limit", [True, 2.5, "60"], ids=["true", "a fraction", "a string"])
async def test_a_time_limit_that_is_not_a_whole_number_is_refused(world: World, era: str, limit: object) -> None:
    async with client_for(world.settings(), era) as client:
        result = await client.call_tool("run_in_rescue", {**RUN, "timeout_s": limit})
    assert "run_in_rescue was not run because its arguments are invalid (timeout_s: " in error(result)
