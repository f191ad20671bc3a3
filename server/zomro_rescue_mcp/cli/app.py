"""The `zomro-rescue-mcp` command: one boundary that prints one sentence per error and returns an exit code."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from ..core import redact
from ..core.errors import ConfigError, ZomroError
from .parser import HUMAN_COMMANDS, ISO_COMMANDS, POWER_COMMANDS, REPAIR_COMMANDS, SNAPSHOT_COMMANDS, build_parser
from .serving import run_server, run_simulator
from .wiring import accounts_for

if TYPE_CHECKING:
    from .terminal import Ask

__all__ = ["main"]


def _setup_logging(env: Mapping[str, str], debug: bool, *, default: str = "INFO") -> None:
    """Log lines go to stderr only (stdout carries JSON-RPC in stdio mode), with secrets masked."""
    level_name = "DEBUG" if debug else (env.get("ZOMRO_LOG_LEVEL") or default).strip().upper()
    if level_name not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"ZOMRO_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level_name!r}.")
    level = logging.getLevelNamesMapping()[level_name]
    from ..core.logcontext import FORMAT, AccountFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(redact.SecretFilter())
    handler.addFilter(AccountFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("mcp", "httpx2", "httpcore2", "uvicorn"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    ask: Ask | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit status instead of exiting, so tests can call it.

    `ask` and `stdin` stand in for the terminal in tests of the interactive confirmation.
    """
    args = build_parser().parse_args(argv)
    env = os.environ if env is None else env
    command = args.command or "serve"
    several = False  # whether several accounts are configured: then the next commands name the account
    try:
        # A person at the terminal sees results, not the server's INFO log (it would land inside the prompt).
        _setup_logging(env, args.debug, default="WARNING" if command in HUMAN_COMMANDS else "INFO")
        if command in HUMAN_COMMANDS:
            import anyio

            from .terminal import terminal_ask

            if command in REPAIR_COMMANDS:
                from .repair_commands import run_repair_command as run_command
            elif command in POWER_COMMANDS:
                from .power_commands import run_power_command as run_command
            elif command in ISO_COMMANDS:
                from .iso_commands import run_iso_command as run_command
            elif command in SNAPSHOT_COMMANDS:
                from .snapshot_commands import run_snapshot_command as run_command
            else:
                from .commands import run_command

            accounts, transport = accounts_for(args, env)
            several = accounts.several
            return anyio.run(
                lambda: run_command(
                    args, accounts, transport, ask=ask or terminal_ask, stdin=stdin or sys.stdin, out=sys.stdout
                )
            )
        if command == "demo":
            from .demo import run_demo

            if args.replay is not None:  # judged here, so a bad file is one sentence and exit 2, not the child's crash
                from ..simulator.replay import CaptureError, load_capture

                try:
                    load_capture(args.replay)
                except CaptureError as exc:
                    raise ConfigError(str(exc)) from None
            return run_demo(replay=args.replay, rescue_system=args.rescue_system, disks=args.disk)
        if command == "schemas":
            return _schemas(args.write)
        if command == "rescue-vm":
            from .rescue_vm import run_rescue_vm

            return run_rescue_vm(args, env)
        if command == "simulator":
            return run_simulator(args.port)
        return run_server(args, env)
    except ZomroError as exc:
        from ..core.printable import printable

        message = printable(redact.scrub(str(exc)))
        if command in HUMAN_COMMANDS:
            from .render import error_for_people, facts_for_people

            message = error_for_people(message, exc.facts, named=several)
            if getattr(args, "json", False):  # a script gets the outcome as data too
                document = {"kind": exc.kind, "message": message, "facts": facts_for_people(exc.facts)}
                print(json.dumps(document, indent=2))  # stdout ok: the CLI's --json output
        print(f"zomro-rescue-mcp: {message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(  # stdout ok: to stderr
            "zomro-rescue-mcp: interrupted. A request already accepted stays as sent (and any password was printed "
            "above); look with `zomro-rescue-mcp status ID`.",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # `… | head` closed the pipe: nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(  # stdout ok: to stderr
            f"zomro-rescue-mcp: unexpected error ({type(exc).__name__}); run with --debug for details.", file=sys.stderr
        )
        return 1


def _schemas(folder: str | None) -> int:
    """`schemas`: the tools' documents and each mode's tools as one JSON document on stdout; files only with --write."""
    from ..mcp_server.schemas import live_modes, live_tool_documents, render, write_schemas

    if folder is None:
        document = {"tools": live_tool_documents(), "modes": live_modes()}
        sys.stdout.write(render(document))  # stdout ok: the command's output, for a person or a script
        return 0
    from pathlib import Path

    for path in write_schemas(Path(folder)):
        print(f"wrote {path}", file=sys.stderr)
    return 0
