"""Every outcome has a stable kind: results and failures are data first, and each audience gets its own words.

The kinds, documented and stable (clients and scripts may match on them):

    reads        instances, images, instance, diagnosis (a look at the instance's disks from its rescue system)
    changes      preview, executed
    refused.*    refused.state (the instance's state), refused.busy (another confirmed request for it runs here),
                 refused.preview_required (the answer is the preview), refused.allowlist, refused.read_only,
                 refused.approval, refused.audit, refused.account_required (a confirmed change without its
                 account while several are configured), refused.not_in_rescue (no rescue system to log in to),
                 refused.windows_rescue (a Windows rescue image has no SSH: the console only),
                 refused.toolset (the tool is not in the toolsets of the account the call is about)
    invalid.*    invalid.arguments, invalid.account (no such account, or none named and no default),
                 invalid.image, invalid.password, invalid.tool, invalid.rescue_password (no rescue password held
                 or given)
    api.*        api.error (refused by Zomro), api.auth (login or session), api.denied (not permitted),
                 api.not_found (no such function or object)
    rescue.*     rescue.unreachable (no answer on the port), rescue.login_refused, rescue.host_key_changed,
                 rescue.missing_tool (the rescue system lacks a program: named), rescue.timeout,
                 rescue.connection_lost, rescue.script_failed, rescue.error
    others       state_unknown, outcome_unknown (a change may have happened), transport, config, internal

Every MCP tool result carries its kind in `_meta` as {"zomro/kind": kind}; the CLI's `--json` output has a
top-level "kind"; the CLI's exit code is derived from it (`exit_code`).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["FACTS_META", "KIND_META", "Kind", "Step", "exit_code", "is_success"]

Kind = Literal[
    "instances",
    "images",
    "instance",
    "diagnosis",
    "preview",
    "executed",
    "refused.state",
    "refused.busy",
    "refused.preview_required",
    "refused.allowlist",
    "refused.read_only",
    "refused.approval",
    "refused.audit",
    "refused.account_required",
    "refused.not_in_rescue",
    "refused.windows_rescue",
    "refused.toolset",
    "invalid.arguments",
    "invalid.account",
    "invalid.image",
    "invalid.password",
    "invalid.tool",
    "invalid.rescue_password",
    "rescue.unreachable",
    "rescue.login_refused",
    "rescue.host_key_changed",
    "rescue.missing_tool",
    "rescue.timeout",
    "rescue.connection_lost",
    "rescue.script_failed",
    "rescue.error",
    "api.error",
    "api.auth",
    "api.denied",
    "api.not_found",
    "state_unknown",
    "outcome_unknown",
    "transport",
    "config",
    "internal",
]
Step = Literal["list_instances", "list_images", "enter", "exit", "account"]
"""What to do next after a failure, named for no audience: each renderer words it (a tool call, a command)."""

KIND_META = "zomro/kind"
FACTS_META = "zomro/facts"
_SUCCESS = frozenset({"instances", "images", "instance", "diagnosis", "preview", "executed"})


def is_success(kind: str) -> bool:
    """Whether the outcome is a result rather than a failure (a preview is a result)."""
    return kind in _SUCCESS


def exit_code(kind: str) -> int:
    """The CLI's exit status for an outcome: 0 done, 1 API or network, 2 usage or configuration, 3 refused before
    sending, 4 outcome unknown."""
    if is_success(kind):
        return 0
    if kind in ("config", "invalid.arguments", "invalid.account", "invalid.tool"):
        return 2
    if kind.startswith(("refused.", "invalid.")):
        return 3
    if kind == "outcome_unknown":
        return 4
    return 1
