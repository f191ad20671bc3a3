"""Words for a person at a terminal, and for a script reading `--json`, about `repair` and `run`: the preview (the
exact diff or commands, the device, the files, where a command runs) and the outcome (the files changed, their
backups, the verdict, a generated root password once; a command's exit code and output), with real ids and the
commands a person runs. What the disk or the rescue system said (a diff, an output, a verdict) is shown escaped,
never raw: every line goes through `printable`.
"""

from __future__ import annotations

from typing import Any

from ..core.printable import printable
from ..operations.repair_results import CommandResult, RepairResult

__all__ = ["change_document", "change_lines", "next_step", "refusal_for_people"]

CLI = "zomro-rescue-mcp"
_OUTPUT_SHOWN = 40  # lines of a fix's or a command's output in the table; --json has it all


def _target(instance_id: int, account: str | None, named: bool) -> str:
    return f"{instance_id} --account {account}" if named and account else str(instance_id)


def _lead(data: RepairResult | CommandResult, named: bool) -> str:
    whose = f" on account {data.account}" if named and data.account else ""
    return ("EXECUTED" if data.executed else "PREVIEW") + whose


def _indented(text: str) -> list[str]:
    return [f"  {line}" for line in text.splitlines()]


def _repair_lines(data: RepairResult, named: bool) -> list[str]:
    if not data.executed:
        said = [f"{_lead(data, named)}: {data.summary}"]  # the summary names the device and the files
        if data.diff:
            said += ["diff:", *_indented(data.diff)]
        if data.commands:
            said += ["commands (ROOT: the instance's root):", *(f"  $ {c}" for c in data.commands)]
        return said
    said = [f"{_lead(data, named)}: {data.verdict or data.summary}"]
    said.append(f"files changed: {', '.join(data.files_changed) or 'none'}")
    said += [f"backup: {path}" for path in data.backups]
    if data.problem_gone is not None:
        said.append(f"problem gone: {'yes' if data.problem_gone else 'no'}")
    if data.password:
        said.append(f"root password of the instance (shown once): {data.password}")
    said += [f"still found: {f.severity} {f.kind}: {f.summary}" for f in data.remaining]
    if data.output:
        said += ["output:", *(f"  {line}" for line in data.output[-_OUTPUT_SHOWN:])]
    return said


def _command_lines(data: CommandResult, named: bool) -> list[str]:
    if not data.executed:
        return [f"{_lead(data, named)}: {data.summary}", f"command: {data.command}"]
    ended = "stopped at its time limit" if data.timed_out else f"exit code {data.exit_code}"
    elapsed = f" after {data.elapsed_s:.1f} s" if data.elapsed_s is not None else ""
    said = [f"{_lead(data, named)}: {data.summary}", f"{ended}{elapsed}"]
    if data.output:
        lines = data.output.splitlines()
        said += ["output:", *(f"  {line}" for line in lines[-_OUTPUT_SHOWN:])]
        if len(lines) > _OUTPUT_SHOWN:
            said.append(f"  (the first {len(lines) - _OUTPUT_SHOWN} lines: see --json)")
    if data.truncated:
        said.append("the output was longer than 16 KiB and is cut")
    return said


def next_step(data: RepairResult | CommandResult, *, named: bool = False, dry_run: bool = False) -> str:
    """What to do next, in commands a person runs: after a preview, how to go ahead; after the change, what to
    look at before leaving rescue mode."""
    target = _target(data.instance_id, data.account, named)
    diagnose = f"`{CLI} diagnose {target}`"
    leave = f"`{CLI} exit {target}`"
    if not data.executed:
        if dry_run:
            return (
                "nothing was changed; to go ahead, run the same command without --dry-run (it asks you to type the "
                "instance id; --yes stands for that once the preview was reviewed)"
            )
        return "type the instance id when asked, to go ahead (or pass --yes once the preview was reviewed)"
    if isinstance(data, CommandResult):
        return f"run {diagnose} to see the disk's state before you leave rescue mode with {leave}"
    if data.problem_gone:
        backups = (
            f"; a backup puts a file back: `{CLI} repair {target} file.restore_backup BACKUP`" if data.backups else ""
        )
        return f"run {diagnose} if other findings remain; when none is critical, run {leave}{backups}"
    return f"run {diagnose} before deciding what to do next: the fix did not clear the problem"


def change_lines(
    data: RepairResult | CommandResult, *, named: bool = False, dry_run: bool = False, step: bool = True
) -> str:
    """A preview or an outcome for a person: what it shows or did, its notes, and (`step`) the next step; a preview
    about to be asked about goes without one (the question says what to type)."""
    said = _repair_lines(data, named) if isinstance(data, RepairResult) else _command_lines(data, named)
    said += [f"note: {n}" for n in data.notes]
    if step:
        said.append(f"next: {next_step(data, named=named, dry_run=dry_run)}.")
    return "\n".join(printable(line) for line in said)


def _document(data: RepairResult | CommandResult, named: bool, dry_run: bool) -> dict[str, Any]:
    step = next_step(data, named=named, dry_run=dry_run)
    return {**data.model_dump(mode="json"), "next_step": step[0].upper() + step[1:] + "."}


def change_document(
    preview: RepairResult | CommandResult,
    result: RepairResult | CommandResult | None,
    *,
    named: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """`--json`'s one document: `{"kind", "preview", "result"}` as for enter and exit (a dry run: the preview
    alone), each the tool's data with its next step written for the command line."""
    final = result or preview
    document: dict[str, Any] = {"kind": final.kind, "preview": _document(preview, named, dry_run)}
    if result is not None:
        document["result"] = _document(result, named, False)
    return document


def refusal_for_people(kind: str, facts: dict[str, Any]) -> str | None:
    """A person's sentence for a repair or a command refused before any change, where the operations' words speak
    of the tools and their arguments; None: the refusal reads the same for both."""
    instance = facts.get("instance_id", "INSTANCE")
    if kind == "invalid.rescue_password":
        return (
            f"A command holds no rescue password of instance {instance}: give it on stdin with "
            "--rescue-password-stdin (at a terminal it is asked for, not shown). Nothing was done."
        )
    if kind == "refused.not_in_rescue":
        status = facts.get("status", "in another state")
        return (
            f"Instance {instance} is {status}, not in rescue mode, so there is no rescue system to work from: enter "
            "rescue mode first. Nothing was done."
        )
    return None
