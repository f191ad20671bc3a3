"""`--replay FILE` reads only a regular file of bounded size, and JSON of bounded depth and number size; any other
file is refused with one sentence and exit code 2, as the accounts file is."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.simulator.replay import MAX_DEPTH, MAX_DIGITS, MAX_FILE

pytestmark = pytest.mark.usefixtures("restore_logging")

ENV = {"ZOMRO_LOG_LEVEL": "WARNING", "ZOMRO_CONFIG": "none"}


def refusal(path: Path | str, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line `instances --simulator --replay PATH` says, after checking it exits 2."""
    capsys.readouterr()
    assert main(["instances", "--simulator", "--replay", str(path)], env=ENV) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert str(path) in line
    return line


def capture_with(extra: Any) -> dict[str, Any]:
    """A capture of one instance row, carrying `extra` beside its answers."""
    row = {"id": {"$": "5203773"}, "servername": {"$": "name-1"}, "instance_status": {"$": "active"}}
    answers = [{"func": "instances", "fields": {}, "answer": {"doc": {"elem": [row]}}}]
    return {"capture": "zomro-rescue-mcp capture", "format": 1, "answers": answers, "extra": extra}


def nested(levels: int) -> Any:
    """Arrays inside each other, `levels` deep counted with the capture's object and the `extra` list they sit in."""
    value: Any = []
    for _ in range(levels - 3):
        value = [value]
    return value


def fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "fifo")
    return tmp_path / "fifo"


def link_to_zero(tmp_path: Path) -> Path:
    (tmp_path / "zero").symlink_to("/dev/zero")
    return tmp_path / "zero"


@pytest.mark.parametrize(
    "make",
    [lambda tmp: tmp, fifo, lambda tmp: Path("/dev/zero"), link_to_zero],
    ids=["folder", "fifo", "device", "link to a device"],
)
def test_a_replay_that_is_not_a_regular_file_is_refused_without_reading_it(
    make: Callable[[Path], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "is not a regular file" in refusal(make(tmp_path), capsys)


def test_a_replay_larger_than_64_mib_is_refused_unread(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(MAX_FILE + 1)  # sparse: no disk is filled
    assert "is larger than 64 MiB" in refusal(huge, capsys)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 100_000])
def test_a_replay_nested_too_deep_is_refused(levels: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep.json"
    text = json.dumps(capture_with("@"))
    deep.write_text(text.replace('"@"', "[" * (levels - 1) + "]" * (levels - 1)), encoding="utf-8")
    assert f"nests more than {MAX_DEPTH} levels deep" in refusal(deep, capsys)


def test_a_replay_with_a_number_of_more_digits_than_the_bound_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps(capture_with("@")).replace('"@"', "9" * (MAX_DIGITS + 100)), encoding="utf-8")
    assert f"holds a number longer than {MAX_DIGITS:,} digits" in refusal(big, capsys)


def test_a_replay_at_the_bounds_and_through_a_link_is_served(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "capture.json"
    document = capture_with([nested(MAX_DEPTH), 10 ** (MAX_DIGITS - 1)])
    capture.write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "link.json").symlink_to(capture)
    capsys.readouterr()
    assert main(["instances", "--simulator", "--replay", str(tmp_path / "link.json"), "--json"], env=ENV) == 0
    assert "name-1" in capsys.readouterr().out


def test_the_demo_refuses_a_replay_that_is_not_a_regular_file_in_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--replay", "/dev/zero"], env=ENV) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "/dev/zero" in err
    assert "ExceptionGroup" not in err
