"""`reboot`, `start` and `stop`: an instance's power, for a person at a terminal or a script; and the one way every
change the panel makes (power, the ISO boot, the root password, a snapshot) is run from the command line.

The discipline of `exit` (commands.py): the preview first (the instance's state read, the panel's rules applied;
nothing is sent), then the person's go-ahead (the instance id typed at the terminal, or `--yes`; with no terminal to
ask on, a refusal; `--dry-run` stops after the preview), then the confirmed call with the preview's preview_id, sent
once, then (unless `--no-wait`) the watch until it settles. A command says only what differs (`PanelCommand`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TextIO, TypeVar, Unpack, cast

from ..core.errors import InvalidRequestError, PolicyRefusedError
from ..core.printable import printable
from ..operations.approval import Approval
from ..operations.assembly import assemble
from ..operations.fleet import Change
from ..operations.models import ActionResult
from ..operations.power import PowerAction, PowerRequest, PowerResult
from ..operations.rescue import RescueService, RunOptions
from ..settings.accounts import Accounts
from .commands import resolve_instance
from .render import settled_lines
from .terminal import Ask, TerminalAsker

if TYPE_CHECKING:
    import httpx2

    from ..operations.pipeline import Request

__all__ = ["CLI", "PanelCommand", "known_account", "read_instance", "run_panel_command", "run_power_command"]

CLI = "zomro-rescue-mcp"

R = TypeVar("R", bound=Change)
S = TypeVar("S", bound=ActionResult)
T = TypeVar("T")


class PanelCommand(Generic[R, S]):
    """What one change of the panel's needs said for the command line; the flow is `run_panel_command`'s.

    `call` is the operation (a preview without `confirm`); the words default to the operation's own.
    """

    tool: str  # the operation's tool name, as the audit trail records it
    watches = True  # whether the executed request is watched (`--no-wait`); unwatched, `done` is the next step

    def request(self, instance_id: int, stdin: TextIO) -> R:
        """The request for the instance the person named (a secret is read from stdin here, never from argv)."""
        raise NotImplementedError

    async def call(self, service: RescueService, request: R, **options: Unpack[RunOptions]) -> S:
        raise NotImplementedError

    def confirmed(self, request: R, preview: S) -> R:
        """The request to confirm: what the preview resolved (an ISO's id for the name that was typed)."""
        return request

    def effect(self, data: S, target: str) -> str:
        """What the preview will do, or what the executed request did, as a sentence."""
        return data.summary

    def shown_once(self, data: S) -> list[str]:
        """Lines printed once, with the executed result only (a generated password)."""
        return []

    def notes(self, data: S) -> list[str]:
        return list(data.notes)

    def watched(self, data: S, notes: list[str]) -> str:
        """How the watch after the executed request ended, then the notes."""
        return settled_lines(data.model_copy(update={"notes": notes}))

    def done(self, data: S, target: str) -> str:
        """The next step once the request was accepted and the watch saw it through (lower case, no full stop)."""
        return "check that the services on the instance are back"


async def run_panel_command(
    command: PanelCommand[R, S],
    args: argparse.Namespace,
    accounts: Accounts,
    transport: httpx2.AsyncBaseTransport | None,
    *,
    ask: Ask,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """Preview, ask, confirm once with the preview's id, print; domain errors propagate to the CLI's single error
    boundary (cli/app.py)."""
    account = known_account(accounts, args.account)
    async with assemble(accounts, transport=transport).open() as fleet:
        where, instance_id = await resolve_instance(fleet, args.instance_id, account)
        named = fleet.several
        if account is None and named:  # a change names its account: refused (and audited) here
            refused = _Named(command.tool, instance_id)
            fleet.choose(refused, None, confirm=True, approval=Approval.NOT_ASKED, found_in=where)
        request = command.request(instance_id, stdin)
        service = fleet.choose(request, where, confirm=False)
        words = _Words(command, named)

        def say(text: str) -> None:
            print(text, file=out, flush=True)  # stdout ok: the CLI prints for a person

        with fleet.on(service):
            preview = await command.call(service, request)
            if args.dry_run:
                say(json.dumps(words.document(preview, True), indent=2) if args.json else words.lines(preview, True))
                return 0
            if not args.json:
                say(words.lines(preview, step=False))
            elif not args.yes:  # the person must see what they approve, even when stdout is for a script
                print(words.lines(preview, step=False), file=sys.stderr, flush=True)
            asker = TerminalAsker(
                ask,
                yes=args.yes,
                required=service.require_approval == "always",
                where=service.where("require_approval"),
            )
            answer = asker.approve(instance_id, preview.summary)
            if not answer.approval.approves:
                service.refuse(cast("Request", request), answer)  # audited; it reads the tool and the instance only
            result = await command.call(
                service,
                command.confirmed(request, preview),
                confirm=True,
                preview_id=preview.preview_id,
                wait=not getattr(args, "no_wait", False),
                approval=answer.approval,
                asked_by="terminal",
                on_progress=_progress,
            )
        _require_executed(result)
        say(json.dumps(words.document(result), indent=2) if args.json else words.lines(result))
    return 0


def known_account(accounts: Accounts, account: str | None) -> str | None:
    """The account `--account` names (None: none named); one that is not configured is a usage error."""
    if account is not None and accounts.get(account) is None:
        raise InvalidRequestError(
            f"There is no account {account!r}; the accounts are: {', '.join(accounts.names)}.",
            kind="invalid.account",
            accounts=list(accounts.names),
            next="account",
        )
    return account


async def read_instance(
    args: argparse.Namespace,
    accounts: Accounts,
    transport: httpx2.AsyncBaseTransport | None,
    read: Callable[[RescueService, int], Awaitable[T]],
) -> tuple[T, bool]:
    """A read about the instance the person named (`args.instance_id`), in its account; and whether several
    accounts are configured (then the words name the account)."""
    account = known_account(accounts, args.account)
    async with assemble(accounts, transport=transport).open() as fleet:
        where, instance_id = await resolve_instance(fleet, args.instance_id, account)
        service = fleet.service(where)
        with fleet.on(service):
            return await read(service, instance_id), fleet.several


class _Named:
    """A change before its request is made (no secret read yet), for the rule that a change names its account."""

    def __init__(self, tool: str, instance_id: int) -> None:
        self.tool, self.instance_id = tool, instance_id


class _Words(Generic[R, S]):
    """The lines and the `--json` document of a preview or a result, in the command's words."""

    def __init__(self, command: PanelCommand[R, S], named: bool) -> None:
        self._command, self._named = command, named

    def _target(self, data: S) -> str:
        return f"{data.instance_id} --account {data.account}" if self._named and data.account else str(data.instance_id)

    def next(self, data: S, dry_run: bool) -> str:
        if not data.executed:
            if dry_run:
                return "nothing was sent; to go ahead, run the same command without --dry-run"
            return "type the instance id when asked, to go ahead (or pass --yes once the preview was reviewed)"
        status = f"`{CLI} status {self._target(data)}`"
        if data.wait == "error_state":
            return "the instance went into the error state: ask Zomro support, or look at it in the panel"
        if self._command.watches and data.wait in ("timed_out", "not_waited", "unwatchable"):
            return f"look with {status} in a minute; do not send the request again"
        return self._command.done(data, self._target(data))

    def lines(self, data: S, dry_run: bool = False, *, step: bool = True) -> str:
        whose = f" on account {data.account}" if self._named and data.account else ""
        lead = ("EXECUTED" if data.executed else "PREVIEW") + whose
        said = [f"{lead}: {self._command.effect(data, self._target(data))}"]
        if data.executed:
            said += self._command.shown_once(data)
        notes = self._command.notes(data)
        said += [self._command.watched(data, notes)] if _settled(data) else notes
        if step:
            said.append(f"next: {self.next(data, dry_run)}.")
        return "\n".join(printable(line) for line in "\n".join(said).splitlines())

    def document(self, data: S, dry_run: bool = False) -> dict[str, Any]:
        effect, step = self._command.effect(data, self._target(data)), self.next(data, dry_run)
        return {
            **data.model_dump(mode="json"),
            "summary": effect[0].upper() + effect[1:],
            "notes": self._command.notes(data),
            "next_step": step[0].upper() + step[1:] + ".",
        }


def _settled(data: ActionResult) -> bool:
    """Whether the result is an executed request the server watched (its state line then leads its notes)."""
    return data.executed and data.wait != "not_waited"


class Power(PanelCommand[PowerRequest, PowerResult]):
    """`reboot`, `start` or `stop`."""

    def __init__(self, action: PowerAction) -> None:
        self._action = action

    tool = PowerRequest.tool

    def request(self, instance_id: int, stdin: TextIO) -> PowerRequest:
        return PowerRequest(instance_id, self._action)

    async def call(self, service: RescueService, request: PowerRequest, **options: Unpack[RunOptions]) -> PowerResult:
        from ..operations.power import power_instance

        return await power_instance(service, request, **options)

    def done(self, data: PowerResult, target: str) -> str:
        return "it is stopped" if data.action == "stop" else "check that the services on the instance are back"


async def run_power_command(
    args: argparse.Namespace,
    accounts: Accounts,
    transport: httpx2.AsyncBaseTransport | None,
    *,
    ask: Ask,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """Run `reboot`, `start` or `stop`; domain errors propagate to the CLI's single error boundary (cli/app.py)."""
    command = Power(cast("PowerAction", args.command))
    return await run_panel_command(command, args, accounts, transport, ask=ask, stdin=stdin, out=out)


def _require_executed(result: ActionResult) -> None:
    """The preview rule refused the go-ahead (the preview expired, or the state changed since): nothing was sent."""
    if result.executed:
        return
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


async def _progress(progress: float, total: float | None, message: str) -> None:
    print(printable(f"  ... {message}"), file=sys.stderr, flush=True)
