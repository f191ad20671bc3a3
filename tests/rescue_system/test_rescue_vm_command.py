"""`zomro-rescue-mcp rescue-vm`: the test device that boots the rescue VM for a disk image (cli/rescue_vm.py).

The console script runs as a subprocess, as the simulator and a person run it; the tests that boot QEMU are marked
vm, the others (help, refusals) run in `make test`.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from zomro_rescue_mcp.cli import main

from ..conftest import CONSOLE_SCRIPT
from .disks import blank_image, pinned_ssh, require_vm

pytestmark = pytest.mark.anyio


@dataclass
class Announced:
    host: str
    port: int
    password: str
    fingerprint: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.vm
@pytest.mark.parametrize("stop", ["end of stdin", "SIGTERM"])
async def test_it_prints_one_ready_line_then_stops_leaving_nothing_running(stop: str, tmp_path: Path) -> None:
    require_vm()
    password, port = f"Rescue-{secrets.token_urlsafe(9)}", _free_port()
    command = [CONSOLE_SCRIPT, "rescue-vm", "--disk", str(blank_image(tmp_path / "disk.img", 8))]
    command += ["--listen", f"127.0.0.1:{port}"]
    env = {**os.environ, "ZOMRO_RESCUE_PASSWORD": password}
    with (tmp_path / "stderr").open("wb") as stderr:
        process = await anyio.open_process(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
    async with process:
        assert process.stdout is not None
        assert process.stdin is not None
        stdout = BufferedByteReceiveStream(process.stdout)
        with anyio.fail_after(240):
            line = (await stdout.receive_until(b"\n", 200)).decode()
        qemu = _children(process.pid)
        async with pinned_ssh(Announced("127.0.0.1", port, password, line.removeprefix("ready "))) as ssh:
            answer = await ssh.run("echo up", timeout=60)
        if stop == "SIGTERM":
            process.send_signal(signal.SIGTERM)
        else:
            await process.stdin.aclose()
        with anyio.fail_after(60):
            status = await process.wait()
            rest = b"".join([chunk async for chunk in stdout])
    assert re.fullmatch(r"ready SHA256:[A-Za-z0-9+/]{43}", line)
    assert str(answer.stdout).strip() == "up"
    assert status == 0
    assert rest == b""  # exactly one line
    assert qemu
    assert [pid for pid in qemu if Path(f"/proc/{pid}").exists()] == []
    assert password not in (tmp_path / "stderr").read_text()


def test_its_help_marks_it_as_a_test_device(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["rescue-vm", "--help"])
    own = capsys.readouterr().out
    assert re.search(r"rescue-vm\s+test device", listing)
    assert "A test device, not a user feature" in own


def test_without_the_password_variable_it_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    status = main(["rescue-vm", "--disk", str(disk), "--listen", "127.0.0.1:2222"], env={})
    assert status == 2
    assert "ZOMRO_RESCUE_PASSWORD is not set" in capsys.readouterr().err


def test_an_address_off_loopback_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    status = main(["rescue-vm", "--disk", str(disk), "--listen", "192.0.2.1:2222"], env={"ZOMRO_RESCUE_PASSWORD": "x"})
    assert status == 2
    assert "loopback" in capsys.readouterr().err
