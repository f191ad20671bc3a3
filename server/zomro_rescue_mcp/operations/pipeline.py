"""The stages of entering and leaving rescue mode: request → preview → (approval) → execute → settle.

Each stage is a plain, typed step over one API client and knows nothing of MCP, the terminal, the audit trail
or the operator's guard rails; `RescueService` walks them in order with those around it, and the MCP tools, the
CLI and approval all reach them through it. Reads only, except `Pipeline.execute`, which sends once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

import anyio
from pydantic import BaseModel

from ..core import redact
from ..core.errors import ApiError, AuthError, NotFoundError, OutcomeUnknownError, ZomroError
from ..core.tasks import concurrently
from ..wire.billmanager import BillmanagerClient, Doc
from .health import after_exit
from .images import is_windows, parse_images, resolve_image
from .instances import find_instance
from .messages import (
    REPLY_CUT,
    PasswordPlan,
    api_reply,
    enter_effect,
    enter_next_step,
    exit_next_step,
    explain_refusal,
    instance_not_found,
    progress_line,
)
from .models import EnterRescueResult, ExitRescueResult, Instance, RescueImage, Zone
from .passwords import check_password, generate_password
from .preflight import enter_note, refuse_enter, refuse_exit
from .snapshot_reads import Images, read_images, snapshot_hint
from .watch import ProgressFn, Watched, watch

__all__ = [
    "RESCUE",
    "UNRESCUE",
    "AnyPreview",
    "EnterRequest",
    "ExitRequest",
    "Pipeline",
    "Preview",
    "Request",
    "Settled",
]

RESCUE = "instances.fleio.rescue"
UNRESCUE = "instances.fleio.unrescue"
log = logging.getLogger("zomro_rescue_mcp.rescue")

Result = TypeVar("Result", EnterRescueResult, ExitRescueResult)
Settled = TypeVar("Settled", bound=EnterRescueResult | ExitRescueResult)  # one of them, or either


@dataclass(frozen=True)
class EnterRequest:
    """Put `instance_id` into rescue mode from `image` (id, OS label or name); `password` is never shown."""

    instance_id: int
    image: str
    zone: Zone | None = None
    password: str | None = field(default=None, repr=False)

    tool = "enter_rescue"


@dataclass(frozen=True)
class ExitRequest:
    """Take `instance_id` out of rescue mode."""

    instance_id: int

    tool = "exit_rescue"


Request = EnterRequest | ExitRequest


@dataclass(frozen=True)
class Preview(Generic[Result]):
    """A request resolved against what the API says now: the result to show, and what it was resolved to."""

    request: EnterRequest | ExitRequest
    result: Result
    instance: Instance | None
    image: RescueImage | None = None  # the image chosen (enter only)
    plan: PasswordPlan | None = None  # the password plan (enter only)


AnyPreview = Preview[EnterRescueResult] | Preview[ExitRescueResult]


class Pipeline:
    """The stages over one API client, with the watch's timing."""

    def __init__(
        self,
        api: BillmanagerClient,
        *,
        wait_seconds: float,
        poll_interval: float,
        health_ports: tuple[int, ...] = (22,),
    ) -> None:
        self.api = api
        self.wait_seconds = wait_seconds
        self.poll_interval = poll_interval
        self.health_ports = health_ports  # an instance back from rescue mode must answer on these (health.py)

    # --- preview -------------------------------------------------------------------------------------------

    async def preview_enter(self, request: EnterRequest, *, hint: bool = True) -> Preview[EnterRescueResult]:
        """Resolve an enter request: state and images read side by side, the panel's rules, image, password plan;
        with `hint` (a preview shown to the caller), the snapshot list beside them, for the snapshot advice."""
        if request.password is not None:
            check_password(request.password)  # its refusal never echoes it
        instance_id = request.instance_id
        images: Images | None = None

        async def read_snapshots() -> None:
            nonlocal images
            try:
                images = await read_images(self.api, instance_id, "snapshot")
            except (AuthError, OutcomeUnknownError):
                raise
            except ZomroError as exc:  # the hint is advice: rescue mode does not depend on it
                log.info("could not read the snapshots of instance %d: %s", instance_id, exc)

        instance, notes, offered = await self.look(instance_id, also=read_snapshots if hint else None)
        status = instance.status if instance else None
        refuse_enter(instance_id, instance)
        snapshot_today, advice = snapshot_hint(images) if hint else (None, None)
        note = enter_note(status)
        notes = [*notes, *(said for said in (note, advice) if said)]
        chosen = resolve_image(instance_id, request.image, request.zone, offered)
        plan: PasswordPlan = (
            "provided" if request.password is not None else "generated" if chosen.zone == "pub" else "none"
        )
        result = EnterRescueResult(
            instance_id=instance_id,
            executed=False,
            image=chosen,
            password_plan=plan,
            status_before=status,
            status=status,
            snapshot_today=snapshot_today,
            notes=notes,
            summary=enter_effect(instance_id, chosen, plan, done=False),
            next_step="Show this to the person. Only after they approve this exact action, call enter_rescue "
            f"again with image={chosen.id!r} (the image previewed), the same other arguments and confirm=true.",
        )
        return Preview(request, result, instance, chosen, plan)

    async def preview_exit(self, request: ExitRequest) -> Preview[ExitRescueResult]:
        """Resolve an exit request: the instance's state and the panel's rule."""
        instance_id = request.instance_id
        instance, notes = await self.state(instance_id)
        status = instance.status if instance else None
        refuse_exit(instance_id, status)
        result = ExitRescueResult(
            instance_id=instance_id,
            executed=False,
            status_before=status,
            status=status,
            notes=notes,
            summary=f"Instance {instance_id} will leave rescue mode: it reboots from its own disk, and the "
            "rescue system and anything kept only in it are gone.",
            next_step="Show this to the person. Only after they approve, call exit_rescue again with confirm=true.",
        )
        return Preview(request, result, instance)

    # --- execute -------------------------------------------------------------------------------------------

    async def execute_enter(
        self, request: EnterRequest, preview: Preview[EnterRescueResult], request_id: str
    ) -> EnterRescueResult:
        """Send the rescue request once; the accepted result carries a generated password (shown once)."""
        result = preview.result
        instance_id, chosen, plan, password = request.instance_id, result.image, result.password_plan, request.password
        generated = generate_password() if plan == "generated" else None
        redact.register_for_logs(generated)
        fields = {"elid": str(instance_id), "sok": "ok", "select_boot": chosen.id, "zone": chosen.zone}
        if password or generated:
            redact.register(password)  # a password the person typed is a secret from the moment it is sent
            fields["password"] = password or generated or ""
        log.info(
            "entering rescue: instance %d, image %s (%s) [req=%s]", instance_id, chosen.id, chosen.zone, request_id
        )
        doc = await self._submit(instance_id, RESCUE, fields, entering=True, generated=generated)
        reply, cut = api_reply(doc)
        return result.model_copy(
            update={
                "kind": "executed",
                "executed": True,
                "password": generated,
                "status": None,
                "summary": enter_effect(instance_id, chosen, plan, done=True),
                "next_step": enter_next_step(plan, "not_waited", windows=is_windows(chosen)),
                "api_reply": reply,
                "notes": [*result.notes, REPLY_CUT] if cut else result.notes,
            }
        )

    async def execute_exit(self, preview: Preview[ExitRescueResult], request_id: str) -> ExitRescueResult:
        """Send the unrescue request once (it takes no `sok`)."""
        instance_id = preview.request.instance_id
        log.info("leaving rescue: instance %d [req=%s]", instance_id, request_id)
        doc = await self._submit(instance_id, UNRESCUE, {"elid": str(instance_id)}, entering=False)
        reply, cut = api_reply(doc)
        result = preview.result
        return result.model_copy(
            update={
                "kind": "executed",
                "executed": True,
                "status": None,
                "summary": f"Zomro accepted the request: instance {instance_id} is rebooting from its own disk.",
                "next_step": exit_next_step("not_waited"),
                "api_reply": reply,
                "notes": [*result.notes, REPLY_CUT] if cut else result.notes,
            }
        )

    async def _submit(
        self, instance_id: int, func: str, fields: dict[str, str], *, entering: bool, generated: str | None = None
    ) -> Doc:
        """Send the mutating request once; once sent, its answer is awaited even if the caller cancels."""
        try:
            with anyio.CancelScope(shield=True):
                doc = await self.api.mutate(func, **fields)
        except ApiError as exc:
            raise explain_refusal(instance_id, exc, entering=entering) from exc
        except OutcomeUnknownError as exc:
            if generated is None:
                raise
            raise OutcomeUnknownError(
                f"{exc} If it did enter rescue mode, its root password is {generated} (generated for this request "
                "and shown only now: give it to the person).",
                **exc.facts,
            ) from exc
        return doc

    # --- settle --------------------------------------------------------------------------------------------

    async def settle(self, accepted: Settled, on_progress: ProgressFn | None = None) -> Settled:
        """Watch an accepted request until the instance settles, and say how it ended (reads only)."""
        if self.wait_seconds <= 0 or not accepted.executed:
            return accepted
        plan = accepted.password_plan if isinstance(accepted, EnterRescueResult) else None
        windows = isinstance(accepted, EnterRescueResult) and is_windows(accepted.image)
        lost = isinstance(accepted, EnterRescueResult) and accepted.password is not None
        target = "rescued" if plan else "active"
        seen = await self._watch(accepted.instance_id, target, accepted.status_before, on_progress, lost=lost)
        settled: BaseModel = accepted  # model_copy returns the same class (mypy widens the bound's union)
        result = cast(
            "Settled",
            settled.model_copy(
                update={
                    "status": seen.status,
                    "wait": seen.outcome,
                    "waited_seconds": seen.seconds,
                    "notes": accepted.notes + seen.notes,
                    "summary": accepted.summary + progress_line(seen.status, seen.outcome, seen.seconds),
                    "next_step": enter_next_step(plan, seen.outcome, windows=windows)
                    if plan
                    else exit_next_step(seen.outcome),
                }
            ),
        )
        if isinstance(result, ExitRescueResult) and seen.outcome == "reached":  # back: does it answer?
            left = max(self.wait_seconds - seen.seconds, 0.0)
            return cast("Settled", await after_exit(result, seen.address, self.health_ports, left))
        return result

    async def _watch(
        self, instance_id: int, target: str, before: str | None, on_progress: ProgressFn | None, *, lost: bool
    ) -> Watched:
        """Watch the accepted request settle; `lost` says a cancel now would lose a generated password."""
        try:
            return await watch(
                self.api,
                instance_id,
                target=target,
                before=before,
                wait_seconds=self.wait_seconds,
                poll_interval=self.poll_interval,
                on_progress=on_progress,
            )
        except anyio.get_cancelled_exc_class():
            log.warning(
                "the caller cancelled while instance %d was settling; the accepted request stays as sent%s",
                instance_id,
                ": its generated rescue password was never delivered, so leave rescue mode and enter it again to "
                "get a new one"
                if lost
                else "",
            )
            raise

    # --- reads ---------------------------------------------------------------------------------------------

    async def look(
        self, instance_id: int, also: Callable[[], Awaitable[None]] | None = None
    ) -> tuple[Instance | None, list[str], list[RescueImage]]:
        """The instance's state and the offered images (and `also`, another read), read concurrently."""
        state: tuple[Instance | None, list[str]] = (None, [])
        doc: Doc = {}

        async def read_state() -> None:
            nonlocal state
            state = await self.state(instance_id)

        async def read_form() -> None:
            nonlocal doc
            try:
                doc = await self.api.read(RESCUE, elid=str(instance_id))
            except NotFoundError as exc:
                raise instance_not_found(instance_id, exc) from exc

        await concurrently(read_state, read_form, *([also] if also else []))
        return state[0], state[1], parse_images(doc)

    async def state(self, instance_id: int) -> tuple[Instance | None, list[str]]:
        """The instance's row in Zomro's list; when its state cannot be read, a note says so and the API decides."""
        try:
            instance, notes = await find_instance(self.api, instance_id)
        except AuthError:
            raise
        except ZomroError as exc:
            log.warning("could not read the state of instance %d: %s", instance_id, exc)
            return None, [
                f"The instance's state could not be read ({exc}); Zomro decides whether the request is possible."
            ]
        if instance is None:
            return None, [*notes, "Zomro decides whether the request is possible."]
        if instance.status is None:
            return instance, [
                "Zomro's list did not include the instance's state; Zomro decides whether the request is possible."
            ]
        return instance, []
