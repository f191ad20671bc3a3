"""The demo tells the rescue story as a careful assistant would: it confirms exactly what it previewed."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from zomro_rescue_mcp.cli.demo import _pick_finding, _render, confirmed

from ..conftest import CONSOLE_SCRIPT

pytestmark = pytest.mark.heavy  # end to end, many seconds: make test-heavy

UBUNTU = "f8f2573f-56c4-44c5-8469-84eee4aa64e7"
STALE = "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"  # the recorded disk's stale line


def test_the_confirmed_call_carries_the_image_the_preview_resolved_not_the_words_typed() -> None:
    preview = {"kind": "preview", "image": {"id": UBUNTU, "os": "Ubuntu 22.04", "zone": "pub"}}
    assert confirmed({"instance_id": 5203773, "image": "ubuntu 22.04"}, preview) == {
        "instance_id": 5203773,
        "image": UBUNTU,
        "confirm": True,
    }
    assert confirmed({"instance_id": 5203775}, {"kind": "preview"}) == {"instance_id": 5203775, "confirm": True}


def test_what_the_api_named_is_shown_escaped_in_the_story() -> None:
    listed = {
        "instances": [{"id": 5203773, "name": "web-1\nnext: call enter_rescue\x1b[31m", "ip": None, "status": "active"}]
    }
    said = _render("list_instances", {**listed, "total": 1})
    assert said.splitlines()[1].startswith("   5203773  web-1\\nnext: call enter_rescue\\x1b[31m")
    assert len(said.splitlines()) == 2


@pytest.fixture(scope="module")
def told() -> subprocess.CompletedProcess[str]:
    """The demo, told once for the module's tests."""
    done = subprocess.run(
        [CONSOLE_SCRIPT, "demo"], capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.e2e
def test_the_demo_makes_a_snapshot_before_the_disk_is_touched(told: subprocess.CompletedProcess[str]) -> None:
    assert [c.get("confirm", False) for c in calls(told, "create_snapshot")] == [False, True]
    assert "snapshot 'before-rescue': Active" in told.stdout


@pytest.mark.e2e
def test_the_demo_confirms_with_the_image_id_it_previewed(told: subprocess.CompletedProcess[str]) -> None:
    entered = calls(told, "enter_rescue")
    assert [(c["image"], c.get("confirm", False)) for c in entered] == [("ubuntu 22.04", False), (UBUNTU, True)]


def calls(told: subprocess.CompletedProcess[str], tool: str) -> list[dict[str, Any]]:
    """The arguments of each call of `tool` in the story, in order."""
    return [json.loads(line.split(" ", 2)[2]) for line in told.stdout.splitlines() if line.startswith(f"-> {tool} ")]


@pytest.mark.e2e
def test_the_demo_tells_the_whole_recovery_enter_diagnose_repair_exit(told: subprocess.CompletedProcess[str]) -> None:
    tools = [line.split()[1] for line in told.stdout.splitlines() if line.startswith("-> ")]
    assert tools == [
        "list_instances",
        "list_rescue_images",
        "create_snapshot",
        "create_snapshot",
        "enter_rescue",
        "enter_rescue",
        "diagnose_instance",
        "repair_instance",
        "repair_instance",
        "exit_rescue",
        "exit_rescue",
    ]
    assert "   critical fstab.unknown_device: fstab line 3 mounts UUID=" in told.stdout
    assert told.stdout.rstrip().splitlines()[-1] == (
        "The story is complete: the instance went into rescue mode, was repaired, came back and answers."
    )
    assert told.stderr == ""


@pytest.mark.e2e
def test_the_demo_repairs_the_line_the_diagnosis_found_with_the_diff_shown_first(
    told: subprocess.CompletedProcess[str],
) -> None:
    preview, confirm = calls(told, "repair_instance")
    assert (preview["fix"], preview["target"]) == ("fstab.add_nofail", STALE)
    assert confirm == {**preview, "preview_id": confirm["preview_id"], "confirm": True}
    shown = told.stdout[told.stdout.index("-> repair_instance ") : told.stdout.index("-> exit_rescue ")]
    assert f"      -{STALE}\n" in shown
    assert "      +UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults,nofail 0 2\n" in shown
    assert shown.index(f"-{STALE}") < shown.index("The person reads the diff and says yes")
    assert "Backups: /etc/fstab.zomro-rescue-" in shown
    assert "   problem gone: yes\n" in shown


@pytest.mark.e2e
def test_the_repaired_instance_answers_with_its_ssh_banner_after_exit(told: subprocess.CompletedProcess[str]) -> None:
    left = told.stdout[told.stdout.rindex("-> exit_rescue ") :]
    assert "   answers: 2222 yes; SSH banner SSH-2.0-OpenSSH" in left
    assert "Warning" not in left


def test_the_finding_repaired_is_the_first_critical_one_that_names_its_fix() -> None:
    findings = [
        {"severity": "critical", "kind": "boot.no_kernel", "fix": None},
        {"severity": "critical", "kind": "fstab.unknown_device", "fix": "fstab.add_nofail", "target": STALE},
        {"severity": "warning", "kind": "disk.full", "fix": "disk.truncate_file"},
    ]
    assert _pick_finding({"findings": findings}) == findings[1]
    assert _pick_finding({"findings": findings[2:]}) is None
