"""Rebooting, starting and stopping an instance (`power_instance`), under the discipline of every change.

    preview (confirm=false): reads the instance's state only (its row in Zomro's list) and applies the panel's
             rules (power_rules.py); says what happens; issued a preview_id bound to the action and the instance
    confirm: the guard rails → the state read again → the preview rule → the person's yes → `service.ACTION` with
             `elid` only, sent once → watched until active (reboot, start) or stopped (stop) → does it answer

The power functions take no `sok`: they act on every call, so a preview never sends them, and a lost answer is
"outcome unknown: check the state", never a second call. The confirmed call holds the instance's lock (the one entering
and leaving rescue mode hold) and is audited (the action; never a password: there is none).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Unpack, cast

import anyio
from pydantic import Field

from .delivery import check_delivery
from .health import after_exit
from .messages import progress_line
from .models import ExitRescueResult
from .pipeline import Pipeline
from .power_rules import PowerAction, power_note, refuse_power
from .rescue import RescueService, RunOptions
from .sending import accepted as sent
from .sending import send_once
from .watch import ProgressFn, Watched, watch

__all__ = ["POWER_FUNCTIONS", "PowerAction", "PowerRequest", "PowerResult", "power_instance"]

log = logging.getLogger("zomro_rescue_mcp.power")
POWER_FUNCTIONS: dict[PowerAction, str] = {"reboot": "service.reboot", "start": "service.start", "stop": "service.stop"}
_TARGET: dict[PowerAction, str] = {"reboot": "active", "start": "active", "stop": "stopped"}


@dataclass(frozen=True)
class PowerRequest:
    """Reboot, start or stop `instance_id` (as the panel's buttons do: there is no hard reboot)."""

    instance_id: int
    action: PowerAction

    tool = "power_instance"


class PowerResult(ExitRescueResult):
    """A preview (executed=false) or the outcome (executed=true) of rebooting, starting or stopping an instance."""

    action: PowerAction = Field(description="reboot, start or stop.")

    def bound(self) -> list[str]:
        return ["power", self.action]


def _effect(instance_id: int, action: PowerAction) -> str:
    if action == "reboot":
        return (
            f"Instance {instance_id} will reboot (Zomro's reboot; there is no hard reboot): it is down for a moment, "
            "and what runs on it is stopped and started again."
        )
    if action == "start":
        return f"Instance {instance_id} will start from its own disk."
    return (
        f"Instance {instance_id} will be shut down and stay stopped until it is started (power_instance "
        "action=start). Billing goes on while it is stopped (Zomro shows it as temporarily suspended): stopping it "
        "saves no money."
    )


async def power_instance(service: RescueService, request: PowerRequest, **options: Unpack[RunOptions]) -> PowerResult:
    """Preview (confirm=false: reads only) or send `service.ACTION` once, then watch it settle."""
    confirm = options.get("confirm", False)
    pipeline: Pipeline = service.pipeline  # the account's API client and timing
    instance_id, action = request.instance_id, request.action
    async with service.guarded(request.tool, instance_id, options) as attempt:
        attempt.detail(action=action)
        instance, notes = await pipeline.state(instance_id)  # a read: the list row, never a power function
        status = instance.status if instance else None
        refuse_power(instance_id, action, instance)
        note = power_note(action, status)
        named = f" Name its account: account={service.account!r}." if service.named else ""
        shown = PowerResult(
            instance_id=instance_id,
            account=service.account,
            executed=False,
            action=action,
            status_before=status,
            status=status,
            notes=[*notes, note] if note else notes,
            summary=_effect(instance_id, action),
            next_step="Show this to the person. Only after they approve, call power_instance again with the same "
            f"action and confirm=true.{named}",
        )
        if not confirm:
            return shown if options.get("validating") else service.issue(shown)
        stopped = service.gate(attempt, shown, None, options)
        if stopped is not None:
            return stopped
        log.info("%s: instance %d [req=%s]", action, instance_id, attempt.request_id)
        fields = {"elid": str(instance_id)}  # the power functions take no sok
        doc = await send_once(
            pipeline.api,
            POWER_FUNCTIONS[action],
            fields,
            instance_id,
            refused=f"to {action} instance {instance_id}",
            otherwise=None,
        )
        attempt.accepted = True
        accepted = sent(
            service,
            shown,
            options,
            doc,
            summary=f"Zomro accepted the request to {action} instance {instance_id}.",
            next_step=_next_step(action, "not_waited"),
        )
        result = (
            await _settle(pipeline, accepted, options.get("on_progress")) if options.get("wait", True) else accepted
        )
        await check_delivery(attempt, result, options.get("delivered"))
        return result


def _leaving_seconds(pipeline: Pipeline) -> float:
    """How long a reboot is watched for leaving `active` (three reads, at most a quarter of the wait)."""
    return min(3 * pipeline.poll_interval, pipeline.wait_seconds / 4)


def _next_step(action: PowerAction, outcome: str) -> str:
    if outcome == "reached":
        return "Tell the person it is stopped." if action == "stop" else "Check that its services are back."
    if outcome == "error_state":
        return "Tell the person it went to the error state; ask Zomro support or check it in the Zomro panel."
    return "Check its state with list_instances in a while. Do not send the request again: it was accepted."


async def _settle(pipeline: Pipeline, accepted: PowerResult, on_progress: ProgressFn | None) -> PowerResult:
    """Watch the accepted request until the instance is active or stopped; back to active: does it answer?"""
    if pipeline.wait_seconds <= 0:
        return accepted
    action, iid = accepted.action, accepted.instance_id
    progress = _Forward(on_progress, pipeline.wait_seconds)
    notes: list[str] = []
    waited = 0.0
    before = accepted.status_before
    if action == "reboot":  # active before and after: first see it leave active, or the first read would "reach" it
        left = await _watch(pipeline, iid, "rebooting", "active", _leaving_seconds(pipeline), progress)
        waited, before = left.seconds, left.status or before
        if left.outcome != "reached" and left.status == "active":
            notes.append("The reboot was not seen under way (Zomro may have finished it between two reads).")
    progress.offset = waited
    seen = await _watch(pipeline, iid, _TARGET[action], before, max(pipeline.wait_seconds - waited, 0.0), progress)
    seconds = round(waited + seen.seconds, 1)
    result = accepted.model_copy(
        update={
            "status": seen.status,
            "wait": seen.outcome,
            "waited_seconds": seconds,
            "notes": [*accepted.notes, *notes, *seen.notes],
            "summary": accepted.summary + progress_line(seen.status, seen.outcome, seconds),
            "next_step": _next_step(action, seen.outcome),
        }
    )
    if seen.outcome == "reached" and action != "stop":
        ports = pipeline.health_ports
        return cast(
            "PowerResult", await after_exit(result, seen.address, ports, max(pipeline.wait_seconds - seconds, 0))
        )
    return result


async def _watch(
    pipeline: Pipeline, instance_id: int, target: str, before: str | None, seconds: float, progress: _Forward
) -> Watched:
    try:
        return await watch(
            pipeline.api,
            instance_id,
            target=target,
            before=before,
            wait_seconds=seconds,
            poll_interval=pipeline.poll_interval,
            on_progress=progress.report if progress.to is not None else None,
        )
    except anyio.get_cancelled_exc_class():
        log.warning(
            "the caller cancelled while instance %d was settling; the accepted request stays as sent", instance_id
        )
        raise


class _Forward:
    """Progress over the whole watch (of a reboot: two watches), always moving forward as MCP requires."""

    def __init__(self, to: ProgressFn | None, total: float) -> None:
        self.to, self.total = to, total
        self.offset = 0.0  # the seconds of the watches before this one
        self.last = -1.0

    async def report(self, progress: float, total: float | None, message: str) -> None:
        if self.to is not None:
            self.last = max(self.offset + progress, self.last + 0.001)
            await self.to(self.last, self.total, message)
