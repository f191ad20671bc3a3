"""The human CLI: the same operations as the MCP tools, for a person at a terminal or a script (not via MCP).

`enter` and `exit` show the preview first and, without `--yes`, ask the person to type the instance id; with
no terminal to ask on, they refuse; with `--dry-run` they show the preview and stop. `diagnose` reads the instance's
disk from its rescue system with the rescue password from stdin (never from argv). Tables by default, `--json`
for scripts; every word is written by cli/render.py, printed by cli/printer.py. The reports (`doctor`,
`accounts`) are in cli/reports.py.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass, replace
from typing import TextIO

import anyio
import httpx2

from ..core import redact
from ..core.errors import InvalidRequestError, PolicyRefusedError, ZomroError
from ..core.printable import printable
from ..operations.approval import Approval
from ..operations.assembly import assemble
from ..operations.diagnosis import DiagnoseResult
from ..operations.fleet import Fleet
from ..operations.instances import matches
from ..operations.models import ActionResult, EnterRescueResult, Zone
from ..operations.pipeline import EnterRequest, ExitRequest, Request
from ..operations.rescue import RescueService
from ..settings.accounts import Accounts
from ..settings.config import parse_instance_id
from .printer import Printer
from .render import action_lines, diagnosis_refusal
from .reports import list_accounts, run_doctor
from .terminal import Ask, TerminalAsker

__all__ = ["Command", "parse_command", "resolve_instance", "run_command"]


@dataclass(frozen=True)
class Instances:
    """`instances [QUERY] [--limit N] [--offset M] [--all]`"""

    query: str | None
    limit: int | None  # None: every instance (--all)
    offset: int


@dataclass(frozen=True)
class Images:
    """`images INSTANCE [--zone Z]`"""

    instance: str
    zone: Zone | None


@dataclass(frozen=True)
class Status:
    """`status INSTANCE`"""

    instance: str


@dataclass(frozen=True)
class Check:
    """`check INSTANCE`: the state, and whether it answers (reads only)."""

    instance: str


@dataclass(frozen=True)
class Change:
    """`enter INSTANCE --image I [--zone Z] [--password-stdin]` or `exit INSTANCE`, with `--yes`, `--no-wait` and
    `--dry-run`."""

    entering: bool
    instance: str
    yes: bool
    no_wait: bool
    image: str = ""
    zone: Zone | None = None
    password_stdin: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class Diagnose:
    """`diagnose INSTANCE [--rescue-password-stdin]`: reads only."""

    instance: str
    password_stdin: bool = False


@dataclass(frozen=True)
class Doctor:
    """`doctor [--capture FILE [--instance ID]]`"""

    capture: str | None
    instance: int | None


@dataclass(frozen=True)
class ListAccounts:
    """`accounts`: the configured accounts and their guard rails (never a secret); no API call."""


Command = Instances | Images | Status | Check | Diagnose | Change | Doctor | ListAccounts


def parse_command(args: argparse.Namespace) -> Command:
    """The typed command argparse read (argparse has already refused what is malformed)."""
    name = args.command
    if name == "instances":
        return Instances(args.query, None if args.all else args.limit, args.offset)
    if name == "images":
        return Images(args.instance_id, args.zone)
    if name == "status":
        return Status(args.instance_id)
    if name == "check":
        return Check(args.instance_id)
    if name == "diagnose":
        return Diagnose(args.instance_id, args.rescue_password_stdin)
    if name == "doctor":
        return Doctor(args.capture, args.instance)
    if name == "accounts":
        return ListAccounts()
    entering = name == "enter"
    return Change(
        entering=entering,
        instance=args.instance_id,
        yes=args.yes,
        no_wait=args.no_wait,
        image=args.image if entering else "",
        zone=args.zone if entering else None,
        password_stdin=args.password_stdin if entering else False,
        dry_run=args.dry_run,
    )


async def run_command(
    args: argparse.Namespace,
    accounts: Accounts,
    transport: httpx2.AsyncBaseTransport | None,
    *,
    ask: Ask,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """Run one human command; domain errors propagate to the CLI's single error boundary."""
    command = parse_command(args)
    account: str | None = getattr(args, "account", None)
    if account is not None and accounts.get(account) is None:
        raise InvalidRequestError(
            f"There is no account {account!r}; the accounts are: {', '.join(accounts.names)}.",
            kind="invalid.account",
            accounts=list(accounts.names),
            next="account",
        )
    if isinstance(command, ListAccounts):
        return list_accounts(accounts, out, as_json=args.json, only=account)
    if isinstance(command, Doctor):  # reads only: it creates no audit file and changes nothing
        return await run_doctor(
            accounts, account, transport, out, capture=command.capture, instance=command.instance, as_json=args.json
        )
    show = Printer(out, as_json=args.json, named=accounts.several)
    async with assemble(accounts, transport=transport).open() as fleet:
        match command:
            case Instances(query, limit, offset):
                show.instances(await fleet.list_instances(query, limit=limit, offset=offset, account=account))
            case Images(instance, zone):
                where, instance_id = await resolve_instance(fleet, instance, account)
                show.images(await fleet.list_images(instance_id, zone, where))
            case Status(instance):
                where, instance_id = await resolve_instance(fleet, instance, account)
                show.instance(await fleet.status(instance_id, where))
            case Check(instance):
                where, instance_id = await resolve_instance(fleet, instance, account)
                show.check(await fleet.check(instance_id, where))
            case Diagnose():
                where, instance_id = await resolve_instance(fleet, command.instance, account)
                show.diagnosis(await _diagnose(fleet, command, instance_id, where, stdin))
            case Change():
                where, instance_id = await resolve_instance(fleet, command.instance, account)
                request = _request(command, instance_id, stdin)
                if account is None and fleet.several:  # a change names its account: refused (and audited) here
                    fleet.choose(request, None, confirm=True, approval=Approval.NOT_ASKED, found_in=where)
                service = fleet.service(where)
                with fleet.on(service):
                    await _change(command, request, service, show, ask=ask, as_json=args.json)
        return 0


def _request(command: Change, instance_id: int, stdin: TextIO) -> Request:
    if command.entering:
        password = _read_password(stdin, "Rescue root password: ") if command.password_stdin else None
        return EnterRequest(instance_id, command.image, command.zone, password)
    return ExitRequest(instance_id)


async def resolve_instance(fleet: Fleet, ref: str, account: str | None) -> tuple[str | None, int]:
    """The account and the one instance a person means by an id, a name or an IP address; none or several is a
    usage error. A name or address is looked up in the named account, or in every account (so the account is
    found too); an id is the named account's, or the default's (None: none is named and there is no default).
    """
    if (instance_id := parse_instance_id(ref)) is not None:
        return account, instance_id
    listing = await fleet.list_instances(limit=None, account=account)
    wanted = ref.casefold()
    exact = [i for i in listing.instances if wanted in (i.name.casefold(), (i.ip or "").casefold(), (i.ipv6 or ""))]
    found = exact or [i for i in listing.instances if matches(i, ref)]
    if len(found) == 1:
        return found[0].account, found[0].id
    if not found:  # the same kind (and exit code) as an id the API does not know
        hidden = " (a list filter saved in the Zomro panel may hide it)" if listing.complete is False else ""
        raise ZomroError(
            f"No instance is named {ref!r} or has that address in this Zomro account{hidden}. Check the name.",
            kind="api.not_found",
            next="list_instances",
            account=account,
        )
    named = fleet.several
    listed = "; ".join(f"{i.id}{f' ({i.account})' if named else ''} {i.name} {i.ip or '-'}" for i in found[:10])
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    raise InvalidRequestError(
        f"{ref!r} matches {len(found)} instances: {listed}{more}. Name one by its id"
        + (" and its account (--account)." if named else "."),
        kind="invalid.arguments",
        candidates=[i.id for i in found],
    )


async def _change(
    command: Change,
    request: Request,
    service: RescueService,
    show: Printer,
    *,
    ask: Ask,
    as_json: bool,
) -> None:
    """enter/exit through the pipeline: the preview, the person's go-ahead, the request, then the watch.

    The same calls as an MCP client's preview and confirmed call. The accepted result (with a generated
    password) is printed before the watch, so an interrupted watch never loses it.
    """
    instance_id = request.instance_id
    preview = await service.run(request)
    if command.dry_run:  # the preview is the answer: nothing is asked, nothing is sent
        show.action(preview)
        show.change(preview, preview, dry_run=True)
        return
    show.action(preview)
    if as_json and not command.yes:  # the person must see what they approve, even when stdout is for a script
        print(action_lines(preview, named=service.named)[0], file=sys.stderr, flush=True)
    asker = TerminalAsker(
        ask, yes=command.yes, required=service.require_approval == "always", where=service.where("require_approval")
    )
    answer = asker.approve(instance_id, preview.summary)
    if not answer.approval.approves:
        service.refuse(request, answer)  # audited, and raises the refusal
    if isinstance(request, EnterRequest) and isinstance(preview, EnterRescueResult):
        request = replace(request, image=preview.image.id)  # the image previewed, whatever name was typed
    accepted: ActionResult | None = None
    try:
        result = await service.run(
            request,
            confirm=True,
            preview_id=preview.preview_id,
            wait=False,
            approval=answer.approval,
            asked_by="terminal",
        )
        _require_executed(result)
        accepted = result
        show.action(result)
        final = result if command.no_wait else await service.settle(result, _progress)
    except anyio.get_cancelled_exc_class():  # Ctrl-C while watching: what was accepted is still said
        if accepted is not None:
            show.change(preview, accepted)
        raise
    if not command.no_wait:
        show.settled(final)
    show.change(preview, final)


def _require_executed(result: ActionResult) -> None:
    """The preview rule refused the go-ahead (the preview expired, or the action changed since): nothing was sent."""
    if not result.executed:
        why = (
            "the preview had expired (ZOMRO_PREVIEW_TTL) before the go-ahead"
            if result.preview_refusal == "expired"
            else "what the command would do changed after its preview was shown"
            if result.preview_refusal == "different"
            else "the preview no longer confirms this action (another preview of the instance was given since)"
        )
        raise PolicyRefusedError(
            f"Nothing was sent: {why}. Run the command again to see a fresh preview.",
            kind="refused.preview_required",
            instance_id=result.instance_id,
        )


def _read_password(stdin: TextIO, prompt: str) -> str:
    """The rescue password from stdin; at a terminal it is asked for without echo."""
    if stdin.isatty():
        return getpass.getpass(prompt)
    return stdin.readline().rstrip("\r\n")


async def _diagnose(
    fleet: Fleet, command: Diagnose, instance_id: int, account: str | None, stdin: TextIO
) -> DiagnoseResult:
    """The diagnosis, with progress on stderr. A command is a process of its own, so it holds no rescue login: the
    password comes from stdin (--rescue-password-stdin), or is asked for at a terminal once the diagnosis is refused
    for the want of it (before any connection: the instance is in rescue mode and has an address to reach)."""
    password: str | None = None
    if command.password_stdin:
        password = _read_password(stdin, "Rescue root password (for diagnose): ")
        redact.register(password)
        if not password:
            raise InvalidRequestError(
                f"No rescue password was read from stdin for instance {instance_id}: pass it on the first line. "
                "Nothing was done.",
                kind="invalid.rescue_password",
                instance_id=instance_id,
            )
    try:
        return await fleet.diagnose(instance_id, account, rescue_password=password, on_progress=_progress)
    except ZomroError as exc:
        if exc.kind == "invalid.rescue_password" and password is None and stdin.isatty():
            asked = getpass.getpass(f"Rescue root password of instance {instance_id}: ")
            redact.register(asked)
            if asked:
                return await fleet.diagnose(instance_id, account, rescue_password=asked, on_progress=_progress)
        said = diagnosis_refusal(exc.kind, exc.facts)
        if said is None:
            raise
        raise ZomroError(said, kind=exc.kind, **exc.facts) from None


async def _progress(progress: float, total: float | None, message: str) -> None:
    print(printable(f"  ... {message}"), file=sys.stderr, flush=True)
