"""The human CLI: the same operations as the MCP tools, for a person at a terminal or a script (not via MCP).

`enter` and `exit` show the preview first and, without `--yes`, ask the person to type the instance id; with
no terminal to ask on, they refuse. Tables by default, `--json` for scripts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

import httpx2
from pydantic import BaseModel

from .audit import Approval, AuditTrail
from .billmanager import BillmanagerClient
from .config import Settings
from .errors import PolicyRefusedError, ZomroError
from .models import ActionResult, EnterRescueResult, Instance, InstanceList, RescueImageList
from .rescue import RescueService

__all__ = ["Ask", "run_command", "terminal_ask"]

Ask = Callable[[str], "str | None"]


def terminal_ask(question: str) -> str | None:
    """Ask on the terminal, even when stdin carries a password; None when there is no terminal."""
    if sys.stdin.isatty():
        return input(question)
    try:
        with open("/dev/tty", "r+", encoding="utf-8") as tty:
            tty.write(question)
            tty.flush()
            return tty.readline()
    except OSError:
        return None


async def run_command(
    args: argparse.Namespace,
    settings: Settings,
    transport: httpx2.AsyncBaseTransport | None,
    *,
    ask: Ask,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """Run one human command; domain errors propagate to the CLI's single error boundary."""
    audit = AuditTrail(settings.audit_log)
    api = BillmanagerClient(settings, transport=transport)
    service = RescueService(
        api,
        wait_seconds=settings.wait_seconds,
        poll_interval=settings.poll_interval,
        read_only=settings.read_only,
        allowed_instances=settings.allowed_instances,
        audit=audit,
    )
    show = _Printer(out, as_json=args.json)
    try:
        if args.command == "doctor":
            return await _doctor(service, settings, out)
        if args.command == "instances":
            show.instances(await service.list_instances(args.query))
        elif args.command == "images":
            show.images(await service.list_images(args.instance_id, args.zone))
        elif args.command == "status":
            show.instance(await service.status(args.instance_id))
        elif args.command == "enter":
            password = stdin.readline().rstrip("\r\n") if args.password_stdin else None
            preview = await service.enter(args.instance_id, args.image, zone=args.zone, password=password)
            show.action(preview)
            approval = _confirm(args, settings, ask)
            show.action(
                await service.enter(
                    args.instance_id,
                    preview.image.id,
                    zone=args.zone,
                    password=password,
                    confirm=True,
                    wait=not args.no_wait,
                    on_progress=_progress,
                    approval=approval,
                )
            )
        elif args.command == "exit":
            show.action(await service.exit(args.instance_id))
            approval = _confirm(args, settings, ask)
            show.action(
                await service.exit(
                    args.instance_id, confirm=True, wait=not args.no_wait, on_progress=_progress, approval=approval
                )
            )
        return 0
    finally:
        await api.aclose()


def _confirm(args: argparse.Namespace, settings: Settings, ask: Ask) -> Approval:
    """The person's go-ahead: --yes (a script that reviewed the preview) or the instance id typed."""
    if args.yes:
        if settings.require_approval:
            raise PolicyRefusedError(
                "Nothing was sent: --yes cannot stand in for the approval ZOMRO_REQUIRE_APPROVAL asks for. Run the "
                "command at a terminal without --yes and type the instance id."
            )
        return "not_required"
    answer = ask(f"Type the instance id {args.instance_id} to go ahead (anything else cancels): ")
    if answer is None:
        raise PolicyRefusedError(
            "Nothing was sent: there is no terminal to ask on. Review the preview above, then run the command "
            "again with --yes."
        )
    if answer.strip() != str(args.instance_id):
        raise PolicyRefusedError("Nothing was sent: the instance id was not typed, so the request was cancelled.")
    return "accepted"


async def _progress(progress: float, total: float | None, message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


async def _doctor(service: RescueService, settings: Settings, out: TextIO) -> int:
    """Mode and reachability with read-only calls; never a secret."""
    allowlist = (
        ", ".join(str(i) for i in sorted(settings.allowed_instances)) if settings.allowed_instances else "off (all)"
    )
    rows = [
        ("endpoint", "built-in simulator" if settings.simulator else settings.api_url),
        ("auth", settings.auth_kind),
        ("read-only", "on" if settings.read_only else "off"),
        ("allowlist", allowlist),
        ("approval", "on" if settings.require_approval else "off"),
        ("audit", f"{settings.audit_log} (writable)" if settings.audit_log else "off"),
        ("timeouts", f"{settings.timeout:g} s per request, watch up to {settings.wait_seconds:g} s"),
    ]
    for name, value in rows:
        print(f"{name:<10} {value}", file=out)  # stdout ok: the CLI prints for a person
    try:
        instances = await service.list_instances()
    except ZomroError as exc:
        print(f"{'api':<10} problem: {exc}", file=out)
        return exc.exit_code
    print(f"{'api':<10} ok: logged in, {len(instances.instances)} instance(s) visible", file=out)
    print("ready: the server would run in the mode above.", file=out)
    return 0


class _Printer:
    """Readable tables for people, JSON for scripts."""

    def __init__(self, out: TextIO, *, as_json: bool) -> None:
        self._out, self._json = out, as_json

    def _emit(self, model: BaseModel, lines: list[str]) -> None:
        text = model.model_dump_json(indent=2) if self._json else "\n".join(lines)
        print(text, file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def instances(self, data: InstanceList) -> None:
        rows = [_instance_row(i) for i in data.instances]
        self._emit(data, [_INSTANCE_HEAD, *rows] if rows else ["no instances"])

    def instance(self, data: Instance) -> None:
        self._emit(data, [_INSTANCE_HEAD, _instance_row(data)])

    def images(self, data: RescueImageList) -> None:
        head = f"instance {data.instance_id} ({data.name or '?'}) is {data.status or 'in an unknown state'}"
        widths = (36, 4, 28)
        rows = [_row(widths, i.id, i.zone, i.os, i.name or "") for i in data.images]
        self._emit(data, [head, _row(widths, "IMAGE", "ZONE", "OS", "NAME"), *rows, *data.notes])

    def action(self, data: ActionResult) -> None:
        lines = [("DONE: " if data.executed else "PREVIEW: ") + data.summary]
        if isinstance(data, EnterRescueResult) and data.password:
            lines.append(f"rescue root password (shown once): {data.password}")
        lines += data.notes
        if data.executed:  # a preview's next step is the question that follows
            lines.append(f"next: {data.next_step}")
        self._emit(data, lines)


_INSTANCE_WIDTHS = (10, 20, 16, 16)


def _row(widths: tuple[int, ...], *cells: object) -> str:
    padded = [str(cell).ljust(width) for cell, width in zip(cells, widths, strict=False)]
    return "  ".join([*padded, *map(str, cells[len(widths) :])]).rstrip()


def _instance_row(i: Instance) -> str:
    return _row(_INSTANCE_WIDTHS, i.id, i.name, i.ip or "-", i.status or "?", i.os or "-")


_INSTANCE_HEAD = _row(_INSTANCE_WIDTHS, "ID", "NAME", "IP", "STATE", "OS")
