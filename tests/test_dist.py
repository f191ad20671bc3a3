"""What is released: an sdist that holds everything a wheel needs, the license in both, the version in one place."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from zomro_rescue_mcp import __version__

from .test_packaging import CLEAN_ENV, install_alone

ROOT = Path(__file__).resolve().parent.parent
# What the build reads; copied alone so that stale build/ or egg-info output in the checkout cannot slip in.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE")
# Every tool the schemas/ folder documents, which the installed `schemas` command must print.
TOOLS = {path.stem for path in (ROOT / "schemas").glob("*.json") if path.stem != "modes"}


def _run(*command: str | Path) -> None:
    done = subprocess.run([str(part) for part in command], check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.mark.e2e
@pytest.mark.heavy
def test_a_wheel_built_from_the_sdist_installs_alone_and_runs_the_console_script(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT / "server", source / "server", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in BUILD_INPUTS:
        shutil.copy2(ROOT / name, source / name)
    package = source / "server" / "zomro_rescue_mcp"
    shipped = {f"zomro_rescue_mcp/{p.relative_to(package)}" for p in package.rglob("*") if p.is_file()}
    _run(sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", tmp_path / "sdist", source)
    [sdist] = (tmp_path / "sdist").glob("zomro_rescue_mcp-*.tar.gz")
    with tarfile.open(sdist) as archive:
        top = f"zomro_rescue_mcp-{__version__}"
        assert {f"{top}/{name}" for name in (*BUILD_INPUTS, "PKG-INFO")} <= set(archive.getnames())
        archive.extractall(tmp_path / "unpacked", filter="data")

    # The wheel comes from the unpacked sdist only, as pip builds it for someone installing from the sdist.
    pip_wheel = (sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path)
    _run(*pip_wheel, tmp_path / "unpacked" / top)
    [wheel] = tmp_path.glob(f"zomro_rescue_mcp-{__version__}-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert shipped <= set(archive.namelist()), "a file of the package did not reach the wheel through the sdist"
        assert f"{top}.dist-info/licenses/LICENSE" in archive.namelist()
        metadata = HeaderParser().parsestr(archive.read(f"{top}.dist-info/METADATA").decode())
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT"

    command = install_alone(wheel, tmp_path / "fresh")
    version = subprocess.run([command, "--version"], check=True, capture_output=True, text=True, env=CLEAN_ENV)
    assert version.stdout.strip() == f"zomro-rescue-mcp {__version__}"
    empty = tmp_path / "cwd"
    empty.mkdir()
    schemas = subprocess.run(
        [command, "schemas"], check=True, capture_output=True, text=True, env=CLEAN_ENV, cwd=empty, timeout=120
    )
    assert set(json.loads(schemas.stdout)["tools"]) == TOOLS
    assert list(empty.iterdir()) == []


def test_the_version_is_written_only_in_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "zomro_rescue_mcp.__version__"}


def test_the_license_is_mit_and_shipped_as_a_license_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 zomro-rescue-mcp contributors\n")


def test_the_changelog_has_a_dated_entry_for_this_version_and_the_first() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert releases[0] == __version__  # the newest release comes first
    assert releases[-1] == "0.1.0"
    for release in releases:
        assert re.search(rf"^\[{re.escape(release)}\]: https://", changelog, re.M), f"{release} has no link"
