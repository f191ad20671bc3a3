"""`zomro-rescue-mcp rescue-vm`: a test device, not a user feature. It boots the rescue VM (simulator/rescue_vm.py)
with a disk image as vdb and SSH on a loopback address, prints one line, `ready SHA256:<host key fingerprint>`,
once SSH answers, and stops on SIGTERM, SIGINT or the end of its standard input, leaving nothing behind.

The root password comes from ZOMRO_RESCUE_PASSWORD, never from an argument (a command line is visible to every
user of the machine). Logs go to stderr; the one stdout line is for the program that started it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

HELP = "test device: boot the rescue VM (QEMU) with a disk image, SSH on a loopback address (see docs/development.md)"
DESCRIPTION = """\
A test device, not a user feature: boots the project's rescue VM (built by `make rescue-vm`) with each --disk as
the instance's disks (vdb, vdc, ...) behind the rescue system's own (vda), and forwards its SSH to --listen. The
root password is ZOMRO_RESCUE_PASSWORD. Prints exactly one line, `ready SHA256:<host key fingerprint>`, once SSH
answers; stops on SIGTERM, SIGINT or the end of standard input (keep it open: `< /dev/null` stops it at once).
Exit codes: 0 stopped as asked, 1 the VM did not boot or stopped, 2 usage or a missing set-up."""


def add_rescue_vm_parser(commands: Any) -> None:
    """The `rescue-vm` subcommand, on the CLI's subparsers."""
    parser = commands.add_parser(
        "rescue-vm", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--disk", metavar="PATH", action="append", required=True, help="a raw disk image (repeat for more disks)"
    )
    parser.add_argument(
        "--listen", metavar="127.0.0.N:PORT", required=True, help="the loopback address and port of the VM's SSH"
    )
    parser.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto", help="default: KVM if it works")


def _listen(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"--listen {text!r} is not ADDRESS:PORT with a port of 1 to 65535: give e.g. 127.0.0.2:2222.")
    return host, int(port)


def run_rescue_vm(args: argparse.Namespace, env: Mapping[str, str], out: TextIO | None = None) -> int:
    """Boot, announce, wait for the end, stop; the exit status."""
    import anyio
    import anyio.abc

    from ..simulator.rescue_vm import RescueVM, RescueVMError, RescueVMUnavailable

    stdout = sys.stdout if out is None else out
    if not getattr(args, "debug", False):  # its boot-time probes of the port are no news
        logging.getLogger("asyncssh").setLevel(logging.WARNING)
    password = env.get("ZOMRO_RESCUE_PASSWORD", "")
    try:
        if not password:
            raise ValueError("ZOMRO_RESCUE_PASSWORD is not set: set it to the root password the rescue VM should have.")
        host, port = _listen(args.listen)
        vm = RescueVM([Path(disk) for disk in args.disk], password=password, host=host, port=port, accel=args.accel)
    except ValueError as exc:
        print(f"zomro-rescue-mcp: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        async with anyio.create_task_group() as group:

            async def on_signal(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    task_status.started()
                    async for _ in signals:
                        group.cancel_scope.cancel()  # a boot under way is stopped too, and cleaned up

            await group.start(on_signal)
            async with vm:
                print(f"ready {vm.fingerprint}", file=stdout, flush=True)  # stdout ok: the one line it promises
                await _end_of_input()
            group.cancel_scope.cancel()

    try:
        anyio.run(serve)
    except RescueVMUnavailable as exc:
        print(f"zomro-rescue-mcp: {exc}", file=sys.stderr)
        return 2
    except RescueVMError as exc:
        print(f"zomro-rescue-mcp: {exc}", file=sys.stderr)
        return 1
    return 0


async def _end_of_input() -> None:
    """Until standard input is closed (or was never open); what is read is ignored."""
    import anyio

    try:
        fd = sys.stdin.fileno()
        os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        return
    while True:
        await anyio.wait_readable(fd)
        try:
            if not os.read(fd, 65536):
                return
        except BlockingIOError:
            continue
        except OSError:
            return
