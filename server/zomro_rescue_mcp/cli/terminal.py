"""The CLI's way of asking: the person types the instance id at the terminal; `--yes` stands for a reviewed preview."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ..core.errors import PolicyRefusedError
from ..operations.approval import Answer, Approval, judge

__all__ = ["Ask", "TerminalAsker", "terminal_ask"]

Ask = Callable[[str], "str | None"]


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


class TerminalAsker:
    """The CLI's asker: the person types the instance id at the terminal; `--yes` stands for a reviewed preview."""

    def __init__(self, ask: Ask, *, yes: bool, required: bool, where: str = "ZOMRO_REQUIRE_APPROVAL") -> None:
        self._ask, self._yes, self._required, self._where = ask, yes, required, where

    def pose(self, instance_id: int, summary: str) -> str | None:
        """The typed line (None when there is no terminal, or with --yes: nothing is asked)."""
        if self._yes:
            return None
        return self._ask(f"Type the instance id {instance_id} to go ahead (anything else cancels): ")

    def read(self, reply: Any, instance_id: int) -> Answer:
        if self._yes:
            if self._required:
                return Answer(
                    Approval.UNSUPPORTED,
                    PolicyRefusedError(
                        f"Nothing was sent: --yes cannot stand in for the approval {self._where} asks for. "
                        "Run the command at a terminal without --yes and type the instance id."
                    ),
                )
            return Answer(Approval.NOT_REQUIRED)
        if reply is None:
            return Answer(
                Approval.UNSUPPORTED,
                PolicyRefusedError(
                    "Nothing was sent: there is no terminal to ask on. Review the preview above, then run the "
                    "command again with --yes."
                ),
            )
        approval = judge(str(reply), instance_id)
        if approval is Approval.MISMATCH:
            return Answer(
                approval,
                PolicyRefusedError("Nothing was sent: the instance id was not typed, so the request was cancelled."),
            )
        return Answer(approval)

    def approve(self, instance_id: int, summary: str) -> Answer:
        """Pose and read in one go (the terminal answers at once)."""
        return self.read(self.pose(instance_id, summary), instance_id)
