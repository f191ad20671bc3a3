"""The benchmark script still runs end to end (tiny counts: it checks the script, not the speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


@pytest.mark.e2e
@pytest.mark.heavy
def test_the_benchmarks_run_and_print_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    numbers = sorted({row.split("|")[1].strip() for row in rows})
    assert numbers == [
        "1",
        "1b",
        "2",
        "3",
        "4",
        "5",
        "6a",
        "6b",
        "6c",
        "6d",
        "6e",
        "6f",
        "6g",
        "6h",
        "7a",
        "7b",
        "8a",
        "8b",
        "8c",
        "9a",
        "9b",
        "9c",
    ]
    assert "Machine:" in done.stdout
