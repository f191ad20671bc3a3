"""The `zomro-rescue-mcp` command: one boundary that prints one sentence per error and returns an exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from .. import __version__
from ..core import redact
from ..core.errors import ConfigError, ZomroError
from ..settings.accounts import Accounts, load_accounts

if TYPE_CHECKING:
    from httpx2 import AsyncBaseTransport
    from starlette.types import ASGIApp

    from .commands import Ask

HUMAN_COMMANDS = ("instances", "images", "status", "enter", "exit", "doctor", "accounts")

__all__ = ["main"]

EPILOG = """\
accounts: one from the variables below (named default), or several from a TOML file:
  ZOMRO_CONFIG       the accounts file (default $XDG_CONFIG_HOME/zomro-rescue-mcp/config.toml, used when it
                     exists): [accounts.NAME] tables with api_url, username, password_env, token_env,
                     totp_secret_env, read_only, allowed_instances, require_approval; optional default_account
                     ZOMRO_CONFIG=none: no file, the environment's one account

configuration (environment variables; flags override them):
  ZOMRO_API_URL      API endpoint (default https://api.zomro.com/); https, or http to a loopback address only
  ZOMRO_AUTH_TOKEN   a session id to send as `auth`
  ZOMRO_USERNAME     account login, used with ZOMRO_PASSWORD to log in (and to log in again
  ZOMRO_PASSWORD     once when the session expires); takes the place of or backs up the token
  ZOMRO_TOTP_SECRET  two-factor accounts: the base32 secret shown when two-factor was set up
  ZOMRO_TIMEOUT      seconds per API request, 1 to 300 (default 30)
  ZOMRO_LANG         language of the API's messages (default en)
  ZOMRO_WAIT_SECONDS how long a confirmed enter/exit watches the instance settle (default 120; 0 = no wait)
  ZOMRO_POLL_INTERVAL seconds between state reads while watching, 1 to 60 (default 3)
  ZOMRO_LOG_LEVEL    server log level on stderr: DEBUG, INFO (default), WARNING, ERROR

guard rails:
  ZOMRO_READ_ONLY          1: enter_rescue and exit_rescue are not offered at all (--read-only)
  ZOMRO_ALLOWED_INSTANCES  comma-separated instance ids; every other id is refused before any API call
  ZOMRO_AUDIT_LOG          JSON-lines file (mode 0600) recording every enter/exit attempt, never a secret;
                           a regular file of this user or a new one (no device, pipe, socket, folder, symlink)
  ZOMRO_REQUIRE_APPROVAL   auto (default): a confirmed enter/exit asks the person to type the instance id
                           wherever the client can; 1: always, refusing clients that cannot; 0: never
  ZOMRO_REQUIRE_PREVIEW    on by default: a confirmed enter/exit runs only after this server previewed
                           the same action; false turns that off
  ZOMRO_PREVIEW_TTL        seconds a preview stays usable for its confirmation (default 600)
  ZOMRO_MCP_TOKEN          http transport: bearer token required on every MCP request
  ZOMRO_ALLOWED_HOSTS      http transport: Host names accepted (needed for a wildcard bind)

An empty guard-rail value is an error, never "off": unset a variable to get its default.

Without credentials, `serve --simulator` runs against the built-in simulator of the Zomro API.
Exit codes: 0 ok, 1 API or network error, 2 usage or configuration, 3 refused, 4 outcome unknown.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zomro-rescue-mcp",
        description="MCP server that takes a Zomro Cloud VPS into rescue mode and back, safely.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"zomro-rescue-mcp {__version__}")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG level and show tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    api = argparse.ArgumentParser(add_help=False)
    # Also after the command; SUPPRESS keeps a --debug given before it from being reset.
    api.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="log at DEBUG level and show tracebacks"
    )
    api.add_argument(
        "--simulator",
        action="store_true",
        help="use the built-in simulator instead of the API (each command starts a fresh one)",
    )
    api.add_argument(
        "--replay", metavar="FILE", help="with --simulator: simulate the account recorded by `doctor --capture FILE`"
    )
    api.add_argument("--api-url", help="overrides ZOMRO_API_URL")
    api.add_argument("--timeout", help="overrides ZOMRO_TIMEOUT")
    api.add_argument("--lang", help="overrides ZOMRO_LANG")
    api.add_argument("--read-only", action="store_const", const="1", help="same as ZOMRO_READ_ONLY=1")
    serve = commands.add_parser("serve", parents=[api], help="run the MCP server over stdio (the default command)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="stdio (default) or http")
    serve.add_argument("--host", default="127.0.0.1", help="http: address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="http: port (default 8000)")
    serve.add_argument(
        "--allow-no-token", action="store_true", help="http on loopback only: serve without ZOMRO_MCP_TOKEN (testing)"
    )
    demo = commands.add_parser("demo", help="run the whole rescue story against the simulator and print it")
    demo.add_argument("--replay", metavar="FILE", help="tell it on the account recorded by `doctor --capture FILE`")
    schemas = commands.add_parser(
        "schemas", help="print each tool's schemas and annotations as JSON (or write them as files with --write)"
    )
    schemas.add_argument("--write", metavar="DIR", help="write one JSON file per tool, and modes.json, into DIR")
    human = argparse.ArgumentParser(add_help=False, parents=[api])
    human.add_argument("--json", action="store_true", help="print JSON instead of tables")
    human.add_argument(
        "--account", metavar="NAME", help="the configured account (several accounts: a change must name one)"
    )
    _add_human_commands(commands, human)
    sim = commands.add_parser("simulator", help="serve the simulated Zomro API over HTTP on loopback")
    sim.add_argument("--port", type=int, default=8089, help="port on 127.0.0.1 (default 8089)")
    return parser


INSTANCE_HELP = "the instance: its id, its name or its IP address (as `instances` lists them)"
FRESH_SIMULATOR = (
    "With --simulator, each command starts a fresh simulator: what one command changed is gone in the next (an "
    "instance put into rescue mode by `enter --simulator` is active again for `exit --simulator`; the simulator's "
    "legacy-1, 5203775, starts in rescue mode). To keep one simulated account across commands, run "
    "`zomro-rescue-mcp simulator` in another terminal and set ZOMRO_API_URL, ZOMRO_USERNAME and ZOMRO_PASSWORD to "
    "what it prints."
)


def _add_human_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """The human CLI on the same operations as the tools (see commands.py)."""
    instances = commands.add_parser("instances", parents=[common], help="list instances (QUERY filters)")
    instances.add_argument("query", nargs="?", help="part of an id, name or IP address")
    instances.add_argument("--limit", type=_count(1, 500), default=50, help="instances per page (1-500, default 50)")
    instances.add_argument("--offset", type=_count(0, None), default=0, help="position of the first one (default 0)")
    instances.add_argument("--all", action="store_true", help="print every instance, page after page")
    images = commands.add_parser("images", parents=[common], help="list the rescue images offered for an instance")
    images.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
    images.add_argument("--zone", choices=["pub", "own", "shr"], help="only the images of this zone")
    status = commands.add_parser("status", parents=[common], help="show one instance's state")
    status.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
    enter = commands.add_parser(
        "enter",
        parents=[common],
        help="put an instance into rescue mode",
        description="Put an instance into rescue mode: the preview first, then your go-ahead (type the instance id, "
        "or --yes), then the request, then the watch until it settles.",
        epilog=FRESH_SIMULATOR,
    )
    enter.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
    enter.add_argument(
        "--image", required=True, help="image UUID, OS label or name, or an OS family naming one (`images` lists them)"
    )
    enter.add_argument("--zone", choices=["pub", "own", "shr"], help="the image's zone (inferred from the image)")
    enter.add_argument("--password-stdin", action="store_true", help="read the rescue root password from stdin")
    leave = commands.add_parser(
        "exit",
        parents=[common],
        help="take an instance out of rescue mode",
        description="Take an instance out of rescue mode: the preview first, then your go-ahead (type the instance "
        "id, or --yes), then the request, then the watch until it settles.",
        epilog=FRESH_SIMULATOR,
    )
    leave.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
    for change in (enter, leave):
        change.add_argument("--yes", action="store_true", help="do not ask: the preview was reviewed")
        change.add_argument("--no-wait", action="store_true", help="do not watch the instance settle")
        change.add_argument(
            "--dry-run", action="store_true", help="show the preview and stop: nothing is asked, nothing is sent"
        )
    doctor = commands.add_parser("doctor", parents=[common], help="check configuration and credentials (reads only)")
    doctor.add_argument(
        "--capture",
        metavar="FILE",
        help="also record the API's answers (read-only calls) to FILE, with personal data replaced, for support",
    )
    doctor.add_argument("--instance", type=_instance_id, metavar="ID", help="--capture: the instance to record")
    commands.add_parser(
        "accounts", parents=[common], help="list the configured accounts and their guard rails (never a secret)"
    )


def _instance_ref(text: str) -> str:
    """An instance as a person names it: its id, its name or its IP address (resolved to one id later)."""
    ref = text.strip()
    if not ref or len(ref) > 200:
        raise argparse.ArgumentTypeError("name the instance by its id, name or IP address")
    return ref


def _instance_id(text: str) -> int:
    """An instance id as a person types it: ASCII digits only."""
    from ..settings.config import parse_instance_id

    value = parse_instance_id(text.strip())
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an instance id (digits 0-9, such as 5203773)")
    return value


def _count(low: int, high: int | None) -> Any:
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < low or (high is not None and int(text) > high):
            upper = f" to {high}" if high is not None else " or more"
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {low}{upper}")
        return int(text)

    return parse


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
    args = _parser().parse_args(argv)
    env = os.environ if env is None else env
    command = args.command or "serve"
    several = False  # whether several accounts are configured: then the next commands name the account
    try:
        # A person at the terminal sees results, not the server's INFO log (it would land inside the prompt).
        _setup_logging(env, args.debug, default="WARNING" if command in HUMAN_COMMANDS else "INFO")
        if command in HUMAN_COMMANDS:
            import anyio

            from .commands import run_command, terminal_ask

            accounts, transport = _accounts(args, env)
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
            return run_demo(replay=args.replay)
        if command == "schemas":
            return _schemas(args.write)
        if command == "simulator":
            return _run_simulator(args.port)
        return _serve(args, env)
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
        print(
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
        print(
            f"zomro-rescue-mcp: unexpected error ({type(exc).__name__}); run with --debug for details.", file=sys.stderr
        )
        return 1


def _accounts(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[Accounts, AsyncBaseTransport | None]:
    """The accounts from the environment or the accounts file, and flags; with --simulator, each account is served
    by one in-process simulator (the first as its demo account, the others as accounts of their own)."""
    simulator = bool(getattr(args, "simulator", False))
    accounts = load_accounts(
        env,
        simulator=simulator,
        lenient=args.command in ("doctor", "accounts"),  # they show each account's problem; a server refuses it
        api_url=getattr(args, "api_url", None),
        timeout=getattr(args, "timeout", None),
        lang=getattr(args, "lang", None),
        read_only=getattr(args, "read_only", None),
    )
    if getattr(args, "replay", None) is not None and not simulator:
        raise ConfigError("--replay serves a capture on the built-in simulator: add --simulator.")
    if not simulator:
        return accounts, None
    import httpx2

    from ..simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator
    from ..simulator.replay import CaptureError, load_capture, replay

    simulator_ = Simulator(transition_seconds=2.0)
    if args.replay is not None:
        if accounts.several:
            raise ConfigError("--replay serves one captured account: use it without an accounts file.")
        try:
            replay(simulator_, load_capture(args.replay))
        except CaptureError as exc:
            raise ConfigError(str(exc)) from None
    served = [accounts.settings[0].but(username=DEMO_USERNAME, password=DEMO_PASSWORD)]
    for settings in accounts.settings[1:]:
        username = f"{settings.api.account}@accounts.example.com"  # never a login the simulator has
        simulator_.add_account(username, DEMO_PASSWORD)
        served.append(settings.but(username=username, password=DEMO_PASSWORD))
    return replace(accounts, settings=tuple(served)), httpx2.ASGITransport(app=simulator_.app)


def _serve(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    http = getattr(args, "transport", "stdio") == "http"
    if http and not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, not {args.port}.")
    accounts, transport = _accounts(args, env)
    from ..mcp_server.server import build_server

    server = build_server(accounts, transport=transport)
    shared = accounts.shared
    app: ASGIApp | None = None
    if http:
        from ..mcp_server.http_app import build_http_app

        # Every start condition of the HTTP transport (token, Host names) is checked here, before the announcement.
        app = build_http_app(server, accounts, host=args.host, port=args.port, allow_no_token=args.allow_no_token)
    log = logging.getLogger("zomro_rescue_mcp")
    log.info(
        "serving over %s: %d account(s) from %s, audit %s, preview rule %s",
        f"http on {args.host}:{args.port}" if http else "stdio",
        len(accounts.settings),
        accounts.source
        or "the environment" + (f" (ZOMRO_CONFIG=none: {accounts.skipped} is not read)" if accounts.skipped else ""),
        shared.guard_rails.audit_log or "off",
        "on" if shared.guard_rails.require_preview else "off (ZOMRO_REQUIRE_PREVIEW)",
    )
    for settings in accounts.settings:
        rails = settings.guard_rails
        log.info(
            "account %s%s: endpoint %s, auth %s, read-only %s, allowlist %s, approval %s",
            settings.api.account,
            " (default)" if settings.api.account == accounts.default else "",
            "simulator" if settings.api.simulator else settings.api.api_url,
            settings.api.auth_kind,
            "on" if rails.read_only else "off",
            "on" if rails.allowed_instances is not None else "off",
            {"always": "on", "auto": "auto", "never": "off"}[rails.require_approval],
        )
    if app is None:
        server.run()
        return 0
    from ..mcp_server.http_limits import serve

    serve(app, args.host, args.port)
    return 0


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


def _run_simulator(port: int) -> int:
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, not {port}.")
    from ..mcp_server.http_limits import serve
    from ..simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator

    print(
        f"Simulated Zomro API on http://127.0.0.1:{port}/ (login {DEMO_USERNAME} / {DEMO_PASSWORD}); Ctrl-C stops.",
        file=sys.stderr,
    )
    serve(Simulator().app, "127.0.0.1", port)
    return 0
