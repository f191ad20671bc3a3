"""What finding instances, listing rescue images, entering and leaving rescue mode mean, independent of MCP.

The MCP server and the CLI both call `RescueService`. Every check that can refuse a request runs before
the first mutating call; an unconfirmed request never reaches a mutating function. A confirmed request
holds the instance (one at a time per server) from its pre-flight read to the end of the watch, is sent
once, and its answer is awaited even if the caller cancels.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from typing import TypeVar

import anyio

from . import redact
from .audit import Approval, Attempt, AuditTrail
from .billmanager import BillmanagerClient, Doc
from .config import Settings
from .errors import (
    ApiError,
    AuthError,
    NotFoundError,
    OutcomeUnknownError,
    PolicyRefusedError,
    StateConflictError,
    ZomroError,
)
from .images import is_windows, parse_images, resolve_image
from .instances import fetch_listing, find_instance, matches
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
from .models import (
    ActionResult,
    EnterRescueResult,
    ExitRescueResult,
    Instance,
    InstanceList,
    RescueImage,
    RescueImageList,
    Zone,
)
from .passwords import check_password, generate_password
from .preflight import check_approval, enter_note, refuse_enter, refuse_exit
from .previews import PREVIEW_FIRST, PreviewLedger, preview_key
from .tasks import concurrently
from .watch import ProgressFn, Watched, watch

Accepted = TypeVar("Accepted", EnterRescueResult, ExitRescueResult)
DeliveryCheck = Callable[[], Awaitable[bool]]

__all__ = ["RESCUE", "UNRESCUE", "ProgressFn", "RescueService"]

RESCUE = "instances.fleio.rescue"
UNRESCUE = "instances.fleio.unrescue"
log = logging.getLogger("zomro_rescue_mcp.rescue")
_UNRECORDED = AuditTrail(None)


class RescueService:
    """The rescue operations over one API client, within the operator's guard rails."""

    def __init__(
        self,
        api: BillmanagerClient,
        *,
        wait_seconds: float = 120.0,
        poll_interval: float = 3.0,
        read_only: bool = False,
        allowed_instances: frozenset[int] | None = None,
        audit: AuditTrail | None = None,
        previews: PreviewLedger | None = None,
    ) -> None:
        self._api = api
        self._previews = previews  # None: the preview rule is off
        self._wait_seconds = wait_seconds
        self._poll_interval = poll_interval
        self._read_only = read_only
        self._allowed = allowed_instances
        self._audit = audit or _UNRECORDED
        self._in_flight: set[int] = set()

    @classmethod
    def from_settings(
        cls,
        api: BillmanagerClient,
        settings: Settings,
        audit: AuditTrail | None,
        previews: PreviewLedger | None = None,
    ) -> RescueService:
        """The service within the guard rails and timing the operator configured.

        `previews` is the server's ledger, shared by its sessions; without one, a fresh one when the rule is on.
        """
        if previews is None and settings.require_preview:
            previews = PreviewLedger(settings.preview_ttl)
        return cls(
            api,
            wait_seconds=settings.wait_seconds,
            poll_interval=settings.poll_interval,
            read_only=settings.read_only,
            allowed_instances=settings.allowed_instances,
            audit=audit,
            previews=previews if settings.require_preview else None,
        )

    async def list_instances(
        self, query: str | None = None, *, limit: int | None = 50, offset: int = 0
    ) -> InstanceList:
        """One page of the account's instances (None: all of them); `query` matches id, name or IP across all pages."""
        listing = await fetch_listing(self._api)
        instances = listing.instances
        if self._allowed is not None:
            instances = [i for i in instances if i.id in self._allowed]
        if query and query.strip():
            instances = [i for i in instances if matches(i, query)]
        page = instances[offset:] if limit is None else instances[offset : offset + limit]
        following = offset + len(page)
        return InstanceList(
            instances=page,
            total=len(instances),
            offset=offset,
            next_offset=following if following < len(instances) else None,
            complete=listing.complete,
            notes=listing.notes,
        )

    async def status(self, instance_id: int) -> Instance:
        """One instance's details and state, from its row in Zomro's list (a read)."""
        self._check_allowed(instance_id)
        found, why = await find_instance(self._api, instance_id)
        if found is None:
            raise ZomroError(" ".join(why), kind="state_unknown", instance_id=instance_id)
        return found

    async def list_images(self, instance_id: int, zone: Zone | None = None) -> RescueImageList:
        """The rescue form's images (a preview without `sok`) and the instance's state, read side by side."""
        self._check_allowed(instance_id)
        instance, notes, images = await self._look(instance_id)
        if zone is not None:
            images = [i for i in images if i.zone == zone]
        return RescueImageList(
            instance_id=instance_id,
            name=instance.name if instance else None,
            status=instance.status if instance else None,
            images=images,
            notes=notes,
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
        delivered: DeliveryCheck | None = None,
    ) -> EnterRescueResult:
        """Preview (confirm=False) or put the instance into rescue mode from the named image.

        `approval` is what the person answered when the operator requires approval; `audited=False` is for a
        validation that is not itself an attempt (the approval question's own preview). `delivered` says whether
        the caller is still there to receive the result (an HTTP client may hang up).
        """
        trail = self._audit if audited else _UNRECORDED
        with trail.attempt("enter_rescue", instance_id, confirmed=confirm, approval=approval) as attempt:
            self._check_writable()
            self._check_allowed(instance_id)
            if password is not None:
                check_password(password)  # its refusal never echoes it; it is remembered as a secret once sent
            async with self._exclusive(instance_id) if confirm else nullcontext():
                entered = await self._enter(
                    attempt, instance_id, image, zone, password, confirm, wait, on_progress, recorded=audited
                )
            await _check_delivery(attempt, entered, delivered)
            return entered

    async def _enter(
        self,
        attempt: Attempt,
        instance_id: int,
        image: str,
        zone: Zone | None,
        password: str | None,
        confirm: bool,
        wait: bool,
        on_progress: ProgressFn | None,
        *,
        recorded: bool,
    ) -> EnterRescueResult:
        instance, notes, offered = await self._look(instance_id)
        status = instance.status if instance else None
        refuse_enter(instance_id, instance)
        note = enter_note(status)
        notes = [*notes, note] if note else notes
        chosen = resolve_image(instance_id, image, zone, offered)
        attempt.image(chosen)
        plan: PasswordPlan = "provided" if password is not None else "generated" if chosen.zone == "pub" else "none"
        preview = EnterRescueResult(
            instance_id=instance_id,
            executed=False,
            image=chosen,
            password_plan=plan,
            status_before=status,
            status=status,
            notes=notes,
            summary=enter_effect(instance_id, chosen, plan, done=False),
            next_step="Show this to the person. Only after they approve this exact action, call enter_rescue "
            f"again with image={chosen.id!r} (the image previewed), the same other arguments and confirm=true.",
        )
        windows = is_windows(chosen)
        answer = self._gate(preview, confirm=confirm, recorded=recorded)
        if answer is not None:
            attempt.unsent = "preview_required" if confirm else "preview"
            return answer
        check_approval(instance_id, attempt.approval)
        generated = generate_password() if plan == "generated" else None
        redact.register_for_logs(generated)
        fields = {"elid": str(instance_id), "sok": "ok", "select_boot": chosen.id, "zone": chosen.zone}
        if password or generated:
            redact.register(password)  # a password the person typed is a secret from the moment it is sent
            fields["password"] = password or generated or ""
        attempt.before_send()
        log.info(
            "entering rescue: instance %d, image %s (%s) [req=%s]",
            instance_id,
            chosen.id,
            chosen.zone,
            attempt.request_id,
        )
        doc = await self._submit(instance_id, RESCUE, fields, entering=True, generated=generated)
        attempt.accepted = True
        reply, cut = api_reply(doc)
        accepted = preview.model_copy(
            update={
                "kind": "executed",
                "executed": True,
                "password": generated,
                "status": None,
                "summary": enter_effect(instance_id, chosen, plan, done=True),
                "next_step": enter_next_step(plan, "not_waited", windows=windows),
                "api_reply": reply,
                "notes": [*preview.notes, REPLY_CUT] if cut else preview.notes,
            }
        )
        return await self.settle(accepted, on_progress) if wait else accepted

    async def exit(
        self,
        instance_id: int,
        *,
        confirm: bool = False,
        wait: bool = True,
        on_progress: ProgressFn | None = None,
        approval: Approval = "not_required",
        audited: bool = True,
        delivered: DeliveryCheck | None = None,
    ) -> ExitRescueResult:
        """Preview (confirm=False) or take the instance out of rescue mode (unrescue takes no `sok`)."""
        trail = self._audit if audited else _UNRECORDED
        with trail.attempt("exit_rescue", instance_id, confirmed=confirm, approval=approval) as attempt:
            self._check_writable()
            self._check_allowed(instance_id)
            async with self._exclusive(instance_id) if confirm else nullcontext():
                left = await self._exit(attempt, instance_id, confirm, wait, on_progress, recorded=audited)
            await _check_delivery(attempt, left, delivered)
            return left

    async def _exit(
        self,
        attempt: Attempt,
        instance_id: int,
        confirm: bool,
        wait: bool,
        on_progress: ProgressFn | None,
        *,
        recorded: bool,
    ) -> ExitRescueResult:
        instance, notes = await self._state(instance_id)
        status = instance.status if instance else None
        refuse_exit(instance_id, status)
        preview = ExitRescueResult(
            instance_id=instance_id,
            executed=False,
            status_before=status,
            status=status,
            notes=notes,
            summary=f"Instance {instance_id} will leave rescue mode: it reboots from its own disk, and the "
            "rescue system and anything kept only in it are gone.",
            next_step="Show this to the person. Only after they approve, call exit_rescue again with confirm=true.",
        )
        answer = self._gate(preview, confirm=confirm, recorded=recorded)
        if answer is not None:
            attempt.unsent = "preview_required" if confirm else "preview"
            return answer
        check_approval(instance_id, attempt.approval)
        attempt.before_send()
        log.info("leaving rescue: instance %d [req=%s]", instance_id, attempt.request_id)
        doc = await self._submit(instance_id, UNRESCUE, {"elid": str(instance_id)}, entering=False)
        attempt.accepted = True
        reply, cut = api_reply(doc)
        accepted = preview.model_copy(
            update={
                "kind": "executed",
                "executed": True,
                "status": None,
                "summary": f"Zomro accepted the request: instance {instance_id} is rebooting from its own disk.",
                "next_step": exit_next_step("not_waited"),
                "api_reply": reply,
                "notes": [*preview.notes, REPLY_CUT] if cut else preview.notes,
            }
        )
        return await self.settle(accepted, on_progress) if wait else accepted

    async def settle(self, accepted: Accepted, on_progress: ProgressFn | None = None) -> Accepted:
        """Watch an accepted request until the instance settles, and say how it ended (reads only)."""
        if self._wait_seconds <= 0 or not accepted.executed:
            return accepted
        plan = accepted.password_plan if isinstance(accepted, EnterRescueResult) else None
        windows = isinstance(accepted, EnterRescueResult) and is_windows(accepted.image)
        lost = isinstance(accepted, EnterRescueResult) and accepted.password is not None
        target = "rescued" if plan else "active"
        seen = await self._watch(accepted.instance_id, target, accepted.status_before, on_progress, lost=lost)
        return accepted.model_copy(
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
        )

    def _gate(self, preview: Accepted, *, confirm: bool, recorded: bool) -> Accepted | None:
        """The preview rule: the answer to give now (the preview), or None when the confirmed call may go ahead.

        A preview given to a person is remembered (`recorded`; the approval question's own validation is not). A
        confirmed call without its preview gets the preview as its answer, which then counts as one.
        """
        if not confirm:
            if recorded and self._previews is not None:
                self._previews.record(preview_key(preview))
            return preview
        if self._previews is None or self._previews.take(preview_key(preview)):
            return None
        self._previews.record(preview_key(preview))
        return preview.model_copy(
            update={
                "kind": "refused.preview_required",
                "next_step": PREVIEW_FIRST,
                "notes": [*preview.notes, PREVIEW_FIRST],
            }
        )

    def previewed(self, preview: ActionResult) -> bool:
        """Whether this action was previewed (and the preview not used up), or the rule is off."""
        return self._previews is None or self._previews.has(preview_key(preview))

    def record_refusal(self, tool: str, instance_id: int, approval: Approval, error: ZomroError) -> None:
        """Audit a confirmed request the person did not approve outside this service (the human CLI)."""
        try:
            with self._audit.attempt(tool, instance_id, confirmed=True, approval=approval):
                raise error
        except ZomroError:
            pass

    def _check_allowed(self, instance_id: int) -> None:
        """The operator's allowlist, checked before any API call."""
        if self._allowed is not None and instance_id not in self._allowed:
            raise PolicyRefusedError(
                f"Instance {instance_id} is not among the instances this server may touch (ZOMRO_ALLOWED_INSTANCES); "
                "nothing was sent. list_instances shows the ones it may.",
                kind="refused.allowlist",
                instance_id=instance_id,
            )

    def _check_writable(self) -> None:
        if self._read_only:
            raise PolicyRefusedError(
                "This server runs in read-only mode (ZOMRO_READ_ONLY): entering or leaving rescue mode is disabled, "
                "and nothing was sent. Ask the operator, or use the Zomro panel.",
                kind="refused.read_only",
            )

    @asynccontextmanager
    async def _exclusive(self, instance_id: int) -> AsyncIterator[None]:
        """One confirmed request per instance at a time in this server, from pre-flight read to the watch's end."""
        if instance_id in self._in_flight:
            raise StateConflictError(
                f"Another confirmed request for instance {instance_id} is still running in this server: nothing was "
                "sent. Wait for its result, then look at the instance's state.",
                status="",
                kind="refused.busy",
                instance_id=instance_id,
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
            raise explain_refusal(instance_id, exc, entering=entering) from exc
        except OutcomeUnknownError as exc:
            if generated is None:
                raise
            raise OutcomeUnknownError(
                f"{exc} If it did enter rescue mode, its root password is {generated} (generated for this request "
                "and shown only now: give it to the person)."
            ) from exc
        return doc

    async def _watch(
        self, instance_id: int, target: str, before: str | None, on_progress: ProgressFn | None, *, lost: bool
    ) -> Watched:
        """Watch the accepted request settle; `lost` says a cancel now would lose a generated password."""
        try:
            return await watch(
                self._api,
                instance_id,
                target=target,
                before=before,
                wait_seconds=self._wait_seconds,
                poll_interval=self._poll_interval,
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
                raise instance_not_found(instance_id, exc) from exc

        await concurrently(read_state, read_form)
        return state[0], state[1], parse_images(doc)

    async def _state(self, instance_id: int) -> tuple[Instance | None, list[str]]:
        """The instance's row in Zomro's list; when its state cannot be read, a note says so and the API decides."""
        try:
            instance, notes = await find_instance(self._api, instance_id)
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


async def _check_delivery(attempt: Attempt, result: ActionResult, delivered: DeliveryCheck | None) -> None:
    """An executed request whose caller hung up: say so in the log and the audit trail (never the password)."""
    if not result.executed or delivered is None or await delivered():
        return
    lost = isinstance(result, EnterRescueResult) and result.password is not None
    attempt.undelivered = "executed; password not delivered" if lost else "executed; result not delivered"
    log.warning(
        "the client hung up before the result of request %s (instance %d) could be delivered%s [req=%s]",
        attempt.request_id,
        result.instance_id,
        ": its generated rescue password was not delivered, so leave rescue mode and enter it again to get a new one"
        if lost
        else "",
        attempt.request_id,
    )
