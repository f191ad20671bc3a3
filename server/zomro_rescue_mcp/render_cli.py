"""Words for a person at a terminal: the results of `enter` and `exit`, written from the outcome's data with real
ids and the commands a person runs (never the MCP tool names the model is told about).
"""

from __future__ import annotations

from typing import Any

from .images import is_windows
from .models import ActionResult, EnterRescueResult

__all__ = ["action_lines", "error_for_people", "next_line"]

_CLI = "zomro-rescue-mcp"


_STEPS = {
    "list_instances": "run `{cli} instances` to see the instances and their states",
    "list_images": "run `{cli} images {target}` to see the images offered now",
    "enter": "run `{cli} enter {target} --image IMAGE`",
    "exit": "run `{cli} exit {target}` first",
    "account": "add `--account NAME` (`{cli} accounts` lists them; `{cli} instances` shows each instance's)",
}


def _target(instance_id: object, account: object, named: bool) -> str:
    """An instance as a command names it: its id, and its account when several are configured."""
    return f"{instance_id} --account {account}" if named and account else str(instance_id)


def error_for_people(sentence: str, facts: dict[str, Any], *, named: bool = False) -> str:
    """An error's sentence and, when it has one, its next step as the command a person runs (`named`: several
    accounts are configured, so the command names the account)."""
    step = _STEPS.get(str(facts.get("next")))
    if step is None:
        return sentence
    target = _target(facts.get("instance_id", "INSTANCE"), facts.get("account"), named)
    return f"{sentence} Next: {step.format(cli=_CLI, target=target)}."


def action_lines(data: ActionResult, *, named: bool = False) -> list[str]:
    """What a preview will do, or what an accepted request did, and a generated password at once."""
    done = data.executed
    lead = ("ACCEPTED" if done else "PREVIEW") + (f" on account {data.account}" if named and data.account else "")
    if isinstance(data, EnterRescueResult):
        image = data.image
        who = "administrator" if is_windows(image) else "root"
        password = {
            "generated": f"a generated {who} password ({'below' if done else 'shown once, after the go-ahead'})",
            "provided": f"the {who} password you gave",
            "none": "no password (the image's own login applies)",
        }[data.password_plan]
        verb = "is rebooting" if done else "will reboot"
        lines = [
            f"{lead}: instance {data.instance_id} {verb} into rescue mode from {image.os} ({image.zone} image "
            f"{image.id}), with {password}. Its own disk stays attached, unchanged; its services are down until "
            f"`{_CLI} exit {_target(data.instance_id, data.account, named)}`."
        ]
        if data.password:
            lines.append(f"rescue {who} password (shown once): {data.password}")
    else:
        verb = "is rebooting" if done else "will reboot"
        lines = [
            f"{lead}: instance {data.instance_id} {verb} from its own disk; the rescue system and anything kept only "
            "in it are gone."
        ]
    return lines + data.notes


def next_line(data: ActionResult, *, named: bool = False) -> str:
    """What to do next, by how the request went and how the watch ended."""
    target = _target(data.instance_id, data.account, named)
    status = f"`{_CLI} status {target}`"
    if data.wait == "error_state":
        return "next: the instance went into the error state: ask Zomro support, or look at it in the panel."
    if data.wait == "unwatchable":
        return "next: its state could not be read, so check it in the Zomro panel; do not send the request again."
    if data.wait in ("timed_out", "not_waited"):
        return f"next: look with {status} in a minute; do not send the request again."
    if isinstance(data, EnterRescueResult):
        windows = is_windows(data.image)
        login = (
            "open the instance's VNC console in the Zomro panel (no SSH login on this image)"
            if windows
            else "log in over SSH as root to the instance's usual IP address"
        )
        return f"next: {login}; when the repair is done, run `{_CLI} exit {target}`."
    return "next: check that the services on the instance are back."
