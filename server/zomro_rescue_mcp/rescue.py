"""What finding instances, listing rescue images, entering and leaving rescue mode mean, independent of MCP.

The MCP server and the CLI both call `RescueService`. Every check that can refuse a request runs before
the first mutating call; an unconfirmed request never reaches a mutating function. After a confirmed
request the service watches the instance (reads only) until it settles, the wait ends, or the caller
cancels; cancelling leaves the request as sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio

from . import redact
from .audit import Approval, Attempt, AuditTrail
from .billmanager import BillmanagerClient, Doc
from .errors import (
    ApiError,
    AuthError,
    NotFoundError,
    OutcomeUnknownError,
    PolicyRefusedError,
    StateConflictError,
    ZomroError,
)
from .images import parse_images, resolve_image
from .instances import BUSY, IN_RESCUE, fetch_instance, fetch_instances, matches
from .models import (
    EnterRescueResult,
    ExitRescueResult,
    Instance,
    InstanceList,
    RescueImage,
    RescueImageList,
    WaitOutcome,
    Zone,
)
from .passwords import check_password, generate_password

__all__ = ["RESCUE", "UNRESCUE", "ProgressFn", "RescueService"]

RESCUE = "instances.fleio.rescue"
UNRESCUE = "instances.fleio.unrescue"
log = logging.getLogger("zomro_rescue_mcp.rescue")
PasswordPlan = Literal["generated", "provided", "none"]
ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
"""Called while waiting: (seconds elapsed, seconds the wait may last, "state after N s")."""

_UNRECORDED = AuditTrail(None)
_CHECK_AGAIN = "Call list_instances (or list_rescue_images) in a minute to see its state; do not send it again."


class RescueService:
    """The rescue operations over one API client."""

    def __init__(
        self,
        api: BillmanagerClient,
        *,
        wait_seconds: float = 120.0,
        poll_interval: float = 3.0,
        read_only: bool = False,
        allowed_instances: frozenset[int] | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self._api = api
        self._wait_seconds = wait_seconds
        self._poll_interval = poll_interval
        self._read_only = read_only
        self._allowed = allowed_instances
        self._audit = audit or _UNRECORDED
        self._in_flight: set[int] = set()

    def _check_allowed(self, instance_id: int) -> None:
        """The operator's allowlist, checked before any API call."""
        if self._allowed is not None and instance_id not in self._allowed:
            raise PolicyRefusedError(
                f"Instance {instance_id} is not among the instances this server may touch (ZOMRO_ALLOWED_INSTANCES); "
                "nothing was sent. list_instances shows the ones it may."
            )

    def _check_writable(self) -> None:
        if self._read_only:
            raise PolicyRefusedError(
                "This server runs in read-only mode (ZOMRO_READ_ONLY): entering or leaving rescue mode is disabled, "
                "and nothing was sent. Ask the operator, or use the Zomro panel."
            )

    async def list_instances(self, query: str | None = None) -> InstanceList:
        """The account's instances, all pages; `query` keeps those whose id, name or IP contains it."""
        instances = await fetch_instances(self._api)
        if self._allowed is not None:
            instances = [i for i in instances if i.id in self._allowed]
        if query and query.strip():
            instances = [i for i in instances if matches(i, query)]
        return InstanceList(instances=instances)

    async def list_images(self, instance_id: int, zone: Zone | None = None) -> RescueImageList:
        """The rescue form's images (a preview without `sok`) and the instance's state, read side by side."""
        self._check_allowed(instance_id)
        instance, _, images = await self._look(instance_id)
        if zone is not None:
            images = [i for i in images if i.zone == zone]
        return RescueImageList(
            instance_id=instance_id,
            name=instance.name if instance else None,
            status=instance.status if instance else None,
            images=images,
        )

    async def enter(
        self,
        instance_id: int,
        image: str,
        *,
        zone: Zone | None = None,
        password: str | None = None,
        confirm: bool = False,
        wait: bool = True,
        on_progress: ProgressFn | None = None,
        approval: Approval = "not_required",
        audited: bool = True,
    ) -> EnterRescueResult:
        """Preview (confirm=False) or put the instance into rescue mode from the named image.

        `approval` is what the person answered when the operator requires approval; `audited=False` is for a
        validation that is not itself an attempt (the approval question's own preview).
        """
        trail = self._audit if audited else _UNRECORDED
        with trail.attempt("enter_rescue", instance_id, confirmed=confirm, approval=approval) as attempt:
            return await self._enter(
                attempt, instance_id, image, zone, password, confirm=confirm, wait=wait, on_progress=on_progress
            )

    async def _enter(
        self,
        attempt: Attempt,
        instance_id: int,
        image: str,
        zone: Zone | None,
        password: str | None,
        *,
        confirm: bool,
        wait: bool,
        on_progress: ProgressFn | None,
    ) -> EnterRescueResult:
        self._check_writable()
        self._check_allowed(instance_id)
        if password is not None:
            redact.register(password)
            check_password(password)
        instance, notes, offered = await self._look(instance_id)
        status = instance.status if instance else None
        _refuse_enter(instance_id, status)
        chosen = resolve_image(instance_id, image, zone, offered)
        attempt.image(chosen)
        plan: PasswordPlan = "provided" if password is not None else "generated" if chosen.zone == "pub" else "none"
        if not confirm:
            return EnterRescueResult(
                instance_id=instance_id,
                executed=False,
                image=chosen,
                password_plan=plan,
                status_before=status,
                status=status,
                notes=notes,
                summary=_enter_effect(instance_id, chosen, plan, done=False),
                next_step="Show this to the person. Only after they approve this exact action, call enter_rescue "
                f"again with image={chosen.id!r} (the image previewed), the same other arguments and confirm=true.",
            )
        _check_approval(instance_id, attempt.approval)
        generated = generate_password() if plan == "generated" else None
        redact.register_for_logs(generated)
        fields = {"elid": str(instance_id), "sok": "ok", "select_boot": chosen.id, "zone": chosen.zone}
        if password or generated:
            fields["password"] = password or generated or ""
        async with self._exclusive(instance_id):
            attempt.before_send()
            log.info(
                "entering rescue: instance %d, image %s (%s) [req=%s]",
                instance_id,
                chosen.id,
                chosen.zone,
                attempt.request_id,
            )
            doc = await self._submit(instance_id, RESCUE, fields, entering=True, generated=generated)
            final, outcome, waited = await self._settle(instance_id, "rescued", wait, on_progress)
        return EnterRescueResult(
            instance_id=instance_id,
            executed=True,
            image=chosen,
            password_plan=plan,
            password=generated,
            status_before=status,
            status=final,
            wait=outcome,
            waited_seconds=waited,
            notes=notes,
            summary=_enter_effect(instance_id, chosen, plan, done=True) + _progress_line(final, outcome, waited),
            next_step=(_CHECK_AGAIN if outcome == "timed_out" else _login_hint(plan))
            + " When the work is done, call exit_rescue (the person must approve it).",
            api_reply=_reply(doc),
        )

    async def exit(
        self,
        instance_id: int,
        *,
        confirm: bool = False,
        wait: bool = True,
        on_progress: ProgressFn | None = None,
        approval: Approval = "not_required",
        audited: bool = True,
    ) -> ExitRescueResult:
        """Preview (confirm=False) or take the instance out of rescue mode (unrescue takes no `sok`)."""
        trail = self._audit if audited else _UNRECORDED
        with trail.attempt("exit_rescue", instance_id, confirmed=confirm, approval=approval) as attempt:
            return await self._exit(attempt, instance_id, confirm=confirm, wait=wait, on_progress=on_progress)

    async def _exit(
        self, attempt: Attempt, instance_id: int, *, confirm: bool, wait: bool, on_progress: ProgressFn | None
    ) -> ExitRescueResult:
        self._check_writable()
        self._check_allowed(instance_id)
        instance, notes = await self._state(instance_id)
        status = instance.status if instance else None
        _refuse_exit(instance_id, status)
        if not confirm:
            return ExitRescueResult(
                instance_id=instance_id,
                executed=False,
                status_before=status,
                status=status,
                notes=notes,
                summary=f"Instance {instance_id} will leave rescue mode: it reboots from its own disk, and the "
                "rescue system and anything kept only in it are gone.",
                next_step="Show this to the person. Only after they approve, call exit_rescue again with confirm=true.",
            )
        _check_approval(instance_id, attempt.approval)
        async with self._exclusive(instance_id):
            attempt.before_send()
            log.info("leaving rescue: instance %d [req=%s]", instance_id, attempt.request_id)
            doc = await self._submit(instance_id, UNRESCUE, {"elid": str(instance_id)}, entering=False)
            final, outcome, waited = await self._settle(instance_id, "active", wait, on_progress)
        return ExitRescueResult(
            instance_id=instance_id,
            executed=True,
            status_before=status,
            status=final,
            wait=outcome,
            waited_seconds=waited,
            notes=notes,
            summary=f"Zomro accepted the request: instance {instance_id} is rebooting from its own disk."
            + _progress_line(final, outcome, waited),
            next_step=_CHECK_AGAIN if outcome == "timed_out" else "Check that the services on the instance are back.",
            api_reply=_reply(doc),
        )

    @asynccontextmanager
    async def _exclusive(self, instance_id: int) -> AsyncIterator[None]:
        """One confirmed request per instance at a time in this server."""
        if instance_id in self._in_flight:
            raise StateConflictError(
                f"Another confirmed request for instance {instance_id} is still running in this server: nothing was "
                "sent. Wait for its result, then look at the instance's state.",
                status="",
            )
        self._in_flight.add(instance_id)
        try:
            yield
        finally:
            self._in_flight.discard(instance_id)

    async def _submit(
        self, instance_id: int, func: str, fields: dict[str, str], *, entering: bool, generated: str | None = None
    ) -> Doc:
        """Send the mutating request once; once sent, its answer is awaited even if the caller cancels."""
        try:
            with anyio.CancelScope(shield=True):
                doc = await self._api.mutate(func, **fields)
        except ApiError as exc:
            raise _explain_refusal(instance_id, exc, entering=entering) from exc
        except OutcomeUnknownError as exc:
            if generated is None:
                raise
            raise OutcomeUnknownError(
                f"{exc} If it did enter rescue mode, its root password is {generated} (generated for this request "
                "and shown only now: give it to the person)."
            ) from exc
        return doc

    async def _look(self, instance_id: int) -> tuple[Instance | None, list[str], list[RescueImage]]:
        """The instance's state and the offered images, read concurrently (both are reads)."""
        state: tuple[Instance | None, list[str]] = (None, [])
        doc: Doc = {}

        async def read_state() -> None:
            nonlocal state
            state = await self._state(instance_id)

        async def read_form() -> None:
            nonlocal doc
            try:
                doc = await self._api.read(RESCUE, elid=str(instance_id))
            except NotFoundError as exc:
                raise _instance_not_found(instance_id, exc) from exc

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(read_state)
                group.start_soon(read_form)
        except BaseExceptionGroup as group_error:
            raise _first_error(group_error) from None
        return state[0], state[1], parse_images(doc)

    async def _state(self, instance_id: int) -> tuple[Instance | None, list[str]]:
        """The instance as it is now; when it cannot be read, None and a note: the API will decide."""
        try:
            return await fetch_instance(self._api, instance_id), []
        except NotFoundError as exc:
            raise _instance_not_found(instance_id, exc) from exc
        except AuthError:
            raise
        except ZomroError as exc:
            log.warning("could not read the state of instance %d: %s", instance_id, exc)
            return None, [
                f"The instance's state could not be read ({exc}); Zomro decides whether the request is possible."
            ]

    async def _settle(
        self, instance_id: int, target: str, wait: bool, on_progress: ProgressFn | None
    ) -> tuple[str | None, WaitOutcome, float]:
        """Watch the instance until it reaches `target` or `error`, or the wait ends; reads only."""
        if not wait or self._wait_seconds <= 0:
            return None, "not_waited", 0.0
        started = time.monotonic()
        last: str | None = None
        outcome: WaitOutcome = "timed_out"
        try:
            with anyio.move_on_after(self._wait_seconds):
                while True:
                    try:
                        last = (await fetch_instance(self._api, instance_id)).status
                    except ZomroError as exc:
                        log.info("reading the state of instance %d failed while waiting: %s", instance_id, exc)
                    elapsed = time.monotonic() - started
                    if on_progress is not None:
                        await on_progress(
                            round(elapsed, 1), self._wait_seconds, f"{last or 'unknown'} after {elapsed:.0f} s"
                        )
                    if last in (target, "error"):
                        outcome = "reached" if last == target else "error_state"
                        break
                    await anyio.sleep(self._poll_interval)
        except anyio.get_cancelled_exc_class():
            log.info("stopped watching instance %d: the caller cancelled; the request stays as sent", instance_id)
            raise
        return last, outcome, round(time.monotonic() - started, 1)


def _check_approval(instance_id: int, approval: Approval) -> None:
    """A confirmed request goes ahead only without an approval requirement, or with the person's yes."""
    refusals = {
        "declined": "the person declined the approval",
        "cancelled": "the approval was cancelled",
        "mismatch": f"the id typed for approval was not {instance_id}",
        "unsupported": "this server requires a person's approval for every confirmed request "
        "(ZOMRO_REQUIRE_APPROVAL), but this client cannot ask for it (no form elicitation)",
    }
    if approval in refusals:
        advice = (
            "Use a client that supports elicitation, or ask the operator."
            if approval == "unsupported"
            else "Ask the person again if they meant it."
        )
        raise PolicyRefusedError(f"Nothing was sent: {refusals[approval]}. {advice}")


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        if isinstance(exc, ZomroError):
            return exc
    return group.exceptions[0]


def _refuse_enter(instance_id: int, status: str | None) -> None:
    if status in IN_RESCUE:
        how = "booted from an ISO" if status == "booted_from_iso" else "already in rescue mode"
        raise StateConflictError(
            f"Instance {instance_id} is {how} (state {status}): nothing was sent. Keep working in it, or call "
            "exit_rescue first and then enter_rescue again.",
            status=status or "",
        )
    if status in BUSY:
        raise StateConflictError(
            f"Instance {instance_id} is busy (state {status}): nothing was sent. Try again when it is active; "
            "list_instances shows its state.",
            status=status or "",
        )


def _refuse_exit(instance_id: int, status: str | None) -> None:
    if status is None or status in IN_RESCUE:
        return
    if status in BUSY:
        raise StateConflictError(
            f"Instance {instance_id} is busy (state {status}): nothing was sent. Try again when it is rescued; "
            "list_instances shows its state.",
            status=status,
        )
    raise StateConflictError(
        f"Instance {instance_id} is not in rescue mode (state {status}): there is nothing to do, and nothing was sent.",
        status=status,
    )


def _progress_line(status: str | None, outcome: WaitOutcome, waited: float) -> str:
    if outcome == "reached":
        return f" It reached the state {status} after {waited:.0f} s."
    if outcome == "error_state":
        return (
            f" After {waited:.0f} s the instance is in the error state: ask Zomro support, or check it in the "
            "panel, before trying anything else."
        )
    if outcome == "timed_out":
        return (
            f" After {waited:.0f} s it is still {status or 'in an unknown state'}; the request was accepted and "
            "is still under way."
        )
    return " Its state was not watched."


def _enter_effect(instance_id: int, image: RescueImage, plan: PasswordPlan, *, done: bool) -> str:
    lead = (
        f"Zomro accepted the request: instance {instance_id} is rebooting"
        if done
        else f"Instance {instance_id} will be rebooted"
    )
    password = {
        "generated": "a strong root password is generated and shown once"
        if not done
        else "the root password in this result was generated for it",
        "provided": "the root password is the one the person gave",
        "none": "no password is set (the image's own login applies)",
    }[plan]
    return (
        f"{lead} into rescue mode from {image.os} ({image.zone} image {image.id}); {password}. Its own disk "
        "stays attached, unchanged, for repair; its services are down until it leaves rescue mode with "
        "exit_rescue."
    )


def _login_hint(plan: PasswordPlan) -> str:
    if plan == "generated":
        return (
            "Give the person the password (shown only this once) and tell them to log in over SSH as root "
            "to the instance's usual IP address."
        )
    return "Tell the person to log in over SSH as root to the instance's usual IP address."


_REPLY_NOISE = frozenset({"$lang", "$func", "$binary", "$host", "$theme", "$features", "tparams"})
_REPLY_SECRETS = frozenset({"auth", "authinfo", "password", "passwd", "$id"})


def _reply(doc: Doc) -> dict[str, Any]:
    """The API's answer, kept for the person, without page noise and with anything secret removed or masked."""
    cleaned = _clean({k: v for k, v in doc.items() if k not in _REPLY_NOISE})
    return cleaned if isinstance(cleaned, dict) else {}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k.lower() not in _REPLY_SECRETS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return redact.scrub(value) if isinstance(value, str) else value


def _instance_not_found(instance_id: int, exc: NotFoundError) -> NotFoundError:
    """Name the instance when the API says the object (`elid`) is missing; other misses stay as they are."""
    if exc.err_object != "elid":
        return exc
    return NotFoundError(
        f"Instance {instance_id} was not found in this Zomro account ({exc.api_message}). Check the id: "
        "list_instances shows the ids.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
    )


_ADVICE = {
    "select_boot": "the image is not offered for this instance any more: call list_rescue_images and choose again",
    "zone": "the image does not belong to that zone: call list_rescue_images and pass the image as listed",
    "password": "choose another rescue password, or leave it out to have one generated",
}


def _explain_refusal(instance_id: int, exc: ApiError, *, entering: bool) -> ApiError:
    """Add what to do next to the API's refusals that the person can act on."""
    if isinstance(exc, NotFoundError):
        return _instance_not_found(instance_id, exc)
    advice = _ADVICE.get(exc.err_object) if entering else None
    if "runningoperation" in (exc.err_type, exc.err_object):
        advice = "another operation is running on the instance: wait until it settles, then try again"
    elif exc.err_object == "instance_status":
        advice = (
            "the instance is already in rescue mode: keep working in it, or call exit_rescue first"
            if entering
            else "the instance is not in rescue mode, so there is nothing to do"
        )
    if advice is None:
        return exc
    action = "put instance {} into rescue mode" if entering else "take instance {} out of rescue mode"
    return type(exc)(
        f"Zomro refused to {action.format(instance_id)} ({exc.api_message}); nothing was changed: {advice}.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
    )
