"""Repairs and commands in an instance's rescue system, under the discipline of every change.

    preview (confirm=false): read-only; shows the exact diff or commands and where; issued a preview_id
    confirm: the guard rails → read again (a new plan, read-only) → the preview rule (the same diff, commands and
             device as the preview showed) → the person's yes → one execution, never re-run → the verdict

A repair (`repair_instance`) is one named fix of rescue_system.repairs; a command (`run_in_rescue`) is one command line
the person approved, every one of them a change: there is no list of "safe" commands that skips the preview. Both hold
the instance's lock (the one entering and leaving rescue mode hold), both are audited (the fix, the files and the
verdict; the command and its exit code; never a password, a key or the output), and a lost answer is "outcome
unknown: diagnose again", never a second run.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Unpack

from ..core import redact
from ..core.errors import InvalidRequestError
from ..rescue_system.commands import CommandRun, locate_root, run_command
from ..rescue_system.repairs import REPAIRS, RepairOutcome, RepairPlan, apply_repair, plan_repair
from .audit import Attempt
from .delivery import check_delivery
from .passwords import check_password, generate_password
from .repair_results import CommandResult, RepairResult
from .rescue import RescueService, RunOptions
from .rescue_access import Reached, reach
from .rescue_logins import RescueLogins

__all__ = ["CommandRequest", "RepairRequest", "repair_instance", "run_in_rescue"]

log = logging.getLogger("zomro_rescue_mcp.repairs")
SET_PASSWORD = "account.set_root_password"
ADD_KEY = "ssh.add_key"


@dataclass(frozen=True)
class RepairRequest:
    """Apply `fix` to `target` on the instance's disk (`disk`: the one disk to look at, when several hold a root)."""

    instance_id: int
    fix: str
    target: str | None = None
    password: str | None = field(default=None, repr=False)  # account.set_root_password only
    rescue_password: str | None = field(default=None, repr=False)
    disk: str | None = None

    tool = "repair_instance"


@dataclass(frozen=True)
class CommandRequest:
    """Run `command` (one line) in the rescue system, inside the instance's root when `chroot`."""

    instance_id: int
    command: str
    chroot: bool = True
    timeout_s: int = 60
    rescue_password: str | None = field(default=None, repr=False)
    disk: str | None = None

    tool = "run_in_rescue"


def _check_repair(request: RepairRequest) -> None:
    if request.fix not in REPAIRS:
        raise InvalidRequestError(
            f"There is no fix {request.fix[:60]!r}; the fixes are: {', '.join(REPAIRS)}. Nothing was done.",
            kind="invalid.arguments",
            instance_id=request.instance_id,
        )
    if request.password is not None:
        redact.register(request.password)  # a secret from the moment it is given
        if request.fix != SET_PASSWORD:
            raise InvalidRequestError(
                f"password is only for fix={SET_PASSWORD}; nothing was done.", instance_id=request.instance_id
            )
        check_password(request.password, what="root password", otherwise=" and shown once")


def _audited_target(request: RepairRequest) -> str | None:
    """The target as the audit trail keeps it: a public key by its digest, never the key itself."""
    if request.fix == ADD_KEY and request.target:
        return "sha256:" + hashlib.sha256(request.target.strip().encode("utf-8", "replace")).hexdigest()[:16]
    return request.target


def _shown(service: RescueService, reached: Reached, plan: RepairPlan, request: RepairRequest) -> RepairResult:
    instance_id = request.instance_id
    touched = ", ".join(plan.files) or "nothing"
    named = f" Name its account: account={service.account!r}." if service.named else ""
    return RepairResult(
        instance_id=instance_id,
        account=service.account,
        executed=False,
        status_before=reached.instance.status,
        status=reached.instance.status,
        fix=plan.fix,
        target=plan.target,
        device=plan.device,
        files=plan.files,
        diff=plan.diff,
        commands=plan.commands,
        summary=f"{plan.summary} On {plan.device} of instance {instance_id}; files: {touched}.",
        next_step="Show the diff (or the commands) to the person. Only after they approve this exact change, call "
        f"repair_instance again with the same fix and target and confirm=true.{named}",
    )


async def repair_instance(
    service: RescueService, logins: RescueLogins, request: RepairRequest, *, port: int, **options: Unpack[RunOptions]
) -> RepairResult:
    """Preview (confirm=false: reads only) or apply one named fix, once, after the preview rule and approval."""
    _check_repair(request)
    confirm = options.get("confirm", False)
    on_progress = options.get("on_progress")
    async with service.guarded(request.tool, request.instance_id, options) as attempt:
        attempt.detail(fix=request.fix, target=_audited_target(request))
        reached = await reach(service, logins, request.instance_id, request.rescue_password, port)
        if on_progress is not None:
            await on_progress(1, 3, f"Reading what {request.fix} would change (read-only)")
        plan = await plan_repair(reached.target, logins.trust, request.fix, request.target, disk=request.disk)
        attempt.detail(device=plan.device, files=plan.files)
        shown = _shown(service, reached, plan, request)
        if not confirm:
            return shown if options.get("validating") else service.issue(shown, request.password)
        stopped = service.gate(attempt, shown, request.password, options)
        if stopped is not None:
            return stopped
        password = request.password
        if request.fix == SET_PASSWORD and password is None:
            password = generate_password()
            redact.register_for_logs(password)  # shown once in the result; never in a log line
        if on_progress is not None:
            await on_progress(2, 3, f"Applying {request.fix} on {plan.device}")
        log.info(
            "repair %s on instance %d (%s) [req=%s]", plan.fix, request.instance_id, plan.device, attempt.request_id
        )
        outcome = await apply_repair(reached.target, logins.trust, plan, password=password)
        attempt.accepted = True
        _record(attempt, outcome)
        if on_progress is not None:
            await on_progress(3, 3, outcome.verdict)
        given = request.password is not None  # the person's own password is never shown back
        result = _outcome(service, shown, outcome.model_copy(update={"password": None}) if given else outcome, options)
        await check_delivery(attempt, result, options.get("delivered"))
        return result


def _record(attempt: Attempt, outcome: RepairOutcome) -> None:
    attempt.detail(
        files_changed=outcome.files_changed,
        backups=outcome.backups,
        verdict="problem_gone" if outcome.problem_gone else "problem_remains",
    )


def _outcome(service: RescueService, shown: RepairResult, outcome: RepairOutcome, options: RunOptions) -> RepairResult:
    by, notes = service.approval_notes(options)
    backups = f" Backups: {', '.join(outcome.backups)}." if outcome.backups else ""
    if outcome.problem_gone:
        step = (
            "Tell the person what changed. Diagnose again (diagnose_instance) if other findings remain; when none "
            "is critical, leave rescue mode with exit_rescue, which checks that the instance answers."
        )
    else:
        step = "Diagnose again (diagnose_instance) before deciding what to do next; the fix did not clear the problem."
    return shown.model_copy(
        update={
            "kind": "executed",
            "executed": True,
            "files_changed": outcome.files_changed,
            "backups": outcome.backups,
            "problem_gone": outcome.problem_gone,
            "verdict": outcome.verdict,
            "remaining": outcome.remaining,
            "password": outcome.password,
            "output": outcome.output,
            "elapsed_s": outcome.elapsed_s,
            "preview_id": None,
            "approved_by": by,
            "notes": [*shown.notes, *notes],
            "summary": f"{outcome.verdict}{backups}",
            "next_step": step,
        }
    )


# --- commands ------------------------------------------------------------------------------------------------------


def _check_command(request: CommandRequest) -> None:
    command = request.command
    if not command.strip() or len(command) > 2000 or any(c in command for c in "\n\r\x00"):
        raise InvalidRequestError(
            "command must be one line of 1 to 2,000 characters (no line breaks); nothing was run.",
            instance_id=request.instance_id,
        )
    if not 1 <= request.timeout_s <= 300:
        raise InvalidRequestError(
            "timeout_s must be 1 to 300 seconds; nothing was run.", instance_id=request.instance_id
        )


async def run_in_rescue(
    service: RescueService, logins: RescueLogins, request: CommandRequest, *, port: int, **options: Unpack[RunOptions]
) -> CommandResult:
    """Preview (confirm=false: finds where it would run, reads only) or run one command line, once."""
    _check_command(request)
    confirm = options.get("confirm", False)
    async with service.guarded(request.tool, request.instance_id, options) as attempt:
        attempt.detail(command=request.command, chroot=request.chroot)
        reached = await reach(service, logins, request.instance_id, request.rescue_password, port)
        device = await locate_root(reached.target, logins.trust, disk=request.disk)  # read-only
        if request.chroot:
            where = f"inside instance {request.instance_id}'s own root ({device}), chrooted"
        else:
            where = f"in the rescue system, with instance {request.instance_id}'s root ({device}) at /mnt/zomro-root"
        named = f" Name its account: account={service.account!r}." if service.named else ""
        shown = CommandResult(
            instance_id=request.instance_id,
            account=service.account,
            executed=False,
            status_before=reached.instance.status,
            status=reached.instance.status,
            command=request.command,
            chroot=request.chroot,
            timeout_s=request.timeout_s,
            device=device,
            summary=f"Runs `{request.command}` {where}, once, stopped after {request.timeout_s} s.",
            next_step="Show the exact command to the person. Only after they approve it, call run_in_rescue again "
            f"with the same command, chroot and timeout_s and confirm=true.{named}",
        )
        if not confirm:
            return shown if options.get("validating") else service.issue(shown)
        stopped = service.gate(attempt, shown, None, options)
        if stopped is not None:
            return stopped
        log.info("command in the rescue system of instance %d [req=%s]", request.instance_id, attempt.request_id)
        ran = await run_command(
            reached.target,
            logins.trust,
            request.command,
            chroot=request.chroot,
            timeout_s=request.timeout_s,
            disk=request.disk,
        )
        attempt.accepted = True
        attempt.detail(exit_code=ran.exit_code, timed_out=ran.timed_out)
        result = _ran(service, shown, ran, options)
        await check_delivery(attempt, result, options.get("delivered"))
        return result


def _ran(service: RescueService, shown: CommandResult, ran: CommandRun, options: RunOptions) -> CommandResult:
    by, notes = service.approval_notes(options)
    if ran.timed_out:
        said = f"It was stopped at its time limit ({shown.timeout_s} s)."
    else:
        said = f"It ended with exit code {ran.exit_code}."
    cut = " Its output was longer than 16 KiB and is cut." if ran.truncated else ""
    left = [f"Still mounted after the command (unmount it by hand): {', '.join(ran.left_mounted)}."]
    return shown.model_copy(
        update={
            "kind": "executed",
            "executed": True,
            "exit_code": ran.exit_code,
            "output": redact.scrub(ran.output),  # a secret this server knows never comes back
            "truncated": ran.truncated,
            "timed_out": ran.timed_out,
            "elapsed_s": ran.elapsed_s,
            "preview_id": None,
            "approved_by": by,
            "notes": [*shown.notes, *notes, *(left if ran.left_mounted else [])],
            "summary": f"Ran `{shown.command}`. {said}{cut}",
            "next_step": "Show the output to the person. Diagnose again (diagnose_instance) to see the disk's state "
            "before leaving rescue mode.",
        }
    )
