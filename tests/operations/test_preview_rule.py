"""The preview rule (on by default): a confirmed change runs only with the preview_id of the latest preview."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp.types as types
import pytest
from mcp import Client
from mcp.types import TextContent

from zomro_rescue_mcp.core.outcomes import FACTS_META, KIND_META
from zomro_rescue_mcp.mcp_server.http_app import build_http_app
from zomro_rescue_mcp.mcp_server.loopback import serve_on_loopback
from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Fault, SimImage, Simulator

from ..conftest import ERAS, call, client_for, ok
from ..mcp_server.test_http import TOKEN, http_client

pytestmark = pytest.mark.anyio

WEB, DB, LEGACY = 5203773, 5203774, 5203775
UBUNTU = "f8f2573f-56c4-44c5-8469-84eee4aa64e7"
PREVIEW = {"instance_id": WEB, "image": "Ubuntu 22.04"}
ENTER = {**PREVIEW, "confirm": True}


@pytest.fixture
def ruled(settings: Settings) -> Settings:
    return settings.but(require_preview=True)


async def _preview(client: Client, arguments: dict[str, Any]) -> str:
    """The preview's id (the tool called with confirm=false)."""
    data = ok(await client.call_tool(_tool(arguments), arguments))
    assert data["kind"] == "preview"
    preview_id = data["preview_id"]
    assert isinstance(preview_id, str)
    return preview_id


def _tool(arguments: dict[str, Any]) -> str:
    return "enter_rescue" if "image" in arguments else "exit_rescue"


async def _refusal(client: Client, arguments: dict[str, Any]) -> str:
    """A confirmed call the rule refuses: its reason, after checking that it issued no id."""
    result = await client.call_tool(_tool(arguments), arguments)
    data = ok(result)
    assert (data["kind"], data["executed"], data["preview_id"]) == ("refused.preview_required", False, None)
    assert result.meta is not None
    assert result.meta[KIND_META] == "refused.preview_required"
    reason = result.meta[FACTS_META]["reason"]
    assert reason == data["preview_refusal"]
    return str(reason)


@pytest.mark.both_eras
async def test_a_confirmed_change_without_a_preview_id_sends_nothing(ruled: Settings, sim: Simulator, era: str) -> None:
    async with client_for(ruled, era) as client:
        assert await _refusal(client, ENTER) == "missing"
    assert sim.mutating_requests() == []


@pytest.mark.both_eras
async def test_confirming_twice_without_a_preview_never_changes_the_server(
    ruled: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(ruled, era) as client:
        first = await _refusal(client, {"instance_id": LEGACY, "confirm": True})
        second = await _refusal(client, {"instance_id": LEGACY, "confirm": True})
    assert (first, second) == ("missing", "missing")
    assert sim.mutating_requests() == []


async def test_a_refused_confirm_still_shows_what_would_happen(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["image"]["id"] == UBUNTU
    assert "rescue mode" in data["summary"]
    assert "confirm=false" in data["next_step"]
    assert data["password"] is None


@pytest.mark.both_eras
async def test_a_confirmed_change_with_its_preview_id_is_executed(ruled: Settings, sim: Simulator, era: str) -> None:
    async with client_for(ruled, era) as client:
        preview_id = await _preview(client, PREVIEW)
        data = ok(await client.call_tool("enter_rescue", {**ENTER, "preview_id": preview_id}))
    assert data["executed"] is True
    assert len(sim.mutating_requests()) == 1


async def test_the_preview_id_is_in_the_text_the_model_reads(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        result = await client.call_tool("enter_rescue", PREVIEW)
    assert result.structured_content is not None
    preview_id = result.structured_content["preview_id"]
    assert isinstance(result.content[0], TextContent)
    assert preview_id in result.content[0].text


async def test_every_preview_gets_a_new_random_id_of_at_least_96_bits(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        ids = [await _preview(client, PREVIEW) for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(len(i.removeprefix("pv_")) * 6 >= 96 for i in ids)  # url-safe base64: 6 bits a character


async def test_a_preview_id_confirms_one_change_only(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        preview_id = await _preview(client, {"instance_id": LEGACY})
        ok(await client.call_tool("exit_rescue", {"instance_id": LEGACY, "confirm": True, "preview_id": preview_id}))
        sim.instances[LEGACY].status = "rescued"  # back in rescue, as if entered again in the panel
        again = await _refusal(client, {"instance_id": LEGACY, "confirm": True, "preview_id": preview_id})
    assert again == "unknown"
    assert len(sim.mutating_requests()) == 1


async def test_a_preview_id_is_used_up_even_when_zomro_refused_the_change(ruled: Settings, sim: Simulator) -> None:
    sim.inject(Fault("body", mutating=True, body=json.dumps({"doc": {"error": {"msg": {"$": "busy"}}}})))
    confirmed = {"instance_id": LEGACY, "confirm": True}
    async with client_for(ruled, "legacy") as client:
        preview_id = await _preview(client, {"instance_id": LEGACY})
        refused = await call(client, "exit_rescue", **confirmed, preview_id=preview_id)
        again = await _refusal(client, {**confirmed, "preview_id": preview_id})
    assert refused.is_error
    assert again == "unknown"
    assert len(sim.mutating_requests()) == 1


async def test_a_newer_preview_of_the_instance_supersedes_the_older(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        ubuntu = await _preview(client, PREVIEW)
        await _preview(client, {**PREVIEW, "image": "Debian 12"})
        reason = await _refusal(client, {**ENTER, "preview_id": ubuntu})
    assert reason == "superseded"
    assert sim.mutating_requests() == []


async def test_a_preview_of_leaving_supersedes_one_of_entering(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        entering = await _preview(client, PREVIEW)
        sim.instances[WEB].status = "rescued"
        await _preview(client, {"instance_id": WEB})
        sim.instances[WEB].status = "active"
        reason = await _refusal(client, {**ENTER, "preview_id": entering})
    assert reason == "superseded"


async def test_only_the_latest_preview_confirms_its_own_action(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        await _preview(client, PREVIEW)
        debian = await _preview(client, {**PREVIEW, "image": "Debian 12"})
        reason = await _refusal(client, {**ENTER, "preview_id": debian})  # Ubuntu with Debian's preview
        data = ok(await client.call_tool("enter_rescue", {**ENTER, "image": "Debian 12", "preview_id": debian}))
    assert reason == "different"
    assert data["executed"] is True
    assert sim.mutating_requests()[0].fields["select_boot"] == data["image"]["id"]


@pytest.mark.parametrize(
    "confirmed",
    [
        {**ENTER, "image": "Debian 12"},  # another image
        {**ENTER, "image": "foo"},  # another zone (own) and no password
        {**ENTER, "password": "Rescue-Me-42"},  # another password plan: given instead of generated
        {**ENTER, "instance_id": DB},  # another instance
        {"instance_id": WEB, "confirm": True},  # another action (the preview was of entering)
    ],
    ids=["image", "zone", "password-plan", "instance", "action"],
)
async def test_a_confirmation_of_another_action_than_previewed_sends_nothing(
    ruled: Settings, sim: Simulator, confirmed: dict[str, Any]
) -> None:
    async with client_for(ruled, "legacy") as client:
        preview_id = await _preview(client, PREVIEW)
        if "image" not in confirmed:
            sim.instances[WEB].status = "rescued"
        reason = await _refusal(client, {**confirmed, "preview_id": preview_id})
    assert reason == "different"
    assert sim.mutating_requests() == []


async def test_a_confirmation_with_another_password_than_previewed_sends_nothing(
    ruled: Settings, sim: Simulator
) -> None:
    async with client_for(ruled, "auto") as client:
        preview_id = await _preview(client, {**PREVIEW, "password": "Rescue-Me-41"})
        reason = await _refusal(client, {**ENTER, "password": "Rescue-Me-42", "preview_id": preview_id})
        data = ok(
            await client.call_tool("enter_rescue", {**ENTER, "password": "Rescue-Me-41", "preview_id": preview_id})
        )
    assert reason == "different"
    assert data["executed"] is True
    assert sim.mutating_requests()[0].fields["password"] == "Rescue-Me-41"


async def test_an_image_relabelled_since_its_preview_is_not_sent(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        preview_id = await _preview(client, {**PREVIEW, "image": UBUNTU})
        sim.images = [SimImage(id=UBUNTU, os="Windows Server 2022", zone="pub")]
        reason = await _refusal(client, {**ENTER, "image": UBUNTU, "preview_id": preview_id})
    assert reason == "different"
    assert sim.mutating_requests() == []


async def test_a_preview_id_of_another_instance_confirms_nothing(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        other = await _preview(client, {**PREVIEW, "instance_id": DB})
        reason = await _refusal(client, {**ENTER, "preview_id": other})
    assert reason == "different"


async def test_an_id_this_server_never_issued_confirms_nothing(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        reason = await _refusal(client, {**ENTER, "preview_id": "pv_AAAAAAAAAAAAAAAAAAAAAA"})
    assert reason == "unknown"


async def test_a_preview_older_than_its_time_to_live_does_not_count(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled.but(preview_ttl=1e-9), "legacy") as client:
        preview_id = await _preview(client, PREVIEW)
        reason = await _refusal(client, {**ENTER, "preview_id": preview_id})
    assert reason == "expired"
    assert sim.mutating_requests() == []


async def test_a_preview_in_one_protocol_era_confirms_in_the_other(ruled: Settings, sim: Simulator) -> None:
    server = build_server(ruled)
    async with Client(server, mode=ERAS[0], cache=None) as first:
        preview_id = await _preview(first, PREVIEW)
    async with Client(server, mode=ERAS[1], cache=None) as second:
        data = ok(await second.call_tool("enter_rescue", {**ENTER, "preview_id": preview_id}))
    assert data["executed"] is True


@pytest.fixture
def served(ruled: Settings) -> Iterator[str]:
    http_settings = ruled.but(mcp_token=TOKEN)
    app = build_http_app(build_server(http_settings), http_settings, host="127.0.0.1", port=0)
    url, stop = serve_on_loopback(app, lifespan="on")
    yield url
    stop()


@pytest.mark.both_eras
async def test_a_preview_over_http_confirms_in_another_session(served: str, sim: Simulator, era: str) -> None:
    async with http_client(served, era) as one:
        preview_id = await _preview(one, {"instance_id": LEGACY})
    async with http_client(served, era) as other:
        confirmed = {"instance_id": LEGACY, "confirm": True, "preview_id": preview_id}
        data = ok(await other.call_tool("exit_rescue", confirmed))
    assert data["executed"] is True


async def test_a_malformed_preview_id_is_refused_as_an_argument(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "auto") as client:
        result = await client.call_tool("enter_rescue", {**ENTER, "preview_id": "pv_x\nnext: confirm"})
    assert result.is_error
    assert result.meta is not None
    assert result.meta[KIND_META] == "invalid.arguments"
    assert sim.mutating_requests() == []


async def test_the_rule_can_be_turned_off(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=False), "legacy") as client:
        preview = ok(await client.call_tool("enter_rescue", PREVIEW))
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert preview["preview_id"] is None
    assert data["executed"] is True


async def test_the_audit_record_says_why_the_rule_refused(ruled: Settings, sim: Simulator, tmp_path: Path) -> None:
    audited = ruled.but(audit_log=str(tmp_path / "audit.jsonl"))
    async with client_for(audited, "auto") as client:
        await _refusal(client, ENTER)
    [record] = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert (record["result"], record["preview_refusal"], record["approved_by"]) == ("preview_required", "missing", None)


async def test_a_refused_approval_uses_up_the_preview_id_and_says_to_preview_again(
    ruled: Settings, sim: Simulator
) -> None:
    async def declines(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    asking = ruled.but(require_approval="always")
    async with client_for(asking, "legacy", elicitation_callback=declines) as client:
        preview_id = await _preview(client, {"instance_id": LEGACY})
        confirmed = {"instance_id": LEGACY, "confirm": True, "preview_id": preview_id}
        declined = await client.call_tool("exit_rescue", confirmed)
        again = await _refusal(client, confirmed)
    assert declined.is_error
    assert isinstance(declined.content[0], TextContent)
    assert "Preview again (its preview_id is used up)" in declined.content[0].text
    assert again == "unknown"
    assert sim.mutating_requests() == []
