"""What the support capture replaces: addresses and host names wherever they stand, names under any key and in
free text, the person's name; and what it keeps, so the capture stays useful."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.operations.capture import Redactor
from zomro_rescue_mcp.simulator import Simulator

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB = 5203773


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    return {**server_env, "ZOMRO_LOG_LEVEL": "WARNING"}


def capture_of(env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The capture file's text, recorded over HTTP from the simulator with `doctor --capture`."""
    path = tmp_path / "capture.json"
    assert main(["doctor", "--capture", str(path), "--instance", str(WEB)], env=env) == 0
    capsys.readouterr()
    return path.read_text(encoding="utf-8")


def answers_of(text: str) -> dict[str, Any]:
    return {a["func"]: a["answer"]["doc"] for a in json.loads(text)["answers"]}


@pytest.mark.parametrize(
    "said",
    [
        "the rescue system can reach 10.20.30.40.",
        "mail went to relay.example.org.",
        "the new address is 2a01:4f8:c17:b8f::2.",
        "reach 2a01:4f8:c17:b8f::2: then log in",
        "(via 10.20.30.40)",
    ],
)
def test_an_address_or_host_name_at_the_end_of_a_sentence_is_replaced(said: str) -> None:
    kept = Redactor().text(said)
    for original in ("10.20.30.40", "relay.example.org", "2a01:4f8:c17:b8f::2"):
        assert original not in kept
    assert kept[-1] == said[-1]  # the sentence's own punctuation stays


@pytest.mark.parametrize(
    "host",
    ["backup.example.museum", "shop.company.berlin", "vpn.firma.photography", "www.пример.рф", "www.example.xn--p1ai"],
)
def test_a_host_name_on_any_top_level_domain_is_replaced(host: str) -> None:
    kept = Redactor().text(f"the panel shows {host} as the server's name")
    assert host not in kept
    assert "host-1.example.net" in kept


@pytest.mark.parametrize(
    "said",
    [
        "func=instances.fleio.rescue&elid=5203773",
        "Function instances.fleio.reboot not found",
        "Insufficient privileges to perform function instances.fleio.unrescue",
        "instances.fleio.rescue",
        "Ubuntu 22.04",
        "kernel 5.15.0-91 and Debian 12.5",
        "2 GB (5.00 EUR) since 12:30:45",
        "Rocky-Linux-8",
        "debian-12.5.0-amd64-netinst.iso",
        "listens on 127.0.0.1 and ::1, mask 255.255.255.0",
    ],
)
def test_function_names_and_version_numbers_are_kept(said: str) -> None:
    redactor = Redactor()
    assert redactor.text(said) == said
    assert redactor.report() == "replaced nothing with placeholders"


def test_an_instance_name_is_replaced_under_every_key_it_appears(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.captured["instances.edit"] = {
        "doc": {
            "elid": {"$": str(WEB)},
            "elname": {"$": "web-1"},
            "title": {"$": "web-1"},
            "descr": {"$": "Production web-1, behind the balancer; db-1 holds its data."},
            "ip": {"$": "203.0.113.10"},
        }
    }
    sim.captured["whoami"] = {  # read before the list that names the instances
        "doc": {"user": {"$realname": "Demo User", "$": "demo@example.com"}, "notice": {"$": "mail-1 was renewed"}}
    }
    text = capture_of(env, tmp_path, capsys)
    for name in ("web-1", "db-1", "mail-1"):
        assert name not in text, name
    edit = answers_of(text)["instances.edit"]
    web = next(e for e in answers_of(text)["instances"]["elem"] if e["id"]["$"] == str(WEB))
    assert edit["elname"]["$"] == edit["title"]["$"] == web["servername"]["$"]
    assert edit["descr"]["$"].startswith(f"Production {web['servername']['$']}, behind the balancer; ")


def test_the_persons_name_is_replaced_in_free_text_too(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    descr = {"$": "Ordered by Demo User for the shop"}
    sim.captured["instances.edit"] = {"doc": {"elid": {"$": str(WEB)}, "descr": descr, "ip": {"$": "203.0.113.10"}}}
    text = capture_of(env, tmp_path, capsys)
    assert "Demo User" not in text
    realname = answers_of(text)["whoami"]["user"]["$realname"]
    assert answers_of(text)["instances.edit"]["descr"]["$"] == f"Ordered by {realname} for the shop"


def test_a_word_that_only_contains_a_name_is_kept() -> None:
    redactor = Redactor()
    redactor.learn({"doc": {"elem": [{"servername": {"$": "web"}}]}})
    assert redactor.text("webhooks of web, web.example.com and web-2") == (
        "webhooks of name-1, host-1.example.net and web-2"
    )
