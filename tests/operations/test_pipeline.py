"""One pipeline for enter and exit (request → preview → approval → execute → settle), walked by the MCP tools,
approval and the CLI alike: the approval question's preview is the tool body's, and the CLI makes the calls an
MCP client's preview and confirmed call make.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.operations.pipeline import RESCUE, EnterRequest, ExitRequest
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator

from ..conftest import client_for, ok

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775
ENTER = {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True, "wait": False}


async def approve(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"instance_id": str(WEB)})


def form_reads(sim: Simulator) -> int:
    return sum(1 for r in sim.calls(RESCUE) if not r.mutating)


def state_reads(sim: Simulator) -> int:
    return len(sim.calls("instances"))


def api_calls(sim: Simulator) -> Counter[str]:
    """What was asked of the API, by function and whether it changes something (order aside: reads run together)."""
    return Counter(f"{r.func}{' (mutating)' if r.mutating else ''}" for r in sim.requests)


async def test_a_confirmed_enter_with_approval_reads_everything_again_after_the_answer(
    settings: Settings, sim: Simulator, tmp_path: Path
) -> None:
    approving = settings.but(require_approval="always", audit_log=str(tmp_path / "audit.jsonl"))
    seen_when_asked: list[tuple[int, int]] = []

    async def person(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen_when_asked.append((form_reads(sim), state_reads(sim)))
        return await approve(context, params)

    async with client_for(approving, "legacy", elicitation_callback=person) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
    assert seen_when_asked == [(1, 1)]  # the question's own preview
    assert (form_reads(sim), state_reads(sim)) == (2, 2)  # and the body's, read after the person answered
    assert len(sim.mutating_requests()) == 1


async def test_a_confirmed_exit_with_approval_reads_the_state_again_after_the_answer(
    settings: Settings, sim: Simulator, tmp_path: Path
) -> None:
    approving = settings.but(require_approval="always", audit_log=str(tmp_path / "audit.jsonl"))

    async def person(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"instance_id": str(LEGACY)})

    async with client_for(approving, "legacy", elicitation_callback=person) as client:
        data = ok(await client.call_tool("exit_rescue", {"instance_id": LEGACY, "confirm": True, "wait": False}))
    assert data["executed"] is True
    assert state_reads(sim) == 2


async def test_the_modern_era_reads_again_in_each_round_and_after_the_answer(
    settings: Settings, sim: Simulator, tmp_path: Path
) -> None:
    """The second round re-runs the resolver (the state may have changed meanwhile), and the body reads again."""
    approving = settings.but(require_approval="always", audit_log=str(tmp_path / "audit.jsonl"))
    async with client_for(approving, "auto", elicitation_callback=approve) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
    assert (form_reads(sim), state_reads(sim)) == (3, 3)


def test_the_cli_enter_makes_the_calls_of_an_mcp_preview_and_confirmation(
    settings: Settings, server_env: dict[str, str], sim: Simulator, restore_logging: None
) -> None:
    env = {k: v for k, v in server_env.items() if k != "ZOMRO_REQUIRE_PREVIEW"}  # the CLI runs with the rule on
    argv = ["enter", str(WEB), "--image", "Ubuntu 22.04", "--yes", "--no-wait", "--json"]
    assert main(argv, env={**env, "ZOMRO_LOG_LEVEL": "WARNING"}) == 0
    by_cli = api_calls(sim)
    sim.reset()

    async def preview_then_confirm() -> dict[str, Any]:
        async with client_for(settings.but(require_preview=True), "legacy") as client:
            preview = ok(await client.call_tool("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04"}))
            return ok(await client.call_tool("enter_rescue", {**ENTER, "preview_id": preview["preview_id"]}))

    assert anyio.run(preview_then_confirm)["executed"] is True
    assert by_cli == api_calls(sim)
    assert by_cli[f"{RESCUE} (mutating)"] == 1


def test_requests_are_equal_only_with_the_same_password_and_never_show_it() -> None:
    given = EnterRequest(WEB, "Ubuntu 22.04", None, "Rescue-Me-42")
    assert given != EnterRequest(WEB, "Ubuntu 22.04", None, "Rescue-Me-43")
    assert "Rescue-Me-42" not in repr(given)
    assert ExitRequest(WEB) == ExitRequest(WEB)
