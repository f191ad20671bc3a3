"""Toolsets: the named groups of tools a server offers (ZOMRO_TOOLSETS, or an account's `toolsets` key).

The model reads every offered tool's description in every conversation, so an operator offers only the groups the
work needs. `list_instances` is always offered: every other tool starts from an instance id it finds. Read-only mode
still hides every tool that changes something, whatever the toolsets say. New groups are added to `TOOLSETS`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.errors import ConfigError

__all__ = ["ALWAYS", "CHANGE_TOOLS", "DEFAULT_TOOLSETS", "TOOLSETS", "parse_toolsets", "tools_of"]

TOOLSETS: dict[str, tuple[str, ...]] = {
    "rescue": ("list_instances", "list_rescue_images", "enter_rescue", "exit_rescue"),
    "recovery": ("diagnose_instance", "check_instance", "repair_instance", "run_in_rescue"),
    "power": ("power_instance",),
    "snapshots": ("list_snapshots", "create_snapshot"),
    "iso": ("list_iso_images", "boot_from_iso"),
    "password": ("reset_root_password",),
}
DEFAULT_TOOLSETS: frozenset[str] = frozenset({"rescue", "recovery", "power", "snapshots"})
ALWAYS = ("list_instances",)
# The tools that change an instance: never offered in read-only mode.
CHANGE_TOOLS = frozenset(
    {
        "enter_rescue",
        "exit_rescue",
        "repair_instance",
        "run_in_rescue",
        "power_instance",
        "create_snapshot",
        "boot_from_iso",
        "reset_root_password",
    }
)
_ALL = "all"


def parse_toolsets(where: str, raw: str | Iterable[object] | None) -> frozenset[str]:
    """The set names given as a comma list (a variable) or a list of names (the accounts file); None: the default.

    `all` stands for every set. An unknown or empty name is refused with a sentence listing the sets.
    """
    if raw is None:
        return DEFAULT_TOOLSETS
    names = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else list(raw)
    known = ", ".join([*TOOLSETS, _ALL])
    if not names or any(not isinstance(n, str) or not n.strip() for n in names):
        raise ConfigError(f"{where} must name toolsets separated by commas, such as rescue,power; the sets: {known}.")
    chosen: set[str] = set()
    for name in names:
        spelled = str(name).strip().lower()
        if spelled == _ALL:
            chosen.update(TOOLSETS)
        elif spelled in TOOLSETS:
            chosen.add(spelled)
        else:
            shown = str(name)[:40]
            raise ConfigError(f"{where} names the toolset {shown!r}, which does not exist; the sets are: {known}.")
    return frozenset(chosen)


def tools_of(toolsets: Iterable[str]) -> frozenset[str]:
    """The tools of these sets, with the ones always offered."""
    return frozenset({*ALWAYS, *(tool for name in toolsets for tool in TOOLSETS[name])})
