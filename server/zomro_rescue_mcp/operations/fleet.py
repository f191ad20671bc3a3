"""The accounts' services side by side, and the one rule for choosing the account a call is about.

- A read names its account, or uses the default one (the configured `default_account`, or the only account);
  `list_instances` without an account reads every account and names each instance's.
- A confirmed change must name its account whenever several are configured: otherwise it is refused (and
  audited) before anything is sent, with a sentence listing the accounts. A preview may use the default.
- Each account keeps its own API client, session, login and guard rails; the audit trail and the preview ledger
  are the server's (a preview's key holds its account, so one account's preview never confirms another's).

Everything an account's work logs names it (logcontext), and its errors carry the `account` fact.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeVar, Unpack, overload

from ..core import redact
from ..core.errors import InvalidRequestError, PolicyRefusedError, ZomroError
from ..core.logcontext import for_account
from ..core.tasks import concurrently
from ..settings.accounts import Accounts
from .approval import Approval
from .audit import AuditTrail
from .models import EnterRescueResult, ExitRescueResult, Instance, InstanceList, RescueImageList, Zone
from .pipeline import AnyPreview, EnterRequest, ExitRequest, Preview, Request
from .rescue import RescueService, RunOptions
from .rescue_logins import RescueLogins
from .watch import ProgressFn

if TYPE_CHECKING:
    from .diagnosis import DiagnoseResult
    from .health import InstanceCheck
    from .repair_results import CommandResult, RepairResult
    from .repairing import CommandRequest, RepairRequest


class Change(Protocol):
    """What the account rule needs of a change: its tool and its instance."""

    @property
    def tool(self) -> str: ...
    @property
    def instance_id(self) -> int: ...


__all__ = ["Fleet"]

T = TypeVar("T")


class Fleet:
    """The services of the configured accounts, in the configuration's order."""

    def __init__(
        self,
        accounts: Accounts,
        services: dict[str, RescueService],
        audit: AuditTrail,
        logins: RescueLogins | None = None,
    ) -> None:
        self.accounts = accounts
        self._services = services
        self._audit = audit
        self.logins = logins or RescueLogins(accounts.shared.rescue.session_ttl)

    @property
    def names(self) -> tuple[str, ...]:
        return self.accounts.names

    @property
    def several(self) -> bool:
        return self.accounts.several

    def service(self, account: str | None) -> RescueService:
        """The service a read is about: the named account, else the default one."""
        name = account if account is not None else self.accounts.default
        if name is None:
            raise InvalidRequestError(
                f"Several accounts are configured ({self._listed()}) and none is the default: name the account; "
                "nothing was sent.",
                kind="invalid.account",
                accounts=list(self.names),
                next="account",
            )
        found = self._services.get(name)
        if found is None:
            raise InvalidRequestError(
                f"There is no account {name!r} on this server; the accounts are: {self._listed()}. Nothing was sent.",
                kind="invalid.account",
                accounts=list(self.names),
                next="account",
            )
        return found

    def for_change(
        self, request: Change, account: str | None, *, confirm: bool, found_in: str | None = None
    ) -> RescueService:
        """The service a change is about; a confirmed one without its account, while several exist, is refused.

        `found_in`: the account a lookup by name found the instance in, for the sentence (it is never taken for
        the person's choice).
        """
        if confirm and account is None and self.several:
            found = f" Instance {request.instance_id} was found in account {found_in}." if found_in else ""
            raise PolicyRefusedError(
                f"Nothing was sent: several accounts are configured ({self._listed()}), so a confirmed change must "
                f"name its account.{found}",
                kind="refused.account_required",
                instance_id=request.instance_id,
                accounts=list(self.names),
                next="account",
            )
        return self.service(account)

    def choose(
        self,
        request: Change,
        account: str | None,
        *,
        confirm: bool,
        approval: Approval = Approval.NOT_REQUIRED,
        found_in: str | None = None,
    ) -> RescueService:
        """`for_change`, and a confirmed call refused before it reached an account is audited too."""
        try:
            return self.for_change(request, account, confirm=confirm, found_in=found_in)
        except ZomroError:
            if confirm:  # an account that is not configured is recorded as none, never as the text given
                known = account if account in self._services else None
                with self._audit.attempt(
                    request.tool, request.instance_id, confirmed=True, approval=approval.word, account=known
                ):
                    raise
            raise

    @contextmanager
    def on(self, service: RescueService) -> Iterator[None]:
        """Within the block, log lines name the account, and its errors carry the `account` fact."""
        with for_account(service.account):
            try:
                yield
            except ZomroError as exc:
                exc.facts.setdefault("account", service.account)
                raise

    async def _read(self, account: str | None, work: Callable[[RescueService], Awaitable[T]]) -> T:
        service = self.service(account)
        with self.on(service):
            return await work(service)

    async def list_images(self, instance_id: int, zone: Zone | None, account: str | None) -> RescueImageList:
        return await self._read(account, lambda s: s.list_images(instance_id, zone))

    async def status(self, instance_id: int, account: str | None) -> Instance:
        return await self._read(account, lambda s: s.status(instance_id))

    async def diagnose(
        self,
        instance_id: int,
        account: str | None,
        *,
        rescue_password: str | None = None,
        on_progress: ProgressFn | None = None,
    ) -> DiagnoseResult:
        """A read-only diagnosis of the instance's disks from its rescue system (see diagnosis.py)."""
        from .diagnosis import diagnose_instance  # the SSH library loads only for a diagnosis

        port = self.accounts.shared.rescue.ssh_port
        return await self._read(
            account,
            lambda s: diagnose_instance(
                s,
                self.logins,
                instance_id,
                audit=self._audit,
                rescue_password=rescue_password,
                port=port,
                on_progress=on_progress,
            ),
        )

    async def check(self, instance_id: int, account: str | None) -> InstanceCheck:
        """The instance's state and whether it answers on ZOMRO_HEALTH_PORTS now (reads; see health.py)."""
        from .health import check_instance

        ports = self.accounts.shared.rescue.health_ports

        async def work(service: RescueService) -> InstanceCheck:
            return await check_instance(await service.status(instance_id), ports)

        return await self._read(account, work)

    async def list_instances(
        self, query: str | None = None, *, limit: int | None = 50, offset: int = 0, account: str | None = None
    ) -> InstanceList:
        """One account's instances, or (no account, several configured) every account's, each instance naming its.

        An account that cannot be read while the others can is a note, and the list is marked incomplete.
        """
        if account is not None or not self.several:
            return await self._read(account, lambda s: s.list_instances(query, limit=limit, offset=offset))
        services = [self._services[name] for name in self.names]
        listings: dict[str, InstanceList | ZomroError] = {}

        async def read(service: RescueService) -> None:
            with for_account(service.account):
                try:
                    listings[service.account] = await service.list_instances(query, limit=None)
                except ZomroError as exc:
                    exc.facts.setdefault("account", service.account)
                    listings[service.account] = exc

        await concurrently(*(partial(read, s) for s in services))
        failed = [(name, v) for name, v in listings.items() if isinstance(v, ZomroError)]
        if len(failed) == len(services):
            raise failed[0][1]
        instances: list[Instance] = []
        notes: list[str] = []
        complete: bool | None = True
        for name in self.names:
            got = listings[name]
            if isinstance(got, ZomroError):
                notes.append(
                    f"account {name} could not be read, so its instances are missing: {redact.scrub(str(got))}"
                )
                complete = False
                continue
            instances += got.instances
            notes += [f"account {name}: {n}" for n in got.notes]
            if got.complete is not True:
                complete = False if got.complete is False or complete is False else None
        return InstanceList.page_of(instances, offset=offset, limit=limit, complete=complete, notes=notes)

    @overload
    async def run(
        self, request: EnterRequest, account: str | None, **options: Unpack[RunOptions]
    ) -> EnterRescueResult: ...
    @overload
    async def run(
        self, request: ExitRequest, account: str | None, **options: Unpack[RunOptions]
    ) -> ExitRescueResult: ...
    async def run(
        self, request: Request, account: str | None, **options: Unpack[RunOptions]
    ) -> EnterRescueResult | ExitRescueResult:
        """A preview or a confirmed change on the account it names (see `for_change`)."""
        confirm = options.get("confirm", False)
        approval = options.get("approval", Approval.NOT_REQUIRED)
        service = self.choose(request, account, confirm=confirm, approval=approval)
        with self.on(service):
            return await service.run(request, **options)

    async def repair(self, request: RepairRequest, account: str | None, **options: Unpack[RunOptions]) -> RepairResult:
        """A repair's preview, or the confirmed fix, on the account it names (see repairing.py)."""
        from .repairing import repair_instance  # the SSH library loads only for work in a rescue system

        service = self.choose(request, account, confirm=options.get("confirm", False), approval=_approval(options))
        port = self.accounts.shared.rescue.ssh_port
        with self.on(service):
            return await repair_instance(service, self.logins, request, port=port, **options)

    async def run_command(
        self, request: CommandRequest, account: str | None, **options: Unpack[RunOptions]
    ) -> CommandResult:
        """A command's preview, or the confirmed command line, in the instance's rescue system."""
        from .repairing import run_in_rescue

        service = self.choose(request, account, confirm=options.get("confirm", False), approval=_approval(options))
        port = self.accounts.shared.rescue.ssh_port
        with self.on(service):
            return await run_in_rescue(service, self.logins, request, port=port, **options)

    async def preview_repair(
        self, request: RepairRequest | CommandRequest, account: str | None
    ) -> RepairResult | CommandResult:
        """The approval question's validation preview of a repair or a command (read-only; issued no id)."""
        from .repairing import RepairRequest, repair_instance, run_in_rescue

        service = self.for_change(request, account, confirm=True)
        port = self.accounts.shared.rescue.ssh_port
        with self.on(service):
            if isinstance(request, RepairRequest):
                return await repair_instance(service, self.logins, request, port=port, confirm=False, validating=True)
            return await run_in_rescue(service, self.logins, request, port=port, confirm=False, validating=True)

    @overload
    async def preview(self, request: EnterRequest, account: str | None) -> Preview[EnterRescueResult]: ...
    @overload
    async def preview(self, request: ExitRequest, account: str | None) -> Preview[ExitRescueResult]: ...
    async def preview(self, request: Request, account: str | None) -> AnyPreview:
        """The approval question's validation preview, on the account a confirmed call must name."""
        service = self.for_change(request, account, confirm=True)
        with self.on(service):
            return await service.preview(request)

    def _listed(self) -> str:
        return ", ".join(self.names)


def _approval(options: RunOptions) -> Approval:
    return options.get("approval", Approval.NOT_REQUIRED)
