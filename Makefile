# Quick start: `make demo` runs the product on its built-in simulator; `make test` runs the tests.
# Both create .venv and install the project into it on first use (only python3 and make are needed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format install clean conformance bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/zomro-rescue-mcp demo

# 3 workers on 2 cores: tests wait on processes and sockets part of the time, and each worker pays the suite's
# imports and collection (about 5 s of CPU), so a fourth costs more than it gains; work stealing keeps the few long
# tests from leaving a worker idle at the end. PYTHONDONTWRITEBYTECODE is cleared so that each worker reads the
# tests' cached bytecode (and assertion rewrites) instead of compiling them again.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 3 --dist worksteal -m "not vm and not heavy"

# The few end-to-end tests that run a whole program for many seconds (marker heavy): the benchmark script, a wheel
# built from the sdist, the Python example. CI runs them; `make test` leaves them out to stay within a minute.
.PHONY: test-heavy
test-heavy: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 3 -m "heavy"

# The tests on the real rescue VM (marker vm, set by tests/rescue_system/conftest.py), once `make rescue-vm` has
# built it; they skip with the reason where it is missing (fail under CI=true). 2 workers, each file on one of them
# (--dist loadfile): the diagnosis tests share one VM boot per file.
.PHONY: test-vm
test-vm: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 2 --dist loadfile -m vm tests/rescue_system

# External MCP clients against the real server: the MCP Inspector CLI over stdio and the official
# conformance suite over HTTP (pinned npm packages in tools/conformance, installed there on first use).
conformance: $(STAMP)
	PYTHON=$(abspath $(BIN)/python) bash tools/conformance/run.sh

# The rescue VM the rescue-system tests boot (QEMU, the Debian cloud kernel, a small Debian rescue root), built from
# Debian's packages into a cache outside the checkout; installs what it needs as root. See docs/development.md.
.PHONY: rescue-vm
rescue-vm:
	bash tools/rescue-vm/build.sh

# Speed and memory beside the SDK floor and the API floor; prints one table (see benchmarks/RESULTS.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

lint: $(STAMP)
	$(BIN)/ruff check server tests examples tools benchmarks
	$(BIN)/ruff format --check server tests examples tools benchmarks
	$(BIN)/mypy --strict

format: $(STAMP)
	$(BIN)/ruff format server tests examples tools benchmarks
	$(BIN)/ruff check --fix server tests examples tools benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info server/*.egg-info .pytest_cache .mypy_cache .ruff_cache \
		tools/conformance/node_modules

# The sdist, then the wheel built from it, both checked as PyPI will read them. --no-isolation builds with this
# venv's setuptools, so it works offline.
.PHONY: dist
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*
