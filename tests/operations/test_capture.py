"""The support capture (`doctor --capture`) and its replay: reads only, nothing personal survives, shapes kept."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.operations.capture import Redactor
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    TOTP_SECRET,
    TOTP_USERNAME,
    Simulator,
    run_on_loopback,
)
from zomro_rescue_mcp.simulator.replay import load_capture, replay

from ..conftest import call, ok

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB = 5203773


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    return {**server_env, "ZOMRO_LOG_LEVEL": "WARNING"}


@pytest.fixture
def captured(env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    sim.instances[WEB].ip_v6 = "2a01:4f8:c17:b8f::2"
    path = tmp_path / "capture.json"
    assert main(["doctor", "--capture", str(path), "--instance", str(WEB)], env=env) == 0
    return path


def test_the_capture_sends_only_reads(captured: Path, sim: Simulator) -> None:
    assert sim.mutating_requests() == []
    assert all("sok" not in r.fields for r in sim.requests)
    recorded = [a["func"] for a in json.loads(captured.read_text(encoding="utf-8"))["answers"]]
    assert recorded == ["whoami", "instances", "instances.filter", "instances.edit", "instances.fleio.rescue"]


def test_the_capture_file_is_private(captured: Path) -> None:
    assert stat.S_IMODE(os.stat(captured).st_mode) == 0o600


def test_no_secret_address_or_name_survives_the_capture(captured: Path, sim: Simulator) -> None:
    text = captured.read_text(encoding="utf-8")
    sessions = {r.fields["auth"] for r in sim.requests if "auth" in r.fields}
    personal = {DEMO_USERNAME, DEMO_PASSWORD, "Demo User", "2a01:4f8:c17:b8f::2", "support-rescue", "foo"}
    personal |= {i.name for i in sim.instances.values()} | {i.ip for i in sim.instances.values()}
    assert sessions
    for value in sessions | personal:
        assert value not in text, value


def test_placeholders_are_stable_across_the_capture(captured: Path) -> None:
    answers = {a["func"]: a["answer"]["doc"] for a in json.loads(captured.read_text(encoding="utf-8"))["answers"]}
    row = next(e for e in answers["instances"]["elem"] if e["id"]["$"] == str(WEB))
    assert row["ip"]["$"] == answers["instances.edit"]["ip"]["$"] == "192.0.2.1"
    assert answers["whoami"]["user"]["$email"] == answers["whoami"]["user"]["$"]


def test_the_capture_says_what_it_replaced_without_the_values(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "capture.json"
    assert main(["doctor", "--capture", str(path)], env=env) == 0
    err = capsys.readouterr().err
    assert f"wrote {path} (mode 0600) with 5 answers" in err
    assert "1 e-mail address(es)" in err
    assert "4 IP address(es)" in err
    assert DEMO_USERNAME not in err
    assert "web-1" not in err


def test_the_redactor_keeps_function_names_and_field_names() -> None:
    redactor = Redactor()
    doc = {
        "ok": {"$": "func=instances.fleio.rescue"},
        "slist": [{"$name": "select_boot", "val": {"$key": "k", "$depend": "own", "$name": "my-box", "$": "Debian"}}],
        "note": {"$": "reach web-1.example.com at 10.1.2.3 or admin@example.org"},
    }
    kept = redactor.value(doc)
    assert kept["ok"] == {"$": "func=instances.fleio.rescue"}
    assert kept["slist"][0]["$name"] == "select_boot"
    assert kept["slist"][0]["val"]["$name"] == "name-1"
    assert kept["note"]["$"] == "reach host-1.example.net at 192.0.2.1 or user-1@example.com"


@pytest.fixture
def replayed(captured: Path) -> Iterator[tuple[Simulator, str]]:
    simulator = Simulator(transition_seconds=0.0)
    replay(simulator, load_capture(str(captured)))
    url, stop = run_on_loopback(simulator)
    yield simulator, url
    stop()


@pytest.mark.anyio
async def test_a_replayed_capture_serves_the_recorded_account(replayed: tuple[Simulator, str]) -> None:
    simulator, url = replayed
    settings = Settings(api_url=url, username=DEMO_USERNAME, password=DEMO_PASSWORD, timeout=1.0, poll_interval=0.05)
    async with Client(build_server(settings), cache=None) as client:
        listing = ok(await call(client, "list_instances"))
        images = ok(await call(client, "list_rescue_images", instance_id=WEB))
        preview = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
        approved = {"preview_id": preview["preview_id"]} if "preview_id" in preview else {}
        entered = ok(
            await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True, **approved)
        )
    names = {i["id"]: i["name"] for i in listing["instances"]}
    assert len(set(names.values())) == 4
    assert all(re.fullmatch(r"name-\d+", name) for name in names.values())
    assert (images["name"], len(images["images"])) == (names[WEB], 16)
    assert (entered["wait"], entered["status"]) == ("reached", "rescued")
    assert simulator.calls("instances.fleio.rescue")[0].fields["elid"] == str(WEB)


def test_replay_needs_the_simulator(env: dict[str, str], captured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["instances", "--replay", str(captured)], env=env) == 2
    assert "add --simulator" in capsys.readouterr().err


def test_a_file_that_is_not_a_capture_is_refused(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    assert main(["instances", "--simulator", "--replay", str(other)], env=env) == 2
    assert "is not a capture written by `zomro-rescue-mcp doctor --capture`" in capsys.readouterr().err


@pytest.mark.e2e
@pytest.mark.heavy
def test_the_demo_tells_its_story_on_a_replayed_capture(captured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["demo", "--replay", str(captured)]) == 0
    out = capsys.readouterr().out
    assert f"running on the account recorded in {captured}" in out
    assert "The story is complete" in out


def test_who_the_account_is_does_not_survive_the_capture(captured: Path) -> None:
    text = captured.read_text(encoding="utf-8")
    answers = {a["func"]: a["answer"]["doc"] for a in json.loads(text)["answers"]}
    user = answers["whoami"]["user"]
    assert "+31 20 555 0101" not in text
    assert "12.34" not in text
    assert set(user) == {"$realname", "$email", "$id", "$name", "$phone", "$balance", "$"}


def test_a_two_factor_account_is_captured_with_one_code(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_factor = {**env, "ZOMRO_USERNAME": TOTP_USERNAME, "ZOMRO_TOTP_SECRET": TOTP_SECRET}
    assert main(["doctor", "--capture", str(tmp_path / "capture.json")], env=two_factor) == 0
    assert len(sim.calls("totp.confirm")) == 1
    assert TOTP_SECRET not in (tmp_path / "capture.json").read_text(encoding="utf-8")


def test_a_capture_path_that_is_not_a_plain_file_is_refused_without_blocking(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    linked = tmp_path / "linked.json"
    linked.write_text("keep", encoding="utf-8")
    os.link(linked, tmp_path / "other-name.json")
    for path in (fifo, linked):
        assert main(["doctor", "--capture", str(path)], env=env) == 2
        said = capsys.readouterr().err
        assert str(path) in said
        assert "choose" in said
    assert linked.read_text(encoding="utf-8") == "keep"


def test_a_capture_keeps_to_the_allowed_instances(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "capture.json"
    assert main(["doctor", "--capture", str(path)], env={**env, "ZOMRO_ALLOWED_INSTANCES": "5203774"}) == 0
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = next(a for a in document["answers"] if a["func"] == "instances")["answer"]["doc"]["elem"]
    assert [r["id"]["$"] for r in rows] == ["5203774"]
    assert document["instance_id"] == 5203774


def test_a_replay_keeps_odd_rows_and_the_reported_total(tmp_path: Path) -> None:
    document = {
        "capture": "zomro-rescue-mcp capture",
        "format": 1,
        "answers": [
            {
                "func": "instances",
                "fields": {},
                "answer": {
                    "doc": {
                        "elem": [{"id": {"$": "5203773"}, "instance_status": {"$": "active"}}, {"id": {"$": "x"}}],
                        "p_elems": {"$": "104"},
                    }
                },
            }
        ],
    }
    path = tmp_path / "capture.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    simulator = Simulator()
    replay(simulator, load_capture(str(path)))
    answer = simulator.execute({"func": "instances", "auth": simulator.new_session()})["doc"]
    assert answer["p_elems"] == {"$": "104"}
    assert {"id": {"$": "x"}} in answer["elem"]
