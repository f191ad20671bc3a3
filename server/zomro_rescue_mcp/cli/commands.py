"""The human CLI: the same operations as the MCP tools, for a person at a terminal or a script (not via MCP).

`enter` and `exit` show the preview first and, without `--yes`, ask the person to type the instance id; with
no terminal to ask on, they refuse; with `--dry-run` they show the preview and stop. Tables by default, `--json`
for scripts; every word is written by render_cli.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import dataclass, replace
from typing import TextIO

import anyio
import httpx2
from pydantic import BaseModel

from ..core import redact
from ..core.errors import ConfigError, InvalidRequestError, PolicyRefusedError, ZomroError
from ..core.logcontext import for_account
from ..core.printable import printable
from ..operations.approval import Approval
from ..operations.assembly import assemble
from ..operations.audit import AuditTrail
from ..operations.fleet import Fleet
from ..operations.instances import matches
from ..operations.models import ActionResult, EnterRescueResult, Instance, InstanceList, RescueImageList, Zone
from ..operations.pipeline import EnterRequest, ExitRequest, Request
from ..operations.rescue import RescueService
from ..settings.accounts import Accounts
from ..settings.config import Settings, parse_instance_id
from ..wire.billmanager import BillmanagerClient
from .render import (
    action_document,
    action_lines,
    image_table,
    instance_table,
    lines,
    next_line,
    row,
    settled_lines,
)
from .terminal import Ask, TerminalAsker

__all__ = ["Ask", "run_command", "terminal_ask"]


def terminal_ask(question: str) -> str | None:
    """Ask on the terminal, even when stdin carries a password; None when there is no terminal (or no answer)."""
    try:
        if sys.stdin.isatty():  # the question goes to stderr, so stdout stays the command's output
            print(question, end="", file=sys.stderr, flush=True)
            return sys.stdin.readline() or None
        with open("/dev/tty", "r+", encoding="utf-8") as tty:
            tty.write(question)
            tty.flush()
            return tty.readline() or None
    except (OSError, EOFError):
        return None


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
class Doctor:
    """`doctor [--capture FILE [--instance ID]]`"""

    capture: str | None
    instance: int | None


@dataclass(frozen=True)
class ListAccounts:
    """`accounts`: the configured accounts and their guard rails (never a secret); no API call."""


Command = Instances | Images | Status | Change | Doctor | ListAccounts


def parse_command(args: argparse.Namespace) -> Command:
    """The typed command argparse read (argparse has already refused what is malformed)."""
    name = args.command
    if name == "instances":
        return Instances(args.query, None if args.all else args.limit, args.offset)
    if name == "images":
        return Images(args.instance_id, args.zone)
    if name == "status":
        return Status(args.instance_id)
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
        return _list_accounts(accounts, out, as_json=args.json, only=account)
    if isinstance(command, Doctor):  # reads only: it creates no audit file and changes nothing
        return await _doctor_all(command, accounts, account, transport, out, as_json=args.json)
    show = _Printer(out, as_json=args.json, named=accounts.several)
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
        password = _read_password(stdin) if command.password_stdin else None
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
    show: _Printer,
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


def _read_password(stdin: TextIO) -> str:
    """The rescue password from stdin; at a terminal it is asked for without echo."""
    if stdin.isatty():
        return getpass.getpass("Rescue root password: ")
    return stdin.readline().rstrip("\r\n")


async def _progress(progress: float, total: float | None, message: str) -> None:
    print(printable(f"  ... {message}"), file=sys.stderr, flush=True)


async def _doctor_all(
    command: Doctor,
    accounts: Accounts,
    account: str | None,
    transport: httpx2.AsyncBaseTransport | None,
    out: TextIO,
    *,
    as_json: bool,
) -> int:
    """What is shared, then one line per account (each logged in with its own client, reads only); every check
    runs and the first problem decides. `--capture` records one account: the named one, or the only one."""
    chosen = [accounts.get(account)] if account is not None else list(accounts.settings)
    checked = [s for s in chosen if s is not None]
    if command.capture is not None and len(checked) > 1:
        raise ConfigError(
            f"--capture records one account: add --account NAME (one of {', '.join(accounts.names)}).",
            kind="invalid.account",
        )
    shared = accounts.shared
    checks: dict[str, str] = {
        "config": accounts.source
        or "environment (one account, named default)"
        + (f"; ZOMRO_CONFIG=none, so {accounts.skipped} is not read" if accounts.skipped else ""),
        "timeouts": f"{shared.api.timeout:g} s per request, watch up to {shared.timing.wait_seconds:g} s",
    }
    code = 0
    audit_log = shared.guard_rails.audit_log
    if audit_log is None:
        checks["audit"] = "off"
    elif (problem := AuditTrail.problem(audit_log)) is not None:
        checks["audit"] = f"problem: {problem}; fix ZOMRO_AUDIT_LOG"
        code = 2
    else:
        checks["audit"] = f"{audit_log} (writable)"
    reports: dict[str, dict[str, str]] = {}
    for settings in checked:
        if settings.api.problem is not None:  # its credentials cannot be used: nothing to log in with
            reports[settings.api.account] = {**_rails(settings), "api": f"problem: {settings.api.problem}"}
            code = code or 2
            continue
        api = BillmanagerClient(settings, transport=transport)
        try:  # one client per account, so one login (a two-factor code is never sent twice)
            with for_account(settings.api.account):
                report, failed = await _doctor(settings, api)
                reports[settings.api.account] = report
                code = code or failed
                if command.capture is not None:
                    await _capture(settings, api, command.capture, command.instance)
        finally:
            await api.aclose()
    if as_json:
        document = {"ready": code == 0, "checks": checks, "accounts": reports}
        print(json.dumps(document, indent=2), file=out)  # stdout ok: the CLI
        return code
    for name, value in checks.items():
        print(lines(f"{name:<10} {value}"), file=out)  # stdout ok: the CLI prints for a person
    for name, report in reports.items():
        rails = "; ".join(f"{k} {v}" for k, v in report.items() if k != "api")
        print(lines(f"account {name}: {report['api']}; {rails}"), file=out)  # stdout ok: the CLI prints for a person
    verdict = "ready: the server would run in the mode above." if code == 0 else "not ready: fix the problem above."
    print(verdict, file=out)  # stdout ok: the CLI prints for a person
    return code


def _rails(settings: Settings) -> dict[str, str]:
    """An account's report before its check: where it goes, how it logs in, its guard rails."""
    rails = settings.guard_rails
    allowlist = ", ".join(str(i) for i in sorted(rails.allowed_instances)) if rails.allowed_instances else "off (all)"
    return {
        "api": "",
        "endpoint": "built-in simulator" if settings.api.simulator else settings.api.api_url,
        "auth": settings.api.auth_kind or "-",
        "read-only": "on" if rails.read_only else "off",
        "allowlist": allowlist,
        "approval": {"always": "on", "auto": "auto", "never": "off"}[rails.require_approval],
    }


async def _doctor(settings: Settings, api: BillmanagerClient) -> tuple[dict[str, str], int]:
    """One account's mode and reachability, with read-only calls; never a secret. Its report and exit status."""
    rails = settings.guard_rails
    report = _rails(settings)
    try:
        service = RescueService(api, account=settings.api.account, allowed_instances=rails.allowed_instances)
        instances = await service.list_instances(limit=1)
        report["api"] = f"ok: logged in, {instances.total} instance(s) visible"
        return report, 0
    except ZomroError as exc:
        report["api"] = f"problem: {redact.scrub(str(exc))}"
        return report, exc.exit_code


def _list_accounts(accounts: Accounts, out: TextIO, *, as_json: bool, only: str | None = None) -> int:
    """The accounts, their endpoint, how they log in (the variables holding the secrets, never a value) and their
    guard rails; 2 when an account's credentials cannot be used (a server would not start), else 0."""
    problems: list[str] = []
    rows: list[dict[str, object]] = []
    widths = (16, 8, 28, 12, 10, 18, 9)
    table = [row(widths, "ACCOUNT", "DEFAULT", "ENDPOINT", "AUTH", "READ-ONLY", "ALLOWLIST", "APPROVAL", "SECRETS")]
    for settings in accounts.settings:
        if only is not None and settings.api.account != only:
            continue
        rails, api = settings.guard_rails, settings.api
        allowed = sorted(rails.allowed_instances) if rails.allowed_instances is not None else None
        endpoint = "built-in simulator" if api.simulator else api.api_url
        default = api.account == accounts.default
        rows.append(
            {
                "name": api.account,
                "default": default,
                "endpoint": endpoint,
                "auth": api.auth_kind or None,
                "secrets_from": list(api.secrets_from),
                "read_only": rails.read_only,
                "allowed_instances": allowed,
                "require_approval": rails.require_approval,
                "problem": api.problem,
            }
        )
        if api.problem is not None:
            problems.append(f"account {api.account}: problem: {api.problem}")
        table.append(
            row(
                widths,
                api.account,
                "yes" if default else "",
                endpoint,
                api.auth_kind or "-",
                "on" if rails.read_only else "off",
                ",".join(map(str, allowed)) if allowed else "all",
                {"always": "on", "auto": "auto", "never": "off"}[rails.require_approval],
                ", ".join(api.secrets_from) or "-",
            )
        )
    if as_json:
        document = {"kind": "accounts", "source": accounts.source, "accounts": rows}
        print(json.dumps(document, indent=2), file=out)  # stdout ok: the CLI's --json output
        return 2 if problems else 0
    table.append(printable(f"from {accounts.source or 'the environment (ZOMRO_*)'}"))
    print("\n".join([*table, lines(*problems)] if problems else table), file=out)  # stdout ok: the CLI, for a person
    return 2 if problems else 0


async def _capture(settings: Settings, api: BillmanagerClient, path: str, instance_id: int | None) -> None:
    """Record the API's answers for support (read-only calls), with personal data replaced; says what it did."""
    from ..operations.capture import capture, write_capture

    recorded = await capture(api, settings, instance_id)
    write_capture(path, recorded.document)
    said = (
        f"capture: wrote {path} (mode 0600) with {len(recorded.document['answers'])} answers; {recorded.report}. "
        "Read it before you share it."
    )
    print(printable(said), file=sys.stderr)  # stderr, so stdout stays the doctor's verdict (or its JSON)


class _Printer:
    """Readable tables for people, JSON for scripts (render_cli writes both); `named`: several accounts, so rows name
    theirs."""

    def __init__(self, out: TextIO, *, as_json: bool, named: bool = False) -> None:
        self._out, self._json, self._named = out, as_json, named

    def _emit(self, model: BaseModel, kind: str, text: str) -> None:
        if self._json:
            text = json.dumps({"kind": kind, **model.model_dump(mode="json")}, indent=2)
        print(text, file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def instances(self, data: InstanceList) -> None:
        self._emit(data, "instances", instance_table(data, named=self._named))

    def instance(self, data: Instance) -> None:
        self._emit(data, "instance", instance_table(data, named=self._named))

    def images(self, data: RescueImageList) -> None:
        self._emit(data, "images", image_table(data, named=self._named))

    def action(self, data: ActionResult) -> None:
        """A preview, or an executed request (with a generated password, printed at once); text only."""
        if self._json:
            return  # the JSON form is one document at the end: see change()
        said = action_lines(data, named=self._named)
        print("\n".join(said), file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def settled(self, data: ActionResult) -> None:
        if not self._json:
            print(settled_lines(data), file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def change(self, preview: ActionResult, final: ActionResult, *, dry_run: bool = False) -> None:
        """The end of enter/exit: the next step, or one JSON document holding the preview and the result (a dry
        run: the preview alone)."""
        if self._json:
            document: dict[str, object] = {
                "kind": final.kind,
                "preview": action_document(preview, named=self._named, dry_run=dry_run),
            }
            if not dry_run:
                document["result"] = action_document(final, named=self._named)
            print(json.dumps(document, indent=2), file=self._out, flush=True)  # stdout ok: the CLI
        else:
            said = next_line(final, named=self._named, dry_run=dry_run)
            print(said, file=self._out, flush=True)  # stdout ok: the CLI prints for a person
