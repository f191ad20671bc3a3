"""What may hold the audit trail: a regular file of this user or a new one; anything else is refused untouched."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar, cast

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.operations.audit import AuditTrail

from ..conftest import CONSOLE_SCRIPT

OTHER_UID = 65534  # "nobody"
T = TypeVar("T")


def promptly(action: Callable[[], T], path: Path) -> T:
    """Run `action` in a thread and fail, rather than hang, if it waits (as an open of a FIFO without a reader)."""
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, action()))
        except BaseException as exc:
            outcome.append((False, exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # give a waiting open its reader, so the thread can end, then fail
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        worker.join(timeout=5)
        pytest.fail(f"{path} made the audit trail wait")
    [(returned, value)] = outcome
    if not returned:
        assert isinstance(value, BaseException)
        raise value
    return cast(T, value)


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "fifo")
    return tmp / "fifo"


def _socket(tmp: Path) -> Path:
    path = tmp / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    return path


def _directory(tmp: Path) -> Path:
    (tmp / "folder").mkdir()
    return tmp / "folder"


def _symlink(tmp: Path) -> Path:
    (tmp / "target").write_text("", encoding="utf-8")
    (tmp / "target").chmod(0o644)
    (tmp / "link").symlink_to(tmp / "target")
    return tmp / "link"


def _dev_null(tmp: Path) -> Path:
    return Path("/dev/null")


# Each refused kind, and the words the verdict uses for it.
REFUSED: list[tuple[Callable[[Path], Path], str]] = [
    (_dev_null, "is a character device, not a regular file"),
    (_fifo, "is a named pipe (FIFO), not a regular file"),
    (_socket, "is a socket, not a regular file"),
    (_directory, "is a directory, not a regular file"),
    (_symlink, "is a symbolic link, not a regular file"),
]
KIND_IDS = ["dev-null", "fifo", "socket", "directory", "symlink"]


@pytest.fixture(autouse=True)
def dev_null_stays_as_it_was() -> Iterator[None]:
    """Should a regression ever chmod /dev/null, put it back, so the machine keeps working."""
    before = os.lstat("/dev/null")
    yield
    after = os.lstat("/dev/null")
    if after.st_mode != before.st_mode:
        os.chmod("/dev/null", before.st_mode & 0o7777)


def _fingerprint(path: Path) -> tuple[int, int, int]:
    """Kind and mode, owner and group of the path itself (a symlink's target is checked separately)."""
    info = os.lstat(path)
    return info.st_mode, info.st_uid, info.st_gid


def _owned_by_another_user(tmp: Path) -> Path:
    path = tmp / "audit.jsonl"
    path.write_text('{"earlier":"record"}\n', encoding="utf-8")
    path.chmod(0o644)
    os.chown(path, OTHER_UID, OTHER_UID)
    return path


@pytest.mark.parametrize(("make", "verdict"), REFUSED, ids=KIND_IDS)
def test_a_path_that_is_not_a_regular_file_is_refused_at_start_in_one_sentence(
    make: Callable[[Path], Path], verdict: str, tmp_path: Path
) -> None:
    path = make(tmp_path)
    with pytest.raises(ConfigError) as refused:
        promptly(lambda: AuditTrail(str(path)), path)
    message = str(refused.value)
    assert message.startswith(f"ZOMRO_AUDIT_LOG {path} {verdict}")
    assert message.count(". ") == 0
    assert message.endswith(".")


@pytest.mark.parametrize(("make", "verdict"), REFUSED, ids=KIND_IDS)
def test_a_refused_path_is_left_exactly_as_it_was(make: Callable[[Path], Path], verdict: str, tmp_path: Path) -> None:
    path = make(tmp_path)
    before = _fingerprint(path)
    target_before = _fingerprint(tmp_path / "target") if path.is_symlink() else None
    with pytest.raises(ConfigError):
        promptly(lambda: AuditTrail(str(path)), path)
    assert _fingerprint(path) == before
    if target_before is not None:
        assert _fingerprint(tmp_path / "target") == target_before
        assert (tmp_path / "target").read_text(encoding="utf-8") == ""


@pytest.mark.parametrize(("make", "verdict"), REFUSED, ids=KIND_IDS)
def test_problem_gives_the_same_verdict_as_the_start(
    make: Callable[[Path], Path], verdict: str, tmp_path: Path
) -> None:
    path = make(tmp_path)
    assert promptly(lambda: AuditTrail.problem(str(path)), path) == f"{path} {verdict}"


def test_a_file_of_another_user_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = _owned_by_another_user(tmp_path)
    before = _fingerprint(path)
    with pytest.raises(ConfigError, match="belongs to another user"):
        AuditTrail(str(path))
    assert _fingerprint(path) == before
    assert path.read_text(encoding="utf-8") == '{"earlier":"record"}\n'


def test_doctor_refuses_a_file_of_another_user_as_the_server_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    path = _owned_by_another_user(tmp_path)
    assert main(["doctor", "--simulator"], env={"ZOMRO_AUDIT_LOG": str(path)}) == 2
    out = capsys.readouterr().out
    assert f"audit      problem: {path} belongs to another user (uid {OTHER_UID})" in out
    assert _fingerprint(path)[1] == OTHER_UID


def test_doctor_refuses_a_fifo_without_opening_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    path = _fifo(tmp_path)
    assert promptly(lambda: main(["doctor", "--simulator"], env={"ZOMRO_AUDIT_LOG": str(path)}), path) == 2
    assert f"audit      problem: {path} is a named pipe (FIFO), not a regular file" in capsys.readouterr().out


@pytest.mark.heavy  # end to end: make test-heavy
@pytest.mark.e2e
def test_a_fifo_as_the_audit_log_stops_the_server_at_start_without_waiting(tmp_path: Path) -> None:
    path = _fifo(tmp_path)
    done = subprocess.run(
        [CONSOLE_SCRIPT, "serve", "--simulator"],
        env={"PATH": "/usr/bin:/bin", "ZOMRO_AUDIT_LOG": str(path)},
        capture_output=True,
        text=True,
        timeout=60,  # with a blocking open, nobody ever reads the FIFO: this fails instead of hanging
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "is a named pipe (FIFO), not a regular file" in line


def test_a_fifo_put_at_the_path_after_start_is_refused_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(str(path))
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(OSError, match=r"named pipe \(FIFO\)"):
        promptly(lambda: trail.write({"request_id": "x"}), path)


def test_a_new_file_is_still_created_and_a_file_of_this_user_accepted(tmp_path: Path) -> None:
    fresh = tmp_path / "new.jsonl"
    assert AuditTrail.problem(str(fresh)) is None
    assert not fresh.exists()
    AuditTrail(str(fresh))
    assert fresh.is_file()
    assert AuditTrail.problem(str(fresh)) is None
