"""What finding instances, listing rescue images, entering and leaving rescue mode mean, independent of MCP.

The MCP server and the CLI both call `RescueService`. Every check that can refuse a request runs before
the first mutating call; an unconfirmed request never reaches a mutating function. A confirmed request
holds the instance (one at a time per server) from its pre-flight read to the end of the watch, is sent
once, and its answer is awaited even if the caller cancels.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import replace
from typing import Any, TypedDict, TypeVar, Unpack, cast, overload

from ..core.errors import ZomroError
from ..settings.config import ApprovalMode, Settings
from ..wire.billmanager import BillmanagerClient
from .approval import Answer, Approval, AskedBy, approved_by, notes_on, require
from .audit import Attempt, AuditTrail
from .delivery import DeliveryCheck, check_delivery, naming
from .guard_rails import GuardRails
from .instances import fetch_listing, find_instance, matches
from .models import (
    ActionResult,
    ApprovedBy,
    EnterRescueResult,
    ExitRescueResult,
    Instance,
    InstanceList,
    RescueImageList,
    Zone,
)
from .pipeline import RESCUE, UNRESCUE, AnyPreview, EnterRequest, ExitRequest, Pipeline, Preview, Request, Settled
from .previews import PREVIEW_FIRST, PreviewLedger, Shown, issue, refused
from .rescue_logins import RescueLogins
from .watch import ProgressFn

Accepted = TypeVar("Accepted", EnterRescueResult, ExitRescueResult)

__all__ = [
    "RESCUE",
    "UNRESCUE",
    "ProgressFn",
    "RescueService",
    "RunOptions",
    "check_delivery",
]  # check_delivery: from delivery.py

log = logging.getLogger("zomro_rescue_mcp.rescue")
_UNRECORDED = AuditTrail(None)


class RunOptions(TypedDict, total=False):
    """How to run a request: preview or confirmed, whether to watch, and what the adapter knows already."""

    confirm: bool  # False (default): the preview only
    wait: bool  # True (default): watch the accepted request settle
    on_progress: ProgressFn | None
    approval: Approval  # the person's answer, or why they were not asked
    asked_by: AskedBy  # where the person was asked (elicitation by default)
    preview_id: str | None  # the id of the latest preview of this instance, for a confirmed call
    delivered: DeliveryCheck | None  # whether the caller is still there to receive the result
    validating: bool  # the approval question's own preview: neither audited nor issued a preview_id


class RescueService:
    """The rescue operations of one account over its API client, within that account's guard rails.

    Every result names its account (`account`). With `named` (several accounts are configured), the words do too:
    the next step of a preview, progress messages and refusals.
    """

    def __init__(
        self,
        api: BillmanagerClient,
        *,
        account: str = "default",
        named: bool = False,
        wait_seconds: float = 120.0,
        poll_interval: float = 3.0,
        read_only: bool = False,
        allowed_instances: frozenset[int] | None = None,
        require_approval: ApprovalMode = "auto",
        audit: AuditTrail | None = None,
        previews: PreviewLedger | None = None,
        where: Mapping[str, str] | None = None,
        logins: RescueLogins | None = None,
        health_ports: tuple[int, ...] = (22,),
    ) -> None:
        self.account = account
        self.named = named
        self.read_only = read_only
        self.require_approval = require_approval
        self._api = api
        self._pipeline = Pipeline(
            api, wait_seconds=wait_seconds, poll_interval=poll_interval, health_ports=health_ports
        )
        self._previews = previews  # None: the preview rule is off
        self._allowed = allowed_instances
        self._audit = audit or _UNRECORDED
        self.rails = GuardRails(
            account, named=named, read_only=read_only, allowed_instances=allowed_instances, where=where
        )
        self._where = self.rails.where  # where each guard rail is set, for the sentences that cite it
        self.logins = logins or RescueLogins(4 * 3600.0)  # the rescue logins this service began (the server's)

    @property
    def pipeline(self) -> Pipeline:
        """The account's pipeline: its API client and the watch's timing, for the other changes' stages."""
        return self._pipeline

    @classmethod
    def from_settings(
        cls,
        api: BillmanagerClient,
        settings: Settings,
        audit: AuditTrail | None,
        previews: PreviewLedger | None = None,
        *,
        named: bool = False,
        where: Mapping[str, str] | None = None,
        logins: RescueLogins | None = None,
    ) -> RescueService:
        """The account's service within the guard rails and timing the operator configured.

        `previews` is the server's ledger, shared by its sessions and accounts; without one, a fresh one when the
        rule is on.
        """
        if previews is None and settings.guard_rails.require_preview:
            previews = PreviewLedger(settings.guard_rails.preview_ttl)
        return cls(
            api,
            account=settings.api.account,
            named=named,
            wait_seconds=settings.timing.wait_seconds,
            poll_interval=settings.timing.poll_interval,
            read_only=settings.guard_rails.read_only,
            allowed_instances=settings.guard_rails.allowed_instances,
            require_approval=settings.guard_rails.require_approval,
            audit=audit,
            previews=previews if settings.guard_rails.require_preview else None,
            where=where,
            logins=logins or RescueLogins(settings.rescue.session_ttl),
            health_ports=settings.rescue.health_ports,
        )

    async def list_instances(
        self, query: str | None = None, *, limit: int | None = 50, offset: int = 0
    ) -> InstanceList:
        """One page of the account's instances (None: all of them); `query` matches id, name or IP across all pages."""
        listing = await fetch_listing(self._api)
        instances = [i.model_copy(update={"account": self.account}) for i in listing.instances]
        if self._allowed is not None:
            instances = [i for i in instances if i.id in self._allowed]
        if query and query.strip():
            instances = [i for i in instances if matches(i, query)]
        return InstanceList.page_of(
            instances, offset=offset, limit=limit, complete=listing.complete, notes=listing.notes
        )

    async def status(self, instance_id: int) -> Instance:
        """One instance's details and state, from its row in Zomro's list (a read)."""
        self.rails.check_allowed(instance_id)
        found, why = await find_instance(self._api, instance_id)
        if found is None:
            raise ZomroError(" ".join(why), kind="state_unknown", instance_id=instance_id)
        return found.model_copy(update={"account": self.account})

    async def list_images(self, instance_id: int, zone: Zone | None = None) -> RescueImageList:
        """The rescue form's images (a preview without `sok`) and the instance's state, read side by side."""
        self.rails.check_allowed(instance_id)
        instance, notes, images = await self._pipeline.look(instance_id)
        if zone is not None:
            images = [i for i in images if i.zone == zone]
        return RescueImageList(
            instance_id=instance_id,
            account=self.account,
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
        **options: Unpack[RunOptions],
    ) -> EnterRescueResult:
        """Preview (confirm=False) or put the instance into rescue mode from the named image."""
        return await self.run(EnterRequest(instance_id, image, zone, password), **options)

    async def exit(self, instance_id: int, **options: Unpack[RunOptions]) -> ExitRescueResult:
        """Preview (confirm=False) or take the instance out of rescue mode (unrescue takes no `sok`)."""
        return await self.run(ExitRequest(instance_id), **options)

    @overload
    async def run(self, request: EnterRequest, **options: Unpack[RunOptions]) -> EnterRescueResult: ...
    @overload
    async def run(self, request: ExitRequest, **options: Unpack[RunOptions]) -> ExitRescueResult: ...
    @overload
    async def run(self, request: Request, **options: Unpack[RunOptions]) -> EnterRescueResult | ExitRescueResult: ...
    async def run(self, request: Request, **options: Unpack[RunOptions]) -> EnterRescueResult | ExitRescueResult:
        """The pipeline with its guard rails: preview → the preview rule → approval → execute once → settle.

        A preview is issued a `preview_id`; a confirmed call must carry the one of the latest preview of its
        instance (see previews.py), and its state is read afresh, after the person answered. `approval` is what the
        person answered, or why they were not asked; `asked_by` where they were asked. `delivered` says whether the
        caller is still there to receive the result (an HTTP client may hang up).
        """
        confirm = options.get("confirm", False)
        approval = options.get("approval", Approval.NOT_REQUIRED)
        with self._audit.attempt(
            request.tool, request.instance_id, confirmed=confirm, approval=approval.word, account=self.account
        ) as attempt:
            self.rails.check_writable()
            self.rails.check_allowed(request.instance_id)
            async with self.rails.exclusive(request.instance_id) if confirm else nullcontext():
                result = await self._run(attempt, request, confirm, approval, options)
            await check_delivery(attempt, result, options.get("delivered"))
            return result

    @asynccontextmanager
    async def guarded(self, tool: str, instance_id: int, options: RunOptions) -> AsyncIterator[Attempt]:
        """A change other than entering or leaving (a repair, a command): audited, within read-only mode and the
        allowlist, and (confirmed) holding the instance's lock, the one enter and exit hold too."""
        confirm = options.get("confirm", False)
        approval = options.get("approval", Approval.NOT_REQUIRED)
        trail = _UNRECORDED if options.get("validating") and not confirm else self._audit
        with trail.attempt(
            tool, instance_id, confirmed=confirm, approval=approval.word, account=self.account
        ) as attempt:
            self.rails.check_writable()
            self.rails.check_allowed(instance_id)
            async with self.rails.exclusive(instance_id) if confirm else nullcontext():
                yield attempt

    def gate(self, attempt: Attempt, shown: Shown, secret: str | None, options: RunOptions) -> Shown | None:
        """Before a confirmed change is made: the preview rule (its refusal is returned: nothing is done), then the
        person's approval (refused: raises), then the audit's intent line. None: go ahead, once."""
        approval = options.get("approval", Approval.NOT_REQUIRED)
        if self._previews is not None:
            reason = self._previews.take(options.get("preview_id"), shown, secret)
            if reason is not None:
                attempt.refused_preview(reason)
                step = f"{PREVIEW_FIRST} Name its account: account={self.account!r}." if self.named else PREVIEW_FIRST
                return refused(shown, reason, step)
        asked_by: AskedBy = options.get("asked_by", "elicitation")
        used_up = self._previews is not None  # the preview_id was taken above: only a new preview leads on
        require(shown.instance_id, approval, where=self._where["require_approval"], used_up=used_up)
        attempt.approved(approved_by(approval, asked_by))
        attempt.before_send()
        return None

    def approval_notes(self, options: RunOptions) -> tuple[ApprovedBy, list[str]]:
        """Who approved a change just made, and the notes that say how (or why nobody was asked)."""
        approval = options.get("approval", Approval.NOT_REQUIRED)
        asked_by: AskedBy = options.get("asked_by", "elicitation")
        return approved_by(approval, asked_by), notes_on(approval, self.require_approval, self._where, asked_by)

    def issue(self, shown: Shown, secret: str | None = None) -> Shown:
        """A preview shown to the caller, issued its preview_id (when the rule is on)."""
        return issue(self._previews, shown, secret)

    async def _run(
        self, attempt: Attempt, request: Request, confirm: bool, approval: Approval, options: RunOptions
    ) -> EnterRescueResult | ExitRescueResult:
        # Always read afresh: a confirmed call acts on the state seen now, after the person answered.
        if isinstance(request, EnterRequest):
            entering = await self._preview(request, hint=not confirm)  # the snapshot advice is the preview's
            attempt.image(entering.result.image)
            return await self._decide(
                attempt,
                entering,
                confirm,
                approval,
                options,
                lambda: self._pipeline.execute_enter(request, entering, attempt.request_id),
            )
        leaving = await self._preview(request)
        return await self._decide(
            attempt,
            leaving,
            confirm,
            approval,
            options,
            lambda: self._pipeline.execute_exit(leaving, attempt.request_id),
        )

    async def _decide(
        self,
        attempt: Attempt,
        preview: Preview[Accepted],
        confirm: bool,
        approval: Approval,
        options: RunOptions,
        send: Callable[[], Awaitable[Accepted]],
    ) -> Accepted:
        """The preview (issued its id), or: the preview rule, approval, send once, then (unless told not to) watch."""
        password = getattr(preview.request, "password", None)
        if not confirm:
            return issue(self._previews, preview.result, password)
        stopped = self.gate(attempt, preview.result, password, options)
        if stopped is not None:
            return stopped
        sent: Accepted = await send()
        attempt.accepted = True
        self._remember(preview.request, sent)
        by, how = self.approval_notes(options)
        accepted = sent.model_copy(update={"approved_by": by, "notes": sent.notes + how})
        return await self.settle(accepted, options.get("on_progress")) if options.get("wait", True) else accepted

    @overload
    async def preview(self, request: EnterRequest) -> Preview[EnterRescueResult]: ...
    @overload
    async def preview(self, request: ExitRequest) -> Preview[ExitRescueResult]: ...
    async def preview(self, request: Request) -> AnyPreview:
        """A validation preview: the guard rails and the pipeline's preview, neither audited nor counted as shown.

        The approval question uses it to decide whether to ask, and hands it to the same call's tool body.
        """
        self.rails.check_writable()
        self.rails.check_allowed(request.instance_id)
        return await self._preview(request, hint=False)

    @overload
    async def _preview(self, request: EnterRequest, *, hint: bool = True) -> Preview[EnterRescueResult]: ...
    @overload
    async def _preview(self, request: ExitRequest, *, hint: bool = True) -> Preview[ExitRescueResult]: ...
    async def _preview(self, request: Request, *, hint: bool = True) -> AnyPreview:
        if isinstance(request, EnterRequest):
            return self._own(await self._pipeline.preview_enter(request, hint=hint))
        return self._own(await self._pipeline.preview_exit(request))

    @overload
    def _own(self, preview: Preview[EnterRescueResult]) -> Preview[EnterRescueResult]: ...
    @overload
    def _own(self, preview: Preview[ExitRescueResult]) -> Preview[ExitRescueResult]: ...
    def _own(self, preview: AnyPreview) -> AnyPreview:
        """The preview's result names its account (what is executed and settled from it keeps that name)."""
        update: dict[str, object] = {"account": self.account}
        if self.named:
            update["next_step"] = f"{preview.result.next_step} Name its account: account={self.account!r}."
        owned: Preview[Any] = replace(cast(Preview[Any], preview), result=preview.result.model_copy(update=update))
        return cast(AnyPreview, owned)

    def _remember(self, request: Request, accepted: ActionResult) -> None:
        """Zomro accepted the change: a rescue login begins (with its password, generated or given) or ends."""
        if isinstance(accepted, EnterRescueResult):
            given = getattr(request, "password", None)
            self.logins.begin(self.account, accepted.instance_id, given or accepted.password, accepted.image)
        else:
            self.logins.end(self.account, accepted.instance_id)

    async def settle(self, accepted: Settled, on_progress: ProgressFn | None = None) -> Settled:
        """Watch an accepted request until the instance settles, and say how it ended (reads only)."""
        if on_progress is not None and self.named:
            on_progress = naming(self.account, on_progress)
        return await self._pipeline.settle(accepted, on_progress)

    def preview_problem(self, preview: ActionResult, preview_id: str | None, password: str | None) -> str | None:
        """Why `preview_id` cannot confirm this preview's action (without using it up), or None when it can."""
        if self._previews is None:
            return None
        return self._previews.check(preview_id, preview, password)

    def where(self, rail: str) -> str:
        """Where this account's guard rail is set (a variable, or a key of the accounts file), for sentences."""
        return self._where[rail]

    def refuse(self, request: Request, answer: Answer) -> None:
        """Refuse, and audit, a confirmed request the person did not approve at the terminal (the human CLI)."""
        with self._audit.attempt(
            request.tool, request.instance_id, confirmed=True, approval=answer.approval.word, account=self.account
        ):
            require(request.instance_id, answer, where=self._where["require_approval"])
