"""The installed console script over stdio, both protocol eras: the same behaviour, and no secret anywhere."""

from __future__ import annotations

import json
import tempfile

import pytest
from mcp.types import CallToolResult

from zomro_rescue_mcp.simulator import DEMO_PASSWORD, Simulator

from ..conftest import call, error, ok, stdio_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]  # the installed console script over stdio

WEB = 5203773


@pytest.mark.heavy  # the listing itself is tested in process (test_tool_listing.py); this is it once more over stdio
async def test_stdio_lists_the_tools_with_annotations(server_env: dict[str, str], era: str) -> None:
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(server_env, era, errlog) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {
        "list_instances",
        "list_rescue_images",
        "diagnose_instance",
        "check_instance",
        "enter_rescue",
        "exit_rescue",
        "repair_instance",
        "run_in_rescue",
        "power_instance",
        "list_snapshots",
        "create_snapshot",
    }
    assert tools["enter_rescue"].annotations is not None
    assert tools["enter_rescue"].annotations.destructive_hint is True


@pytest.mark.heavy  # end to end: make test-heavy
async def test_stdio_preview_then_confirmed_enter_then_exit(
    server_env: dict[str, str], sim: Simulator, era: str
) -> None:
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(server_env, era, errlog) as client:
            preview = ok(await call(client, "enter_rescue", instance_id=WEB, image="Debian 12"))
            assert preview["executed"] is False
            assert sim.mutating_requests() == []
            done = ok(await call(client, "enter_rescue", instance_id=WEB, image="Debian 12", confirm=True))
            assert done["executed"] is True
            assert sim.instances[WEB].status == "rescued"
            ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert sim.instances[WEB].status == "active"
    assert [r.fields["func"] for r in sim.mutating_requests()] == ["instances.fleio.rescue", "instances.fleio.unrescue"]


@pytest.mark.heavy  # the refusals are tested in process; this is them once more over stdio
async def test_stdio_refusals_are_sentences(server_env: dict[str, str], sim: Simulator, era: str) -> None:
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(server_env, era, errlog) as client:
            message = error(await call(client, "enter_rescue", instance_id=WEB, image="Windows 95", confirm=True))
    assert "No rescue image 'Windows 95' is offered" in message
    assert sim.mutating_requests() == []


@pytest.mark.heavy  # end to end: make test-heavy
@pytest.mark.both_eras
async def test_stdio_discovery_then_progress_while_rescuing(
    server_env: dict[str, str], sim: Simulator, era: str
) -> None:
    sim.transition_seconds = 0.3
    seen: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    env = {**server_env, "ZOMRO_POLL_INTERVAL": "1"}
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(env, era, errlog) as client:
            found = ok(await call(client, "list_instances", query="WEB"))
            [web] = found["instances"]
            done = ok(
                await client.call_tool(
                    "enter_rescue",
                    {"instance_id": web["id"], "image": "Ubuntu 22.04", "confirm": True},
                    progress_callback=progress,
                )
            )
    assert web["id"] == WEB
    assert (done["wait"], done["status"]) == ("reached", "rescued")
    assert seen[0].startswith("rescuing after")
    assert seen[-1].startswith("rescued after")


def _dump(results: list[CallToolResult]) -> str:
    return "\n".join(r.model_dump_json() for r in results)


@pytest.mark.heavy  # end to end: make test-heavy
@pytest.mark.both_eras
async def test_no_secret_reaches_results_stderr_or_urls(server_env: dict[str, str], sim: Simulator, era: str) -> None:
    token = sim.new_session()
    env = {**server_env, "ZOMRO_AUTH_TOKEN": token}
    typed_password = "Typed-By-Person-77"
    results: list[CallToolResult] = []
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(env, era, errlog) as client:
            results.append(await call(client, "list_rescue_images", instance_id=WEB))
            sim.expire_sessions()  # forces a login with the account password
            results.append(
                await call(
                    client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password=typed_password, confirm=True
                )
            )
            results.append(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
            results.append(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
            results.append(
                await call(
                    client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password="bad pass #1", confirm=True
                )
            )
        errlog.seek(0)
        stderr = errlog.read()
    generated = json.loads(results[3].model_dump_json())["structured_content"]["password"]
    sessions = {r.fields["auth"] for r in sim.requests if "auth" in r.fields}
    assert len(sessions) == 2  # the configured token and the one from the login
    assert "auth" in {r.func for r in sim.requests}
    secrets = {token, DEMO_PASSWORD, typed_password, "bad pass #1", *sessions}
    output = _dump(results)
    for secret in secrets:
        assert secret not in output
        assert secret not in stderr
    assert generated not in stderr  # shown once, to the person, in the result only
    assert "entering rescue" in stderr  # the log is there, just masked
    for request in sim.requests:
        assert request.query == {}
