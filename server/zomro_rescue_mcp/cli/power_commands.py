"""`reboot`, `start` and `stop`: an instance's power, for a person at a terminal or a script.

The discipline of `exit` (commands.py): the preview first (the instance's state read, the panel's rules applied;
nothing is sent), then the person's go-ahead (the instance id typed at the terminal, or `--yes`; with no terminal to
ask on, a refusal; `--dry-run` stops after the preview), then the confirmed call with the preview's preview_id, sent
once, then (unless `--no-wait`) the watch until it is active or stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO, cast

from ..core.errors import InvalidRequestError, PolicyRefusedError
from ..core.printable import printable
from ..operations.approval import Approval
from ..operations.assembly import assemble
from ..operations.power import PowerAction, PowerRequest, PowerResult
from ..settings.accounts import Accounts
from .commands import resolve_instance
from .render import settled_lines
from .terminal import Ask, TerminalAsker

if TYPE_CHECKING:
    import httpx2

    from ..operations.pipeline import Request

__all__ = ["run_power_command"]

CLI = "zomro-rescue-mcp"


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
    action = cast("PowerAction", args.command)
    account: str | None = args.account
    if account is not None and accounts.get(account) is None:
        raise InvalidRequestError(
            f"There is no account {account!r}; the accounts are: {', '.join(accounts.names)}.",
            kind="invalid.account",
            accounts=list(accounts.names),
            next="account",
        )
    async with assemble(accounts, transport=transport).open() as fleet:
        where, instance_id = await resolve_instance(fleet, args.instance_id, account)
        request = PowerRequest(instance_id, action)
        if account is None and fleet.several:  # a change names its account: refused (and audited) here
            fleet.choose(request, None, confirm=True, approval=Approval.NOT_ASKED, found_in=where)
        service = fleet.choose(request, where, confirm=False)
        named = fleet.several

        def say(text: str) -> None:
            print(text, file=out, flush=True)  # stdout ok: the CLI prints for a person

        from ..operations.power import power_instance

        with fleet.on(service):
            preview = await power_instance(service, request)
            if args.dry_run:
                say(json.dumps(_document(preview, dry_run=True), indent=2) if args.json else _lines(preview, named))
                return 0
            if not args.json:
                say(_lines(preview, named, step=False))
            elif not args.yes:  # the person must see what they approve, even when stdout is for a script
                print(_lines(preview, named, step=False), file=sys.stderr, flush=True)
            asker = TerminalAsker(
                ask,
                yes=args.yes,
                required=service.require_approval == "always",
                where=service.where("require_approval"),
            )
            answer = asker.approve(instance_id, preview.summary)
            if not answer.approval.approves:
                service.refuse(cast("Request", request), answer)  # audited; it reads the tool and the instance only
            result = await power_instance(
                service,
                request,
                confirm=True,
                preview_id=preview.preview_id,
                wait=not args.no_wait,
                approval=answer.approval,
                asked_by="terminal",
                on_progress=_progress,
            )
        _require_executed(result)
        say(json.dumps(_document(result), indent=2) if args.json else _lines(result, named))
    return 0


def _next(data: PowerResult, dry_run: bool) -> str:
    if not data.executed:
        if dry_run:
            return "nothing was sent; to go ahead, run the same command without --dry-run"
        return "type the instance id when asked, to go ahead (or pass --yes once the preview was reviewed)"
    status = f"`{CLI} status {data.instance_id}`"
    if data.wait == "error_state":
        return "the instance went into the error state: ask Zomro support, or look at it in the panel"
    if data.wait in ("timed_out", "not_waited", "unwatchable"):
        return f"look with {status} in a minute; do not send the request again"
    return "it is stopped" if data.action == "stop" else "check that the services on the instance are back"


def _lines(data: PowerResult, named: bool, *, step: bool = True, dry_run: bool = False) -> str:
    whose = f" on account {data.account}" if named and data.account else ""
    lead = ("EXECUTED" if data.executed else "PREVIEW") + whose
    said = [f"{lead}: {data.summary}"]
    said += [settled_lines(data)] if data.executed and data.wait != "not_waited" else list(data.notes)
    if step:
        said.append(f"next: {_next(data, dry_run)}.")
    return "\n".join(printable(line) for line in "\n".join(said).splitlines())


def _document(data: PowerResult, *, dry_run: bool = False) -> dict[str, Any]:
    step = _next(data, dry_run)
    return {**data.model_dump(mode="json"), "next_step": step[0].upper() + step[1:] + "."}


def _require_executed(result: PowerResult) -> None:
    """The preview rule refused the go-ahead (the preview expired, or the state changed since): nothing was sent."""
    if result.executed:
        return
    why = (
        "the preview had expired (ZOMRO_PREVIEW_TTL) before the go-ahead"
        if result.preview_refusal == "expired"
        else "the preview no longer confirms this action (another preview of the instance was given since)"
    )
    raise PolicyRefusedError(
        f"Nothing was sent: {why}. Run the command again to see a fresh preview.",
        kind="refused.preview_required",
        instance_id=result.instance_id,
    )


async def _progress(progress: float, total: float | None, message: str) -> None:
    print(printable(f"  ... {message}"), file=sys.stderr, flush=True)
