"""The human CLI: the same operations as the MCP tools, for a person at a terminal or a script (not via MCP).

`enter` and `exit` show the preview first and, without `--yes`, ask the person to type the instance id; with
no terminal to ask on, they refuse. Tables by default, `--json` for scripts.
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

from . import redact
from .approval import Ask, TerminalAsker
from .assembly import assemble
from .audit import AuditTrail
from .billmanager import BillmanagerClient
from .config import Settings, parse_instance_id
from .errors import InvalidRequestError, PolicyRefusedError, ZomroError
from .instances import matches
from .models import ActionResult, EnterRescueResult, Instance, InstanceList, RescueImageList, Zone
from .pipeline import EnterRequest, ExitRequest, Request
from .render_cli import action_lines, next_line
from .rescue import RescueService

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
    """`enter INSTANCE --image I [--zone Z] [--password-stdin]` or `exit INSTANCE`, with `--yes` and `--no-wait`."""

    entering: bool
    instance: str
    yes: bool
    no_wait: bool
    image: str = ""
    zone: Zone | None = None
    password_stdin: bool = False


@dataclass(frozen=True)
class Doctor:
    """`doctor [--capture FILE [--instance ID]]`"""

    capture: str | None
    instance: int | None


Command = Instances | Images | Status | Change | Doctor


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
    entering = name == "enter"
    return Change(
        entering=entering,
        instance=args.instance_id,
        yes=args.yes,
        no_wait=args.no_wait,
        image=args.image if entering else "",
        zone=args.zone if entering else None,
        password_stdin=args.password_stdin if entering else False,
    )


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
    command = parse_command(args)
    if isinstance(command, Doctor):  # reads only: it creates no audit file and changes nothing
        doctor_api = BillmanagerClient(settings, transport=transport)
        try:  # one client, so one login (a two-factor code is never sent twice)
            code = await _doctor(settings, doctor_api, out, as_json=args.json)
            if command.capture is not None:
                await _capture(settings, doctor_api, command.capture, command.instance)
        finally:
            await doctor_api.aclose()
        return code
    show = _Printer(out, as_json=args.json)
    async with assemble(settings, transport=transport).open() as service:
        match command:
            case Instances(query, limit, offset):
                show.instances(await service.list_instances(query, limit=limit, offset=offset))
            case Images(instance, zone):
                show.images(await service.list_images(await resolve_instance(service, instance), zone))
            case Status(instance):
                show.instance(await service.status(await resolve_instance(service, instance)))
            case Change():
                instance_id = await resolve_instance(service, command.instance)
                await _change(command, instance_id, settings, service, show, ask=ask, stdin=stdin, as_json=args.json)
        return 0


async def resolve_instance(service: RescueService, ref: str) -> int:
    """The one instance a person means by an id, a name or an IP address; none or several is a usage error."""
    if (instance_id := parse_instance_id(ref)) is not None:
        return instance_id
    listing = await service.list_instances(limit=None)
    wanted = ref.casefold()
    exact = [i for i in listing.instances if wanted in (i.name.casefold(), (i.ip or "").casefold(), (i.ipv6 or ""))]
    found = exact or [i for i in listing.instances if matches(i, ref)]
    if len(found) == 1:
        return found[0].id
    if not found:
        hidden = " (a list filter saved in the Zomro panel may hide it)" if listing.complete is False else ""
        raise InvalidRequestError(
            f"No instance is named {ref!r} or has that address{hidden}: `zomro-rescue-mcp instances` lists them.",
            kind="invalid.arguments",
        )
    listed = "; ".join(f"{i.id} {i.name} {i.ip or '-'}" for i in found[:10])
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    raise InvalidRequestError(
        f"{ref!r} matches {len(found)} instances: {listed}{more}. Name one by its id.",
        kind="invalid.arguments",
        candidates=[i.id for i in found],
    )


async def _change(
    command: Change,
    instance_id: int,
    settings: Settings,
    service: RescueService,
    show: _Printer,
    *,
    ask: Ask,
    stdin: TextIO,
    as_json: bool,
) -> None:
    """enter/exit through the pipeline: the preview, the person's go-ahead, the request, then the watch.

    The same calls as an MCP client's preview and confirmed call. The accepted result (with a generated
    password) is printed before the watch, so an interrupted watch never loses it.
    """
    request: Request
    if command.entering:
        password = _read_password(stdin) if command.password_stdin else None
        request = EnterRequest(instance_id, command.image, command.zone, password)
    else:
        request = ExitRequest(instance_id)
    preview = await service.run(request)
    show.action(preview)
    if as_json and not command.yes:  # the person must see what they approve, even when stdout is for a script
        print(action_lines(preview)[0], file=sys.stderr, flush=True)
    answer = TerminalAsker(ask, yes=command.yes, required=settings.guard_rails.require_approval).approve(
        instance_id, preview.summary
    )
    if not answer.approval.approves:
        service.refuse(request, answer)  # audited, and raises the refusal
    if isinstance(request, EnterRequest) and isinstance(preview, EnterRescueResult):
        request = replace(request, image=preview.image.id)  # the image previewed, whatever name was typed
    accepted: ActionResult | None = None
    try:
        result = await service.run(request, confirm=True, wait=False, approval=answer.approval)
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
    """The go-ahead came after the preview stopped counting (ZOMRO_PREVIEW_TTL): nothing was sent."""
    if not result.executed:
        raise PolicyRefusedError(
            "Nothing was sent: the preview had expired (ZOMRO_PREVIEW_TTL) before the go-ahead. Run the command "
            "again to see a fresh preview.",
            kind="refused.preview_required",
            instance_id=result.instance_id,
        )


def _read_password(stdin: TextIO) -> str:
    """The rescue password from stdin; at a terminal it is asked for without echo."""
    if stdin.isatty():
        return getpass.getpass("Rescue root password: ")
    return stdin.readline().rstrip("\r\n")


async def _progress(progress: float, total: float | None, message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


async def _doctor(settings: Settings, api: BillmanagerClient, out: TextIO, *, as_json: bool) -> int:
    """Mode and reachability with read-only calls; never a secret. Every check runs; the first problem decides."""
    allowlist = (
        ", ".join(str(i) for i in sorted(settings.guard_rails.allowed_instances))
        if settings.guard_rails.allowed_instances
        else "off (all)"
    )
    checks: dict[str, str] = {
        "endpoint": "built-in simulator" if settings.api.simulator else settings.api.api_url,
        "auth": settings.api.auth_kind,
        "read-only": "on" if settings.guard_rails.read_only else "off",
        "allowlist": allowlist,
        "approval": "on" if settings.guard_rails.require_approval else "off",
        "timeouts": f"{settings.api.timeout:g} s per request, watch up to {settings.timing.wait_seconds:g} s",
    }
    code = 0
    problems: list[str] = []
    if settings.guard_rails.audit_log is None:
        checks["audit"] = "off"
    elif (problem := AuditTrail.problem(settings.guard_rails.audit_log)) is not None:
        checks["audit"] = f"problem: {problem}; fix ZOMRO_AUDIT_LOG"
        problems.append(checks["audit"])
        code = 2
    else:
        checks["audit"] = f"{settings.guard_rails.audit_log} (writable)"
    try:
        service = RescueService(api, allowed_instances=settings.guard_rails.allowed_instances)
        instances = await service.list_instances(limit=1)
        checks["api"] = f"ok: logged in, {instances.total} instance(s) visible"
    except ZomroError as exc:
        checks["api"] = f"problem: {redact.scrub(str(exc))}"
        problems.append(checks["api"])
        code = code or exc.exit_code
    if as_json:
        print(json.dumps({"ready": code == 0, "checks": checks}, indent=2), file=out)  # stdout ok: the CLI
        return code
    for name, value in checks.items():
        print(f"{name:<10} {value}", file=out)  # stdout ok: the CLI prints for a person
    verdict = "ready: the server would run in the mode above." if code == 0 else "not ready: fix the problem above."
    print(verdict, file=out)  # stdout ok: the CLI prints for a person
    return code


async def _capture(settings: Settings, api: BillmanagerClient, path: str, instance_id: int | None) -> None:
    """Record the API's answers for support (read-only calls), with personal data replaced; says what it did."""
    from .capture import capture, write_capture

    recorded = await capture(api, settings, instance_id)
    write_capture(path, recorded.document)
    said = (
        f"capture: wrote {path} (mode 0600) with {len(recorded.document['answers'])} answers; {recorded.report}. "
        "Read it before you share it."
    )
    print(said, file=sys.stderr)  # stderr, so stdout stays the doctor's verdict (or its JSON)


class _Printer:
    """Readable tables for people, JSON for scripts."""

    def __init__(self, out: TextIO, *, as_json: bool) -> None:
        self._out, self._json = out, as_json

    def _emit(self, model: BaseModel, kind: str, lines: list[str]) -> None:
        text = json.dumps({"kind": kind, **model.model_dump(mode="json")}, indent=2) if self._json else "\n".join(lines)
        print(text, file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def instances(self, data: InstanceList) -> None:
        rows = [_instance_row(i) for i in data.instances]
        lines = [_INSTANCE_HEAD, *rows] if rows else ["no instances"]
        if data.next_offset is not None:
            shown = f"{data.offset + 1}-{data.offset + len(data.instances)}"
            lines.append(f"{shown} of {data.total}; more with --offset {data.next_offset}, or all with --all")
        self._emit(data, "instances", lines + data.notes)

    def instance(self, data: Instance) -> None:
        self._emit(data, "instance", [_INSTANCE_HEAD, _instance_row(data)])

    def images(self, data: RescueImageList) -> None:
        head = f"instance {data.instance_id} ({data.name or '?'}) is {data.status or 'in an unknown state'}"
        widths = (36, 4, 28)
        rows = [_row(widths, i.id, i.zone, i.os, i.name or "") for i in data.images]
        self._emit(data, "images", [head, _row(widths, "IMAGE", "ZONE", "OS", "NAME"), *rows, *data.notes])

    def action(self, data: ActionResult) -> None:
        """A preview, or an accepted request (with a generated password, printed at once); text only."""
        if self._json:
            return  # the JSON form is one document at the end: see change()
        print("\n".join(action_lines(data)), file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def settled(self, data: ActionResult) -> None:
        if not self._json:
            lines = [f"state: {data.status or 'unknown'} ({data.wait}, {data.waited_seconds:.0f} s)", *data.notes]
            print("\n".join(lines), file=self._out, flush=True)  # stdout ok: the CLI prints for a person

    def change(self, preview: ActionResult, final: ActionResult) -> None:
        """The end of enter/exit: the next step, or one JSON document holding the preview and the result."""
        if self._json:
            document = {
                "kind": final.kind,
                "preview": preview.model_dump(mode="json"),
                "result": final.model_dump(mode="json"),
            }
            print(json.dumps(document, indent=2), file=self._out, flush=True)  # stdout ok: the CLI
        else:
            print(next_line(final), file=self._out, flush=True)  # stdout ok: the CLI prints for a person


_INSTANCE_WIDTHS = (10, 20, 16, 16)


def _row(widths: tuple[int, ...], *cells: object) -> str:
    padded = [str(cell).ljust(width) for cell, width in zip(cells, widths, strict=False)]
    return "  ".join([*padded, *map(str, cells[len(widths) :])]).rstrip()


def _instance_row(i: Instance) -> str:
    return _row(_INSTANCE_WIDTHS, i.id, i.name, i.ip or "-", i.status or "?", i.os or "-")


_INSTANCE_HEAD = _row(_INSTANCE_WIDTHS, "ID", "NAME", "IP", "STATE", "OS")
