"""Words for the model: the text content of each tool result, compact (one line per item, no nulls), with the next
step in terms of tool calls. The structured content carries the same outcome as data; every character here is
paid for in every conversation, so nothing is repeated that the model does not need. Text from the API (names,
labels, answers) is shown escaped, never raw: every line written here goes through `printable`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from ..core.printable import printable
from ..operations.diagnosis import DiagnoseResult
from ..operations.health import InstanceCheck
from ..operations.models import (
    ActionResult,
    EnterRescueResult,
    ExitRescueResult,
    Instance,
    InstanceList,
    RescueImageList,
)
from ..operations.repair_results import CommandResult, RepairResult
from ..operations.root_password import ResetPasswordResult

__all__ = ["error_for_model", "facts_for_model", "render_for_model"]

_HEAD = {
    "preview": "PREVIEW (nothing changed)",
    "executed": "EXECUTED",
    "refused.preview_required": "REFUSED (nothing sent)",
}


_STEPS = {
    "list_instances": "call list_instances to see the instances and their states",
    "list_images": "call list_rescue_images{args} to see the images offered now",
    "enter": "call enter_rescue{args} (preview first)",
    "exit": "call exit_rescue{args} first (preview, the person's yes, then confirm=true)",
    "account": "name the account with `account` (list_instances shows each instance's account)",
    "snapshots": "call list_snapshots{args} to see them",
}
# The tool each next step calls (naming the account is done with list_instances, which shows each instance's).
_TOOLS = {
    "list_instances": "list_instances",
    "list_images": "list_rescue_images",
    "enter": "enter_rescue",
    "exit": "exit_rescue",
    "account": "list_instances",
    "snapshots": "list_snapshots",
}


def facts_for_model(facts: dict[str, Any]) -> dict[str, Any]:
    """A failure's facts as the model gets them: `next` names the tool to call."""
    step = facts.get("next")
    if step is None:
        return facts
    return {**facts, "next": _TOOLS.get(str(step), str(step))}


def error_for_model(sentence: str, facts: dict[str, Any], *, named: bool = False) -> str:
    """An error's sentence and, when it has one, its next step as a tool call; `named` (several accounts are
    configured): the account it is about leads."""
    account = facts.get("account") if named else None
    if account is not None and not re.search(rf"\b[Aa]ccount {re.escape(str(account))}(?![\w.@-])", sentence):
        sentence = f"[account {account}] {sentence}"  # the sentence does not say which account it is about
    step = _STEPS.get(str(facts.get("next")))
    if step is None:
        return printable(sentence)
    instance = facts.get("instance_id")
    args = ", ".join(
        [*([f"instance_id={instance}"] if instance else []), *([f"account={account!r}"] if account else [])]
    )
    return printable(f"{sentence} Next: {step.format(args=f'({args})' if args else '')}.")


def _lines(lines: list[str]) -> str:
    """The text content: one line each, none of them broken or coloured by what the API sent."""
    return "\n".join(printable(line) for line in lines)


def render_for_model(result: BaseModel, *, named: bool = False) -> str:
    """The text content of a tool result; `named` (several accounts are configured): it names their accounts."""
    if isinstance(result, InstanceList):
        return _instances(result, named)
    if isinstance(result, RescueImageList):
        return _images(result, named)
    if isinstance(result, ActionResult):
        return _action(result, named)
    if isinstance(result, DiagnoseResult):
        return _diagnosis(result, named)
    if isinstance(result, InstanceCheck):
        return _check(result, named)
    return result.model_dump_json(exclude_none=True)


def _instance(i: Instance, named: bool = False) -> str:
    parts = [str(i.id), *([i.account or "?"] if named else []), i.name, i.ip or "-", i.status or "state unknown"]
    if i.item_status and i.item_status.lower() != "active":
        parts.append(f"billing: {i.item_status}")
    if i.os:
        parts.append(i.os)
    return " | ".join(parts)


def _instances(data: InstanceList, named: bool) -> str:
    shown = f"{data.offset + 1}-{data.offset + len(data.instances)}" if data.instances else "none"
    columns = "id | account | name | ip | state | os" if named else "id | name | ip | state | os"
    head = f"{data.total} instance(s) match; shown {shown} ({columns})"
    if data.next_offset is not None:
        head += f"; more: offset={data.next_offset}"
    if data.complete is False:
        head += "; the list is NOT complete (see note)"
    rows = [_instance(i, named) for i in data.instances]
    return _lines([head, *rows, *(f"note: {n}" for n in data.notes)])


def _images(data: RescueImageList, named: bool) -> str:
    who = f"instance {data.instance_id}" + (f" {data.name}" if data.name else "")
    if named:
        who += f" (account {data.account})"
    lines = [f"{who}: {data.status or 'state unknown'}", f"{len(data.images)} image(s) (id | zone | os | name):"]
    lines += [" | ".join([i.id, i.zone, i.os, *([i.name] if i.name else [])]) for i in data.images]
    return _lines(lines + [f"note: {n}" for n in data.notes])


def _action(data: ActionResult, named: bool) -> str:
    where = f" [account {data.account}]" if named else ""
    lines = [f"{_HEAD[data.kind]}{where}: {data.summary}"]
    if isinstance(data, EnterRescueResult | ResetPasswordResult) and data.password:
        lines.append(f"password (generated, shown only this once; give it to the person): {data.password}")
    if isinstance(data, RepairResult | CommandResult):
        lines += _in_rescue(data)
    elif data.executed:
        lines.append(
            f"state: {data.status_before or 'unknown'} -> {data.status or 'unknown'}; wait: {data.wait}"
            + (f" after {data.waited_seconds:.0f} s" if data.waited_seconds else "")
        )
    if isinstance(data, ExitRescueResult) and data.reachable is not None:
        lines.append(_reachable(data.reachable, data.banner, data.after_s))
    lines += [f"note: {n}" for n in data.notes if n != data.next_step]
    lines.append(f"next: {data.next_step}")
    return _lines(lines)


def _in_rescue(data: RepairResult | CommandResult) -> list[str]:
    """A repair's diff or commands and, once made, its outcome; a command's exit code and output."""
    if isinstance(data, CommandResult):
        if not data.executed:
            return [
                f"command: {data.command}",
                f"runs: {'chroot in ' if data.chroot else 'rescue system; root at /mnt/zomro-root: '}{data.device}",
            ]
        ended = "timed out" if data.timed_out else f"exit code {data.exit_code}"
        cut = " (output cut at 16 KiB)" if data.truncated else ""
        return [f"{ended}{cut}; output:", *(f"  {line}" for line in data.output.splitlines()[-200:])]
    lines = [f"fix: {data.fix} on {data.device}; files: {', '.join(data.files) or 'none'}"]
    if data.password:
        lines.append(f"root password (shown only this once; give it to the person): {data.password}")
    if not data.executed:
        lines += [f"  {line}" for line in data.diff.splitlines()] or []
        lines += [f"  $ {c}" for c in data.commands]
        return lines
    lines.append(f"problem gone: {'yes' if data.problem_gone else 'no'}; changed: {', '.join(data.files_changed)}")
    if data.backups:
        lines.append(f"backups: {', '.join(data.backups)}")
    lines += [f"  | {line}" for line in data.output[-5:]]
    lines += [f"still: {f.kind}: {f.summary}" for f in data.remaining[:5]]
    return lines


def _reachable(reachable: dict[str, bool], banner: str | None, after_s: float | None) -> str:
    """One line: each port and whether it answered, the SSH banner, how long it took."""
    ports = ", ".join(f"{port} {'yes' if ok else 'no'}" for port, ok in reachable.items())
    return f"answers: {ports}" + (f"; banner {banner}" if banner else "") + (f"; {after_s:.0f} s" if after_s else "")


def _check(data: InstanceCheck, named: bool) -> str:
    where = f" [account {data.account}]" if named else ""
    lines = [f"CHECK{where}: {data.summary}"]
    if data.reachable is not None:
        lines.append(_reachable(data.reachable, data.banner, data.after_s))
    lines += [f"note: {n}" for n in data.notes]
    lines.append(f"next: {data.next_step}")
    return _lines(lines)


def _diagnosis(data: DiagnoseResult, named: bool) -> str:
    """Findings first (critical first), each with its fix and a little evidence; then what was looked at."""
    where = f" [account {data.account}]" if named else ""
    key = "pinned now, first use in this rescue stay" if data.host_key_first_use else "the one pinned for this stay"
    lines = [
        f"DIAGNOSIS{where}: {data.summary}",
        f"rescue system {data.address}:{data.port}, host key {data.host_key} ({key})",
    ]
    if data.root is not None:
        root = data.root
        system = " ".join(p for p in (root.os_name, root.os_version) if p) or "unknown system"
        kernels = ", ".join(root.kernels[:3]) or "none"
        lines.append(f"root: {root.device} {root.fstype or '?'} {system}; kernels: {kernels}")
    examined = [d for d in data.disks if d.role == "instance"]
    lines.append("disks: " + (", ".join(f"{d.device} {d.fstype or d.type}" for d in examined[:8]) or "none examined"))
    for f in data.findings:
        fix = f"; fix: {f.fix}" + (f" target={f.target!r}" if f.target else "") if f.fix else ""
        lines.append(f"{f.severity.upper()} {f.kind}: {f.summary}{fix}")
        lines += [f"  | {e}" for e in f.evidence[:3]]
    lines += [f"note: {n}" for n in data.notes[:6]]
    lines.append(f"next: {data.next_step}")
    return _lines(lines)
