"""`repair` and `run`: the changes made in an instance's rescue system, for a person at a terminal or a script.

The discipline of `enter` and `exit` (commands.py): the preview first (the exact diff or commands, the device, the
files; nothing is changed), then the person's go-ahead (the instance id typed at the terminal, or `--yes`; with no
terminal to ask on, a refusal; `--dry-run` stops after the preview), then the confirmed call with the preview's
preview_id, run once. A command is a process of its own and holds no rescue login, so the rescue password comes
from stdin (`--rescue-password-stdin`) or is asked for at a terminal, as for `diagnose`. Every word is written by
cli/repair_render.py.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TextIO, Unpack, cast

from ..core import redact
from ..core.errors import InvalidRequestError, PolicyRefusedError, ZomroError
from ..core.printable import printable
from ..operations.approval import Answer, Approval
from ..operations.assembly import assemble
from ..operations.fleet import Fleet
from ..operations.repair_results import CommandResult, RepairResult
from ..operations.repairing import CommandRequest, RepairRequest
from ..settings.accounts import Accounts
from .commands import resolve_instance
from .repair_render import change_document, change_lines, refusal_for_people
from .terminal import Ask, TerminalAsker

if TYPE_CHECKING:
    import httpx2

    from ..operations.pipeline import Request
    from ..operations.rescue import RescueService, RunOptions

__all__ = ["Repair", "Run", "parse_repair_command", "run_repair_command"]

Shown = RepairResult | CommandResult
Asked = RepairRequest | CommandRequest


@dataclass(frozen=True)
class Repair:
    """`repair INSTANCE FIX [TARGET] [--password-stdin] [--disk DEV]`, with `--rescue-password-stdin`, `--yes` and
    `--dry-run`."""

    instance: str
    fix: str
    target: str | None = None
    password_stdin: bool = False
    disk: str | None = None
    rescue_password_stdin: bool = False
    yes: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class Run:
    """`run INSTANCE [--no-chroot] [--time-limit S] [--disk DEV] -- COMMAND…`, with `--rescue-password-stdin`,
    `--yes` and `--dry-run`."""

    instance: str
    command: str
    chroot: bool = True
    time_limit: int = 60
    disk: str | None = None
    rescue_password_stdin: bool = False
    yes: bool = False
    dry_run: bool = False


def parse_repair_command(args: argparse.Namespace) -> Repair | Run:
    """The typed command argparse read; `run`'s words are joined with spaces into one line, as ssh joins them."""
    common = {
        "disk": args.disk,
        "rescue_password_stdin": args.rescue_password_stdin,
        "yes": args.yes,
        "dry_run": args.dry_run,
    }
    if args.command == "repair":
        return Repair(args.instance_id, args.fix, args.target, args.password_stdin, **common)
    return Run(args.instance_id, " ".join(args.command_line), not args.no_chroot, args.time_limit, **common)


async def run_repair_command(
    args: argparse.Namespace,
    accounts: Accounts,
    transport: httpx2.AsyncBaseTransport | None,
    *,
    ask: Ask,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """Run `repair` or `run`; domain errors propagate to the CLI's single error boundary (cli/app.py)."""
    command = parse_repair_command(args)
    account: str | None = args.account
    if account is not None and accounts.get(account) is None:
        raise InvalidRequestError(
            f"There is no account {account!r}; the accounts are: {', '.join(accounts.names)}.",
            kind="invalid.account",
            accounts=list(accounts.names),
            next="account",
        )
    async with assemble(accounts, transport=transport).open() as fleet:
        where, instance_id = await resolve_instance(fleet, command.instance, account)
        request = _request(command, instance_id)
        if account is None and fleet.several:  # a change names its account: refused (and audited) here
            fleet.choose(request, None, confirm=True, approval=Approval.NOT_ASKED, found_in=where)
        request = _with_secrets(command, request, stdin)
        change = Change(fleet, where, command, ask=ask, as_json=args.json, named=fleet.several, stdin=stdin, out=out)
        await change.make(request)
    return 0


def _request(command: Repair | Run, instance_id: int) -> Asked:
    if isinstance(command, Repair):
        return RepairRequest(instance_id, command.fix, command.target, disk=command.disk)
    return CommandRequest(instance_id, command.command, command.chroot, command.time_limit, disk=command.disk)


def _with_secrets(command: Repair | Run, request: Asked, stdin: TextIO) -> Asked:
    """The rescue password (first line of stdin), and for account.set_root_password with --password-stdin the new
    root password (the next line); each registered as a secret the moment it is read."""
    if command.rescue_password_stdin:
        password = _read_secret(stdin, "Rescue root password: ")
        if not password:
            raise InvalidRequestError(
                f"No rescue password was read from stdin for instance {request.instance_id}: pass it on the first "
                "line. Nothing was done.",
                kind="invalid.rescue_password",
                instance_id=request.instance_id,
            )
        request = replace(request, rescue_password=password)
    if isinstance(command, Repair) and command.password_stdin:
        chosen = _read_secret(stdin, "New root password of the instance: ")
        if not chosen:
            raise InvalidRequestError(
                f"No root password was read from stdin for instance {request.instance_id}"
                + (" (the line after the rescue password)" if command.rescue_password_stdin else "")
                + ": pass it, or leave out --password-stdin to have one generated. Nothing was done.",
                instance_id=request.instance_id,
            )
        request = replace(cast(RepairRequest, request), password=chosen)
    return request


def _read_secret(stdin: TextIO, prompt: str) -> str:
    """A secret from stdin (asked for without echo at a terminal), never from argv where `ps` shows it."""
    read = getpass.getpass(prompt) if stdin.isatty() else stdin.readline().rstrip("\r\n")
    if read:
        redact.register(read)
    return read


class Change:
    """One repair or command through the pipeline: the preview, the person's go-ahead, the confirmed call."""

    def __init__(
        self,
        fleet: Fleet,
        where: str | None,
        command: Repair | Run,
        *,
        ask: Ask,
        as_json: bool,
        named: bool,
        stdin: TextIO,
        out: TextIO,
    ) -> None:
        self._fleet, self._where, self._command = fleet, where, command
        self._ask, self._json, self._named = ask, as_json, named
        self._stdin, self._out = stdin, out

    async def _call(self, request: Asked, **options: Unpack[RunOptions]) -> Shown:
        if isinstance(request, RepairRequest):
            return await self._fleet.repair(request, self._where, **options)
        return await self._fleet.run_command(request, self._where, **options)

    async def make(self, request: Asked) -> None:
        """Preview, ask, confirm with the preview's id, print; the outcome is printed as soon as it is known."""
        preview, request = await self._logged_in(request)
        service = self._fleet.service(self._where)
        if self._command.dry_run:  # the preview is the answer: nothing is asked, nothing is changed
            self._print(preview, None, dry_run=True)
            return
        shown = change_lines(preview, named=self._named, step=False)
        if not self._json:
            self._say(shown)
        elif not self._command.yes:  # the person must see what they approve, even when stdout is for a script
            print(shown, file=sys.stderr, flush=True)
        asker = TerminalAsker(
            self._ask,
            yes=self._command.yes,
            required=service.require_approval == "always",
            where=service.where("require_approval"),
        )
        answer = asker.approve(request.instance_id, preview.summary)
        if not answer.approval.approves:
            _refuse(service, request, answer)
        result = await self._call(
            request,
            confirm=True,
            preview_id=preview.preview_id,
            approval=answer.approval,
            asked_by="terminal",
            on_progress=_progress,
        )
        _require_executed(result)
        self._print(preview, result)

    async def _logged_in(self, request: Asked) -> tuple[Shown, Asked]:
        """The preview, and the request as it goes on: a terminal is asked for the rescue password once the preview
        is refused for the want of it (the instance is in rescue mode: it was found there)."""
        try:
            return await self._call(request), request
        except ZomroError as exc:
            if exc.kind == "invalid.rescue_password" and request.rescue_password is None and self._stdin.isatty():
                asked = getpass.getpass(f"Rescue root password of instance {request.instance_id}: ")
                if asked:
                    redact.register(asked)
                    request = replace(request, rescue_password=asked)
                    return await self._call(request), request
            said = refusal_for_people(exc.kind, exc.facts)
            if said is None:
                raise
            raise ZomroError(said, kind=exc.kind, **exc.facts) from None

    def _print(self, preview: Shown, result: Shown | None, *, dry_run: bool = False) -> None:
        if self._json:
            document = change_document(preview, result, named=self._named, dry_run=dry_run)
            self._say(json.dumps(document, indent=2))
            return
        if result is None:
            self._say(change_lines(preview, named=self._named, dry_run=dry_run))
        else:
            self._say(change_lines(result, named=self._named))

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)  # stdout ok: the CLI prints for a person


def _refuse(service: RescueService, request: Asked, answer: Answer) -> None:
    """The person did not approve at the terminal: refused and audited, before anything more reaches the instance."""
    # refuse() reads the request's tool and instance id only, which a repair and a command carry as enter and exit do.
    service.refuse(cast("Request", request), answer)


def _require_executed(result: Shown) -> None:
    """The preview rule refused the go-ahead (the preview expired, or what it showed changed since): nothing was
    done."""
    if result.executed:
        return
    why = (
        "the preview had expired (ZOMRO_PREVIEW_TTL) before the go-ahead"
        if result.preview_refusal == "expired"
        else "what it would do changed after its preview was shown (the disk was read again)"
        if result.preview_refusal == "different"
        else "the preview no longer confirms this change (another preview of the instance was given since)"
    )
    raise PolicyRefusedError(
        f"Nothing was changed: {why}. Run the command again to see a fresh preview.",
        kind="refused.preview_required",
        instance_id=result.instance_id,
    )


async def _progress(progress: float, total: float | None, message: str) -> None:
    print(printable(f"  ... {message}"), file=sys.stderr, flush=True)
