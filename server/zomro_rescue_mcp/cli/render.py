"""Words for a person at a terminal, and for a script reading `--json`: the CLI's tables and the results of `enter`,
`exit` and `diagnose`, written from the outcome's data with real ids and the commands a person runs (never the MCP
tool names the model is told about). Text from the API or the rescue system (names, labels, answers, findings) is
shown escaped, never raw: every line and every cell written here goes through `printable`.
"""

from __future__ import annotations

from typing import Any

from ..core.printable import printable
from ..operations.diagnosis import DiagnoseResult
from ..operations.health import InstanceCheck
from ..operations.images import is_windows
from ..operations.models import ActionResult, EnterRescueResult, Instance, InstanceList, RescueImageList

__all__ = [
    "action_document",
    "action_lines",
    "check_lines",
    "diagnosis_document",
    "diagnosis_lines",
    "diagnosis_refusal",
    "error_for_people",
    "facts_for_people",
    "image_table",
    "instance_table",
    "lines",
    "next_line",
    "row",
    "settled_lines",
]

CLI = "zomro-rescue-mcp"


_STEPS = {
    "list_instances": "run `{cli} instances` to see the instances and their states",
    "list_images": "run `{cli} images {target}` to see the images offered now",
    "enter": "run `{cli} enter {target} --image IMAGE`",
    "exit": "run `{cli} exit {target}` first",
    "account": "add `--account NAME` (`{cli} accounts` lists them; `{cli} instances` shows each instance's)",
    "snapshots": "run `{cli} snapshots {target}` to see them",
}
# The command each next step runs.
_COMMANDS = {
    "list_instances": "instances",
    "list_images": "images",
    "enter": "enter",
    "exit": "exit",
    "account": "accounts",
    "snapshots": "snapshots",
}


def _target(instance_id: object, account: object, named: bool) -> str:
    """An instance as a command names it: its id, and its account when several are configured."""
    return f"{instance_id} --account {account}" if named and account else str(instance_id)


def facts_for_people(facts: dict[str, Any]) -> dict[str, Any]:
    """A failure's facts as `--json` prints them: `next` names the command to run."""
    step = facts.get("next")
    if step is None:
        return facts
    return {**facts, "next": _COMMANDS.get(str(step), str(step))}


def error_for_people(sentence: str, facts: dict[str, Any], *, named: bool = False) -> str:
    """An error's sentence and, when it has one, its next step as the command a person runs (`named`: several
    accounts are configured, so the command names the account)."""
    step = _STEPS.get(str(facts.get("next")))
    if step is None:
        return printable(sentence)
    target = _target(facts.get("instance_id", "INSTANCE"), facts.get("account"), named)
    return printable(f"{sentence} Next: {step.format(cli=CLI, target=target)}.")


def lines(*texts: str) -> str:
    """Lines for the terminal, none of them broken or coloured by what the API sent."""
    return "\n".join(printable(text) for text in texts)


def row(widths: tuple[int, ...], *cells: object) -> str:
    """One row of a table: each cell escaped, then padded to its column's width (the last ones as they are)."""
    shown = [printable(str(cell)) for cell in cells]
    padded = [cell.ljust(width) for cell, width in zip(shown, widths, strict=False)]
    return "  ".join([*padded, *shown[len(widths) :]]).rstrip()


_INSTANCE_WIDTHS = (10, 20, 16, 16)
_NAMED_WIDTHS = (10, 12, 20, 16, 16)
_IMAGE_WIDTHS = (36, 4, 28)


def _instance_row(i: Instance, named: bool) -> str:
    if named:
        return row(_NAMED_WIDTHS, i.id, i.account or "?", i.name, i.ip or "-", i.status or "?", i.os or "-")
    return row(_INSTANCE_WIDTHS, i.id, i.name, i.ip or "-", i.status or "?", i.os or "-")


def _head(named: bool) -> str:
    if named:
        return row(_NAMED_WIDTHS, "ID", "ACCOUNT", "NAME", "IP", "STATE", "OS")
    return row(_INSTANCE_WIDTHS, "ID", "NAME", "IP", "STATE", "OS")


def instance_table(data: InstanceList | Instance, *, named: bool = False) -> str:
    """A page of instances (or one instance) as a table, with how to see more and the notes."""
    if isinstance(data, Instance):
        return "\n".join([_head(named), _instance_row(data, named)])
    rows = [_instance_row(i, named) for i in data.instances]
    text = [_head(named), *rows] if rows else ["no instances"]
    if data.next_offset is not None:
        shown = f"{data.offset + 1}-{data.offset + len(data.instances)}"
        text.append(lines(f"{shown} of {data.total}; more with --offset {data.next_offset}, or all with --all"))
    return "\n".join([*text, *(printable(n) for n in data.notes)])


def image_table(data: RescueImageList, *, named: bool = False) -> str:
    """The images offered for an instance, after a line on the instance's state, and the notes."""
    whose = f" of account {data.account}" if named else ""
    head = f"instance {data.instance_id} ({data.name or '?'}){whose} is {data.status or 'in an unknown state'}"
    rows = [row(_IMAGE_WIDTHS, i.id, i.zone, i.os, i.name or "") for i in data.images]
    table = [printable(head), row(_IMAGE_WIDTHS, "IMAGE", "ZONE", "OS", "NAME"), *rows]
    return "\n".join([*table, *map(printable, data.notes)])


def _effect(data: ActionResult, named: bool) -> str:
    """What a preview will do, or what an executed request does, in a sentence that begins in lower case."""
    done = data.executed
    verb = "is rebooting" if done else "will reboot"
    if isinstance(data, EnterRescueResult):
        image = data.image
        who = "administrator" if is_windows(image) else "root"
        password = {
            "generated": f"a generated {who} password ({'below' if done else 'shown once, after the go-ahead'})",
            "provided": f"the {who} password you gave",
            "none": "no password (the image's own login applies)",
        }[data.password_plan]
        return (
            f"instance {data.instance_id} {verb} into rescue mode from {image.os} ({image.zone} image {image.id}), "
            f"with {password}. Its own disk stays attached, unchanged; its services are down until "
            f"`{CLI} exit {_target(data.instance_id, data.account, named)}`."
        )
    return (
        f"instance {data.instance_id} {verb} from its own disk; the rescue system and anything kept only in it are "
        "gone."
    )


def _lead(data: ActionResult, named: bool) -> str:
    """PREVIEW, or EXECUTED (the word the tools and the `executed` kind use for a request Zomro accepted)."""
    whose = f" on account {data.account}" if named and data.account else ""
    return ("EXECUTED" if data.executed else "PREVIEW") + whose


def action_lines(data: ActionResult, *, named: bool = False) -> list[str]:
    """What a preview will do, or what an executed request did, and a generated password at once."""
    said = [f"{_lead(data, named)}: {_effect(data, named)}"]
    if isinstance(data, EnterRescueResult) and data.password:
        who = "administrator" if is_windows(data.image) else "root"
        said.append(f"rescue {who} password (shown once): {data.password}")
    return [printable(line) for line in [*said, *data.notes]]


def settled_lines(data: ActionResult) -> str:
    """How the watch after an executed request ended, and its notes."""
    state = f"state: {data.status or 'unknown'} ({data.wait}, {data.waited_seconds:.0f} s)"
    reachable = getattr(data, "reachable", None)  # an exit that settled to active: does the instance answer?
    said = [_answers(reachable, getattr(data, "banner", None))] if reachable is not None else []
    return lines(state, *said, *data.notes)


def _next_step(data: ActionResult, named: bool, dry_run: bool) -> str:
    """What to do next: after a preview, how to go ahead; after a request, by how it went and how the watch ended."""
    target = _target(data.instance_id, data.account, named)
    if not data.executed:
        if dry_run:
            return (
                "nothing was sent; to go ahead, run the same command without --dry-run (it asks you to type the "
                "instance id; --yes stands for that once the preview was reviewed)"
            )
        return "type the instance id when asked, to go ahead (or pass --yes once the preview was reviewed)"
    status = f"`{CLI} status {target}`"
    if data.wait == "error_state":
        return "the instance went into the error state: ask Zomro support, or look at it in the panel"
    if data.wait == "unwatchable":
        return "its state could not be read, so check it in the Zomro panel; do not send the request again"
    if data.wait in ("timed_out", "not_waited"):
        return f"look with {status} in a minute; do not send the request again"
    if isinstance(data, EnterRescueResult):
        if is_windows(data.image):
            login = "open the instance's VNC console in the Zomro panel (no SSH login on this image)"
        else:
            login = (
                f"run `{CLI} diagnose {target}` to see what is wrong before any repair (it asks for the rescue "
                "password and writes nothing on the disk), or log in over SSH as root to the instance's usual IP "
                "address"
            )
        return f"{login}; when the repair is done, run `{CLI} exit {target}`"
    return "check that the services on the instance are back"


def next_line(data: ActionResult, *, named: bool = False, dry_run: bool = False) -> str:
    """The last line of enter/exit: what to do next."""
    return printable(f"next: {_next_step(data, named, dry_run)}.")


def action_document(data: ActionResult, *, named: bool = False, dry_run: bool = False) -> dict[str, Any]:
    """An action result as `--json` prints it: the tools' data, with its summary and next step written for the
    command line (commands a person runs, not tool calls)."""
    effect, step = _effect(data, named), _next_step(data, named, dry_run)
    return {
        **data.model_dump(mode="json"),
        "summary": effect[0].upper() + effect[1:],
        "next_step": step[0].upper() + step[1:] + ".",
    }


_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
_FINDING_WIDTHS = (8, 22, 56)
_EVIDENCE_SHOWN = 3  # lines of evidence under each finding; --json has them all


def _diagnosis_next(data: DiagnoseResult, named: bool) -> str:
    """What to do after a diagnosis, in commands a person runs."""
    leave = f"`{CLI} exit {_target(data.instance_id, data.account, named)}`"
    fixes = sorted({f.fix for f in data.findings if f.fix})
    if not fixes:
        return f"when you are done in rescue mode, run {leave}"
    fix = f"`{CLI} repair {_target(data.instance_id, data.account, named)} FIX TARGET`"
    return (
        f"each finding names its fix ({', '.join(fixes)}): preview one with {fix} (it shows the exact change and "
        f"asks before making it), then run {leave}"
    )


def diagnosis_lines(data: DiagnoseResult, *, named: bool = False) -> str:
    """A diagnosis for a person: what was looked at, then the findings as a table (critical first, each with its
    fix and a little of its evidence), the notes and the next step."""
    whose = f" on account {data.account}" if named and data.account else ""
    key = "first seen in this rescue stay, now trusted" if data.host_key_first_use else "as trusted in this stay"
    said = [
        f"DIAGNOSIS{whose}: {data.summary}",
        f"rescue system {data.address}:{data.port}, host key {data.host_key} ({key})",
    ]
    if data.root is not None:
        root = data.root
        system = " ".join(p for p in (root.os_name, root.os_version) if p) or "unknown system"
        said.append(f"root: {root.device} {root.fstype or '?'} {system}; kernels: {', '.join(root.kernels) or 'none'}")
    examined = [f"{d.device} {d.fstype or d.type}" for d in data.disks if d.role == "instance"]
    said.append(f"disks: {', '.join(examined) or 'none examined'}")
    text = [printable(line) for line in said]
    findings = sorted(data.findings, key=lambda f: _SEVERITY_RANK[f.severity])
    if findings:
        text.append(row(_FINDING_WIDTHS, "SEVERITY", "KIND", "SUMMARY", "FIX"))
    for f in findings:
        text.append(row(_FINDING_WIDTHS, f.severity, f.kind, f.summary, f.fix or "-"))
        text += [printable(f"{'':8}  | {e}") for e in f.evidence[:_EVIDENCE_SHOWN]]
        if len(f.evidence) > _EVIDENCE_SHOWN:
            text.append(printable(f"{'':8}  | (and {len(f.evidence) - _EVIDENCE_SHOWN} more: see --json)"))
    text += [printable(f"note: {n}") for n in data.notes]
    text.append(printable(f"next: {_diagnosis_next(data, named)}."))
    return "\n".join(text)


def diagnosis_document(data: DiagnoseResult, *, named: bool = False) -> dict[str, Any]:
    """A diagnosis as `--json` prints it: the tool's data, its next step written for the command line."""
    step = _diagnosis_next(data, named)
    return {**data.model_dump(mode="json"), "next_step": step[0].upper() + step[1:] + "."}


def _answers(reachable: dict[str, bool], banner: str | None) -> str:
    ports = ", ".join(f"{port} {'yes' if ok else 'no'}" for port, ok in reachable.items())
    return f"answers: {ports}" + (f"; banner {banner}" if banner else "")


def check_lines(data: InstanceCheck, *, named: bool = False) -> str:
    """Whether an instance answers, for a person: the state, each port, the banner, the notes and the next step."""
    whose = f" on account {data.account}" if named and data.account else ""
    said = [f"CHECK{whose}: {data.summary}"]
    if data.reachable is not None:
        said.append(_answers(data.reachable, data.banner))
    target = _target(data.instance_id, data.account, named)
    if data.reachable is None:
        step = "check the instance in the Zomro panel"
    elif all(data.reachable.values()):
        step = "check that its services are back"
    else:
        step = (
            f"if it was started a moment ago, run `{CLI} check {target}` again in a minute; if it still does not "
            f"answer, run `{CLI} enter {target} --image IMAGE` and `{CLI} diagnose {target}`, or open its console "
            "in the Zomro panel"
        )
    return lines(*said, *(f"note: {n}" for n in data.notes), f"next: {step}.")


def diagnosis_refusal(kind: str, facts: dict[str, Any]) -> str | None:
    """A person's sentence for a diagnosis refused before any connection, where the operations' words speak of the
    tools and their arguments; None: the refusal reads the same for both."""
    instance = facts.get("instance_id", "INSTANCE")
    if kind == "invalid.rescue_password":
        return (
            f"A command holds no rescue password of instance {instance}: give it on stdin with "
            "--rescue-password-stdin (at a terminal it is asked for, not shown). Nothing was done."
        )
    if kind == "refused.not_in_rescue":
        status = facts.get("status", "in another state")
        return (
            f"Instance {instance} is {status}, not in rescue mode, so there is no rescue system to look from: enter "
            "rescue mode first. Nothing was done."
        )
    return None
