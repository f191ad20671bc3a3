"""The command line as argparse reads it: the commands, their flags and help, and the epilog of settings."""

from __future__ import annotations

import argparse
from typing import Any

from .. import __version__

__all__ = [
    "EPILOG",
    "HUMAN_COMMANDS",
    "ISO_COMMANDS",
    "POWER_COMMANDS",
    "REPAIR_COMMANDS",
    "SNAPSHOT_COMMANDS",
    "build_parser",
]

HUMAN_COMMANDS = (
    "instances",
    "images",
    "status",
    "check",
    "enter",
    "diagnose",
    "repair",
    "run",
    "exit",
    "reboot",
    "start",
    "stop",
    "isos",
    "boot-iso",
    "reset-password",
    "snapshots",
    "snapshot",
    "doctor",
    "accounts",
)
REPAIR_COMMANDS = ("repair", "run")  # changes made in an instance's rescue system (repair_commands.py)
POWER_COMMANDS = ("reboot", "start", "stop")  # an instance's power (power_commands.py)
ISO_COMMANDS = ("isos", "boot-iso", "reset-password")  # an ISO boot, the root password (iso_commands.py)
SNAPSHOT_COMMANDS = ("snapshots", "snapshot")  # snapshots and backups (snapshot_commands.py)

EPILOG = """\
accounts: one from the variables below (named default), or several from a TOML file:
  ZOMRO_CONFIG       the accounts file (default $XDG_CONFIG_HOME/zomro-rescue-mcp/config.toml, used when it
                     exists): [accounts.NAME] tables with api_url, username, password_env, token_env,
                     totp_secret_env, read_only, allowed_instances, require_approval, toolsets; optional
                     default_account
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
  ZOMRO_RESCUE_SSH_PORT    the rescue system's SSH port, for diagnose, repair and run (default 22)
  ZOMRO_RESCUE_SESSION_TTL seconds a rescue password stays in the server's memory (default 14400)
  ZOMRO_HEALTH_PORTS       the ports an instance must answer on, for check and after exit (default 22)
  ZOMRO_TOOLSETS           the groups of tools offered: rescue, recovery, power, snapshots, iso,
                           password or all (default rescue,recovery,power,snapshots)

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
`run` exits 0 once the command ran, whatever its own exit code (printed, and in --json result.exit_code).
"""


def build_parser() -> argparse.ArgumentParser:
    """Every command and flag; `main` reads argv with it (argparse refuses what is malformed, exit 2)."""
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
    for simulated in (serve, demo):
        _add_rescue_system_flags(simulated)
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
    from .rescue_vm import add_rescue_vm_parser  # a test device: the rescue VM for a disk image

    add_rescue_vm_parser(commands)
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
    check = commands.add_parser(
        "check",
        parents=[common],
        help="show one instance's state and whether it answers (reads only)",
        description="Show an instance's state and whether it answers now: a TCP connection to each port of "
        "ZOMRO_HEALTH_PORTS (default 22) on its address, and the SSH server's banner. Nothing is sent to the "
        "instance beyond the connections; a reserved address is never connected to.",
    )
    check.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
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
    diagnose = commands.add_parser(
        "diagnose",
        parents=[common],
        help="look at an instance's own disk from its rescue system (reads only)",
        description="Log in to the rescue system of an instance in rescue mode (SSH as root, on the instance's own "
        "address) and read its own disk: what stops it booting or letting anyone in, critical first, each with "
        "the repair that fixes it. Nothing is written on the disk; no command of yours is run.",
    )
    diagnose.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
    diagnose.add_argument(
        "--rescue-password-stdin",
        action="store_true",
        help="read the rescue root password from stdin (at a terminal it is asked for, not shown)",
    )
    _add_repair_commands(commands, common)
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
    _add_power_commands(commands, common)
    from .panel_parsers import add_panel_commands  # isos, boot-iso, reset-password, snapshots, snapshot

    add_panel_commands(commands, common, instance=_instance_ref, instance_help=INSTANCE_HELP, epilog=FRESH_SIMULATOR)
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


def _add_power_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """`reboot`, `start` and `stop`: previewed from the instance's state and approved as exit is."""
    said = {
        "reboot": "reboot an instance (Zomro's reboot; there is no hard reboot)",
        "start": "start a stopped instance",
        "stop": "stop an instance (billing goes on while it is stopped)",
    }
    for name, help_text in said.items():
        power = commands.add_parser(
            name,
            parents=[common],
            help=help_text,
            description=f"{help_text[0].upper()}{help_text[1:]}: the preview first (its state is read and the "
            "panel's rules applied; nothing is sent), then your go-ahead (type the instance id, or --yes), then the "
            "request, once, then the watch until it is active (stopped, for stop).",
            epilog=FRESH_SIMULATOR,
        )
        power.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
        power.add_argument("--yes", action="store_true", help="do not ask: the preview was reviewed")
        power.add_argument("--no-wait", action="store_true", help="do not watch the instance settle")
        power.add_argument(
            "--dry-run", action="store_true", help="show the preview and stop: nothing is asked, nothing is sent"
        )


def _add_repair_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """`repair` and `run`: changes in an instance's rescue system, previewed and approved as enter and exit are."""
    repair = commands.add_parser(
        "repair",
        parents=[common],
        help="apply one named fix to an instance's disk from its rescue system",
        description="Apply one named fix (the FIX column of `diagnose`) to the disk of an instance in rescue mode: "
        "the preview first (the exact diff or commands, the device, the files; nothing is changed), then your "
        "go-ahead (type the instance id, or --yes), then the fix, once: every file it changes is backed up beside "
        "itself first, and the check that found the problem runs again.",
    )
    repair.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
    repair.add_argument("fix", metavar="FIX", help="the fix, as `diagnose` names it (such as fstab.add_nofail)")
    repair.add_argument(
        "target", nargs="?", metavar="TARGET", help="what it acts on, as `diagnose` names it (an fstab line, a path)"
    )
    repair.add_argument(
        "--password-stdin",
        action="store_true",
        help="account.set_root_password: read the new root password from stdin (else one is generated and shown once)",
    )
    run = commands.add_parser(
        "run",
        parents=[common],
        help="run one command line in an instance's rescue system",
        description="Run one command line in the rescue system of an instance in rescue mode, inside the instance's "
        "own root (chroot) unless --no-chroot: the preview first (the exact line, where it runs; nothing is run), "
        "then your go-ahead (type the instance id, or --yes), then the command, once. The words after -- are "
        "joined with spaces into the line, as ssh does: quote a pipe or a redirection as one word.",
    )
    run.add_argument("instance_id", type=_instance_ref, metavar="INSTANCE", help=INSTANCE_HELP)
    run.add_argument("command_line", nargs="+", metavar="COMMAND", help="after --: the command line's words")
    run.add_argument(
        "--no-chroot",
        action="store_true",
        help="run it in the rescue system itself, with the instance's root at /mnt/zomro-root",
    )
    run.add_argument(
        "--time-limit",
        type=_count(1, 300),
        default=60,
        metavar="SECONDS",
        help="stop it after this many seconds, 1-300 (default 60); --timeout is the API's, as for every command",
    )
    for change in (repair, run):
        change.add_argument(
            "--disk", metavar="DEV", help="the instance's disk to work on, when several hold a root (such as /dev/vdb)"
        )
        change.add_argument(
            "--rescue-password-stdin",
            action="store_true",
            help="read the rescue root password from stdin, first line (at a terminal it is asked for, not shown)",
        )
        change.add_argument("--yes", action="store_true", help="do not ask: the preview was reviewed")
        change.add_argument(
            "--dry-run", action="store_true", help="show the preview and stop: nothing is asked, nothing is changed"
        )


def _add_rescue_system_flags(command: argparse.ArgumentParser) -> None:
    """What answers SSH for an instance the simulator has in rescue mode (serve --simulator, demo)."""
    command.add_argument(
        "--rescue-system",
        choices=["stand-in", "vm"],
        help="with the simulator: what answers SSH for a rescued instance, on 127.0.0.N at ZOMRO_RESCUE_SSH_PORT "
        "(default 2222 here): stand-in (the default; answers the diagnosis with a report recorded from the rescue "
        "VM) or vm (the rescue VM of `make rescue-vm`, with the instance's --disk; a test device)",
    )
    command.add_argument(
        "--disk",
        action="append",
        type=_disk,
        default=[],
        metavar="ID=PATH",
        help="with --rescue-system vm: the disk image of instance ID, attached to its rescue VM (repeatable)",
    )


def _disk(text: str) -> tuple[int, str]:
    """An instance's disk image as `ID=PATH`."""
    number, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"{text!r} is not ID=PATH (an instance id, =, a disk image's path)")
    return _instance_id(number), path


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
