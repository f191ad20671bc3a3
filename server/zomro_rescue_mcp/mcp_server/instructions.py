"""What the server tells the model before it tries anything: the workflow, and the guard rails the operator set."""

from ..settings.accounts import Accounts
from ..settings.config import Settings

__all__ = ["INSTRUCTIONS", "instructions"]

INSTRUCTIONS = """\
Zomro Cloud VPS rescue mode (the instance boots a rescue image, its disk attached). Workflow: list_instances -> \
list_rescue_images -> enter_rescue confirm=false (the preview, with a preview_id) -> show it, get the person's yes \
-> the same call with confirm=true and that preview_id (used once) -> diagnose_instance -> exit_rescue the same \
way (it says whether the instance answers again; check_instance checks any time). A generated password is \
shown once: give it to the person. If a result says the outcome is unknown, do not retry: ask the person to \
check the instance.
instance_id: as list_instances gives it, e.g. 5203773. Every change: confirm=false previews; confirm=true \
executes, only after the person's yes to that preview, with its preview_id. wait (default true): watch it \
settle. account: as list_instances names it (omit: the default)."""


def instructions(accounts: Accounts | Settings) -> str:
    """The workflow, plus the guard rails the operator set, so the model knows them before it tries."""
    if isinstance(accounts, Settings):
        accounts = Accounts.single(accounts)
    if accounts.several:
        return "\n".join([INSTRUCTIONS, _accounts_note(accounts)])
    rails = accounts.shared.guard_rails
    notes = []
    if rails.read_only:
        notes.append(
            "This server is READ-ONLY: it can list instances and rescue images and diagnose an instance already in "
            "rescue mode, but entering and leaving rescue mode is disabled (the tools are not offered). Send the "
            "person to the Zomro panel."
        )
    if rails.allowed_instances is not None:
        ids = ", ".join(str(i) for i in sorted(rails.allowed_instances))
        notes.append(f"Only these instances may be touched: {ids}; other ids are refused.")
    if rails.require_approval == "always" and not rails.read_only:
        notes.append(
            "Every confirmed request also asks the person, through the client, to type the instance id to approve it."
        )
    return "\n".join([INSTRUCTIONS, *notes])


def _accounts_note(accounts: Accounts) -> str:
    """Several accounts: their names and guard rails, and the rule that a confirmed change names its account."""
    lines = []
    for settings in accounts.settings:
        rails = settings.guard_rails
        marks = [
            *(["default"] if settings.api.account == accounts.default else []),
            *(["read-only"] if rails.read_only else []),
            *(
                [f"only instances {', '.join(str(i) for i in sorted(rails.allowed_instances))}"]
                if rails.allowed_instances is not None
                else []
            ),
            *(
                ["the person approves each change"]
                if rails.require_approval == "always" and not rails.read_only
                else []
            ),
        ]
        lines.append(f"- {settings.api.account}" + (f" ({'; '.join(marks)})" if marks else ""))
    default = (
        f"Reads without `account` use {accounts.default}"
        if accounts.default is not None
        else "Reads other than list_instances must name their `account`"
    )
    return (
        "Accounts (instance ids may repeat across accounts, so always carry the account with the id):\n"
        + "\n".join(lines)
        + f"\n{default}; list_instances without `account` lists every account. A confirmed enter_rescue or "
        "exit_rescue must name its `account`."
    )
