"""The audit trail: one line per attempt (two for a confirmed one), written before sending, never a secret."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from zomro_rescue_mcp.operations.audit import AuditTrail
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, Fault, Simulator

from ..conftest import call, cancel_once_watching, client_for, error, logged, ok, stdio_server

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def audited(settings: Settings, audit_path: Path) -> Settings:
    return settings.but(audit_log=str(audit_path))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_a_preview_is_one_line_with_the_image_and_no_secret(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    async with client_for(audited, era) as client:
        ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password="Typed-Secret-77"))
    [record] = lines(audit_path)
    assert record["tool"] == "enter_rescue"
    assert record["instance_id"] == WEB
    assert (record["image_id"], record["zone"]) == ("f8f2573f-56c4-44c5-8469-84eee4aa64e7", "pub")
    assert (record["confirmed"], record["approval"], record["phase"], record["result"]) == (
        False,
        "not_required",
        "single",
        "preview",
    )
    assert record["time"].endswith("Z")
    assert isinstance(record["duration_ms"], int)
    assert len(record["request_id"]) == 12
    assert "Typed-Secret-77" not in audit_path.read_text(encoding="utf-8")


async def test_a_confirmed_request_is_recorded_before_it_is_sent_and_after(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    async with client_for(audited, era) as client:
        data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    intent, outcome = lines(audit_path)
    assert (intent["phase"], intent["result"], intent["confirmed"]) == ("intent", "pending", True)
    assert (outcome["phase"], outcome["result"]) == ("outcome", "executed")
    assert intent["request_id"] == outcome["request_id"]
    assert data["password"] not in audit_path.read_text(encoding="utf-8")


async def test_a_refusal_is_recorded_with_its_reason(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    async with client_for(audited, era) as client:
        error(
            await call(
                client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password="bad pass #1", confirm=True
            )
        )
        error(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    bad_password, not_rescued = lines(audit_path)
    assert (bad_password["result"], bad_password["error_type"]) == ("refused", "InvalidRequestError")
    assert (not_rescued["result"], not_rescued["error_type"]) == ("refused", "StateConflictError")
    assert "bad pass #1" not in audit_path.read_text(encoding="utf-8")


async def test_an_api_error_is_recorded_with_its_type_and_message(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    sim.inject(Fault("session_expired", mutating=True, times=5))
    async with client_for(audited, era) as client:
        error(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
    _intent, outcome = lines(audit_path)
    assert outcome["result"] == "api_error"
    assert (outcome["error_type"], outcome["error_object"]) == ("access", "instances.fleio.unrescue")
    assert "Insufficient privileges" in outcome["error"]


async def test_a_lost_answer_is_recorded_as_outcome_unknown_without_the_password(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=5))
    async with client_for(audited, era) as client:
        error(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    _intent, outcome = lines(audit_path)
    assert outcome["result"] == "outcome_unknown"
    [sent] = sim.mutating_requests()
    assert sent.fields["password"] not in audit_path.read_text(encoding="utf-8")


async def test_the_file_is_created_private(audited: Settings, audit_path: Path, era: str) -> None:
    async with client_for(audited, era):
        pass
    assert stat.S_IMODE(os.stat(audit_path).st_mode) == 0o600


async def test_a_confirmed_call_whose_record_cannot_be_written_is_refused(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    async with client_for(audited, era) as client:
        audit_path.unlink()
        audit_path.mkdir()  # the path is now a folder: appending fails, even for root
        message = error(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert "refused and nothing was sent: the audit trail" in message
    assert "ZOMRO_AUDIT_LOG" in message
    assert sim.mutating_requests() == []


async def preview_exit(client: Any) -> None:
    ok(await call(client, "exit_rescue", instance_id=LEGACY))


async def test_concurrent_attempts_never_interleave(audited: Settings, audit_path: Path, sim: Simulator) -> None:
    async with client_for(audited, "legacy") as client, anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(preview_exit, client)
    records = lines(audit_path)
    assert len(records) == 20
    assert len({r["request_id"] for r in records}) == 20


@pytest.mark.heavy  # many seconds: make test-heavy
@pytest.mark.e2e
async def test_the_request_id_also_appears_in_the_servers_log(
    server_env: dict[str, str], audit_path: Path, sim: Simulator, era: str
) -> None:
    token = sim.new_session()
    env = {**server_env, "ZOMRO_AUDIT_LOG": str(audit_path), "ZOMRO_AUTH_TOKEN": token}
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(env, era, errlog) as client:
            ok(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
        errlog.seek(0)
        stderr = errlog.read()
    intent, _outcome = lines(audit_path)
    assert f"[req={intent['request_id']}]" in stderr
    text = audit_path.read_text(encoding="utf-8")
    assert token not in text
    assert DEMO_PASSWORD not in text


async def test_refused_passwords_never_mask_the_records(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    async with client_for(audited, era) as client:
        for typed in (":true,", "5203775", "enter_rescue"):
            error(await call(client, "enter_rescue", instance_id=LEGACY, image="Ubuntu 22.04", password=typed))
        error(await call(client, "enter_rescue", instance_id=LEGACY, image="Ubuntu 22.04"))
    records = lines(audit_path)  # every line still parses
    assert [r["instance_id"] for r in records] == [LEGACY] * 4
    assert {r["tool"] for r in records} == {"enter_rescue"}


def test_a_file_that_existed_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("", encoding="utf-8")
    path.chmod(0o644)
    AuditTrail(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_writes_from_many_threads_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(str(path))
    record = {"request_id": "x", "error": "y" * 5000}

    def write_many() -> None:
        for _ in range(50):
            trail.write(record)

    threads = [threading.Thread(target=write_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lines(path) == [record] * 400


def test_a_home_relative_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    trail = AuditTrail("~/audit.jsonl")
    assert trail.path == str(tmp_path / "audit.jsonl")
    assert (tmp_path / "audit.jsonl").exists()


@pytest.mark.both_eras
async def test_a_cancel_while_watching_is_recorded_as_executed(
    audited: Settings, audit_path: Path, sim: Simulator, era: str
) -> None:
    sim.transition_seconds = 30
    with logged(f"exit_rescue confirmed on instance {LEGACY} of account default: executed") as recorded:
        async with client_for(audited, era) as client:
            await cancel_once_watching(client, "exit_rescue", {"instance_id": LEGACY, "confirm": True})
            with anyio.fail_after(10):  # the server's log line comes with its record, in the same step
                await recorded.wait()
    _intent, outcome = lines(audit_path)
    assert outcome["result"] == "executed"
