"""A plain wheel (not the editable install) carries everything the server needs at run time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from zomro_rescue_mcp import __version__
from zomro_rescue_mcp.settings.toolsets import DEFAULT_TOOLSETS, tools_of

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {"PATH": "/usr/bin:/bin"}  # no PYTHONPATH or venv of the caller: only the installed wheel may answer


def purelib(python: Path) -> Path:
    """The site-packages folder of the interpreter `python`."""
    printed = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Path(printed.strip())


def install_alone(wheel: Path, folder: Path) -> Path:
    """A fresh venv in `folder` holding only `wheel` of this project; returns the console script it installed.

    The dependencies come from the test environment through a .pth line. Such a line only appends a folder to
    sys.path (its own .pth files, such as the editable install's, are not run), and the package found first is
    the wheel's, so a file missing from the wheel cannot be filled in from the checkout.
    """
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    (purelib(python) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder / "bin" / "zomro-rescue-mcp"


@pytest.mark.e2e
@pytest.mark.heavy
def test_the_wheel_installed_alone_gives_a_working_server(tmp_path: Path) -> None:
    source = tmp_path / "source"  # only what the build reads, so stale build/ output cannot slip in
    shutil.copytree(ROOT / "server", source / "server", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = wheels.glob("zomro_rescue_mcp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "zomro_rescue_mcp/py.typed",
        "zomro_rescue_mcp/simulator/__init__.py",
        "zomro_rescue_mcp/mcp_server/http_app.py",
    }
    assert expected <= names

    fresh = tmp_path / "fresh"
    command = install_alone(wheel, fresh)
    python = fresh / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import zomro_rescue_mcp; print(zomro_rescue_mcp.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
    ).stdout
    assert where.startswith(str(purelib(python)))
    version = subprocess.run(
        [str(command), "--version"], check=True, capture_output=True, text=True, timeout=60, env=CLEAN_ENV
    )
    assert version.stdout.strip() == f"zomro-rescue-mcp {__version__}"

    requests = [
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "wheel-check", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    ]
    server = subprocess.Popen(
        [str(command), "serve", "--simulator"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=CLEAN_ENV,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        for request in requests:
            server.stdin.write(json.dumps(request) + "\n")
            server.stdin.flush()
        replies = [json.loads(server.stdout.readline()) for _ in range(2)]
    finally:
        server.kill()
        server.wait(timeout=30)
    tools = {tool["name"] for tool in replies[1]["result"]["tools"]}
    assert tools == tools_of(DEFAULT_TOOLSETS)
