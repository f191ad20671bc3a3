"""The README is the front door: short, every link leads somewhere, and every command it shows is one that runs.

Each shell command in README.md's fenced `sh` blocks is listed in COMMANDS with what runs it: a test function in
tests/ or a make target (both must exist), or, for a command that cannot run where the tests run, the reason.
A command added to the README without an entry, or an entry whose command left the README, fails the test.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_README_BYTES = 12 * 1024
SHELL_LANGUAGES = ("sh", "shell", "bash", "zsh", "console")  # any of them counts, so none slips past the list


@dataclass(frozen=True)
class RunBy:
    """What exercises one README command: test functions and make targets, or why nothing can here."""

    tests: tuple[str, ...] = ()
    make: tuple[str, ...] = ()
    not_run: str = ""


NOT_PUBLISHED = "installs from the package index, where the package is not published yet; the tests run offline"
NO_PIPX_OR_UV = (
    "{tool} is not installed where the tests run (and would fetch the dependencies from the network); it builds and "
    "installs the same wheel from the checkout that test_the_wheel_installed_alone_gives_a_working_server installs"
)

COMMANDS: dict[str, RunBy] = {
    "git clone https://github.com/zomro-rescue-mcp/zomro-rescue-mcp.git && cd zomro-rescue-mcp": RunBy(
        not_run="needs the network; the tests run inside a clone (test_the_clone_url_is_the_projects_repository "
        "checks the URL)"
    ),
    "make demo": RunBy(make=("demo",), tests=("test_demo_tells_the_whole_story_and_exits_0",)),
    "make test": RunBy(make=("test",)),
    # `pip install .` builds a wheel from the checkout and installs it: these tests do both steps with pip, and
    # `make install` (which every make target runs first) installs the checkout editable.
    "pip install .": RunBy(
        tests=(
            "test_the_wheel_installed_alone_gives_a_working_server",
            "test_a_wheel_built_from_the_sdist_installs_alone_and_runs_the_console_script",
        ),
        make=("install",),
    ),
    "pipx install .": RunBy(not_run=NO_PIPX_OR_UV.format(tool="pipx")),
    "uv tool install .": RunBy(not_run=NO_PIPX_OR_UV.format(tool="uv")),
    "pip install zomro-rescue-mcp": RunBy(not_run=NOT_PUBLISHED),
    "pipx install zomro-rescue-mcp": RunBy(not_run=NOT_PUBLISHED),
    "uv tool install zomro-rescue-mcp": RunBy(not_run=NOT_PUBLISHED),
    "zomro-rescue-mcp --help": RunBy(tests=("test_help_explains_every_setting",)),
    "zomro-rescue-mcp doctor": RunBy(tests=("test_doctor_tells_the_mode_and_checks_the_account",)),
    "sh examples/claude-code/add.sh": RunBy(
        tests=(
            "test_claude_code_example_registers_the_login_from_the_environment",
            "test_claude_code_example_refuses_a_missing_login_in_one_sentence",
        )
    ),
    # The `captured` fixture of tests/operations/test_capture.py runs `doctor --capture FILE`; these tests read
    # what it wrote.
    "zomro-rescue-mcp doctor --capture zomro-capture.json": RunBy(
        tests=("test_the_capture_sends_only_reads", "test_no_secret_address_or_name_survives_the_capture")
    ),
    "zomro-rescue-mcp demo --replay zomro-capture.json": RunBy(
        tests=("test_the_demo_tells_its_story_on_a_replayed_capture",)
    ),
}


def shell_commands(markdown: str) -> list[str]:
    """The commands in the shell blocks of `markdown`: one per line (continuations joined), comments removed."""
    commands: list[str] = []
    language: str | None = None  # the open block's language; None outside a block
    pending = ""
    for line in markdown.splitlines():
        fence = re.match(r"\s*```\s*(\S*)", line)
        if fence is not None:
            language = None if language is not None else fence.group(1).lower()
            continue
        if language not in SHELL_LANGUAGES:
            continue
        text = re.sub(r"(^|\s)#.*$", "", line).strip()
        if text.endswith("\\"):
            pending += text[:-1].strip() + " "
            continue
        text = (pending + text).strip()
        pending = ""
        if text:
            commands.append(text)
    return commands


def defined_tests() -> set[str]:
    """Every test function name defined in tests/ (plain or async)."""
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        names.update(re.findall(r"^\s*(?:async\s+)?def\s+(test_\w+)\s*\(", path.read_text(encoding="utf-8"), re.M))
    return names


def make_targets() -> set[str]:
    """Every target the Makefile defines."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.findall(r"^([\w.-][\w. -]*?)\s*:(?!=)", text, re.M)
    return {name for names in found for name in names.split() if not name.startswith(".")}  # not .PHONY


def test_every_shell_command_in_the_readme_is_listed_with_what_runs_it() -> None:
    shown = shell_commands(README.read_text(encoding="utf-8"))
    unlisted = [c for c in shown if c not in COMMANDS]
    stale = [c for c in COMMANDS if c not in shown]
    assert not unlisted, f"README commands with no entry in COMMANDS (name the test or make target): {unlisted}"
    assert not stale, f"entries in COMMANDS for commands no longer in the README: {stale}"


def test_the_readme_shows_the_quick_start_commands() -> None:
    shown = shell_commands(README.read_text(encoding="utf-8"))
    assert "make demo" in shown
    assert "make test" in shown


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_is_run_by_a_test_or_make_target_or_says_why_not(command: str) -> None:
    run_by = COMMANDS[command]
    assert bool(run_by.tests or run_by.make) != bool(run_by.not_run.strip()), (
        f"{command!r}: name the tests or make targets that run it, or (only if none can) say why not"
    )


def test_every_named_test_exists() -> None:
    named = {name for run_by in COMMANDS.values() for name in run_by.tests}
    missing = sorted(named - defined_tests())
    assert not missing, f"COMMANDS names tests that no file in tests/ defines: {missing}"


def test_every_named_make_target_exists() -> None:
    named = {target for run_by in COMMANDS.values() for target in run_by.make}
    missing = sorted(named - make_targets())
    assert not missing, f"COMMANDS names make targets the Makefile does not define: {missing}"


def test_the_shell_command_reader_joins_continuations_and_drops_comments() -> None:
    text = "```sh\n# a comment\nmake demo   # a note\nA=1 \\\n  run it\n```\n```json\n{}\n```\n```\nplain\n```\n"
    assert shell_commands(text) == ["make demo", "A=1 run it"]


def test_the_readme_is_at_most_12_kib() -> None:
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md is {size} bytes; move detail into docs/ (at most {MAX_README_BYTES})"


def test_the_clone_url_is_the_projects_repository() -> None:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert f"git clone {urls['Repository']}.git" in README.read_text(encoding="utf-8")


DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]


def links(markdown: str) -> list[str]:
    """The targets of the inline links of `markdown`, outside code blocks and code spans."""
    prose = re.sub(r"^\s*```.*?^\s*```", "", markdown, flags=re.M | re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)


def local(target: str) -> bool:
    return re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) is None  # no scheme: http:, https:, mailto: …


def slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of `markdown` (lower case, punctuation dropped, spaces as hyphens)."""
    prose = re.sub(r"^\s*```.*?^\s*```", "", markdown, flags=re.M | re.S)
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_that_exists(document: Path) -> None:
    targets = [t for t in links(document.read_text(encoding="utf-8")) if local(t)]
    missing = [t for t in targets if t.split("#")[0] and not (document.parent / t.split("#")[0]).exists()]
    assert not missing, f"{document.relative_to(ROOT)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_anchor_in_a_relative_link_names_a_heading(document: Path) -> None:
    broken = []
    for target in links(document.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        if not anchor or not local(target):
            continue
        linked = (document.parent / path) if path else document
        if linked.suffix == ".md" and linked.exists() and anchor not in slugs(linked.read_text(encoding="utf-8")):
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)} links to headings that do not exist: {broken}"


def test_every_doc_can_be_reached_from_the_readme() -> None:
    reached: set[Path] = set()
    todo = [README]
    while todo:
        document = todo.pop()
        for target in links(document.read_text(encoding="utf-8")):
            path = target.split("#")[0]
            linked = (document.parent / path).resolve()
            if local(target) and path.endswith(".md") and linked.exists() and linked not in reached:
                reached.add(linked)
                todo.append(linked)
    unreached = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in reached]
    assert not unreached, f"docs that no link from README.md leads to (link them from it or a linked doc): {unreached}"
