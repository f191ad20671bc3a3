"""The rules a snapshot is checked against before anything is sent: its name, the instance's state, the day's count."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.core.errors import InvalidRequestError, StateConflictError
from zomro_rescue_mcp.operations.models import Instance
from zomro_rescue_mcp.operations.snapshot_rules import (
    NAME_LIMIT,
    PER_DAY,
    check_name,
    refuse_snapshot,
    refuse_today,
    snapshot_note,
)

WEB = 5203773


def test_a_name_is_trimmed_as_the_panel_trims_it() -> None:
    assert check_name(WEB, "  before-fsck  ") == "before-fsck"


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("   ", "its name is empty"),
        ("x" * (NAME_LIMIT + 1), f"more than the {NAME_LIMIT} Zomro allows"),
        ("a\nb", "control character"),
    ],
)
def test_a_name_that_does_not_fit_is_refused_with_a_sentence(name: str, said: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_name(WEB, name)
    assert f"No snapshot of instance {WEB} was made: " in str(refused.value)
    assert said in str(refused.value)


def test_a_name_of_exactly_the_limit_is_kept() -> None:
    assert check_name(WEB, "x" * NAME_LIMIT) == "x" * NAME_LIMIT


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("rescued", "is in rescue mode"),
        ("booted_from_iso", "is booted from an ISO"),
        ("image_uploading", "is having an image made of it"),
        ("rebooting", "is busy"),
        ("error", "is in the error state"),
        ("resized", "has a resize waiting"),
    ],
)
def test_a_state_that_does_not_allow_a_snapshot_is_refused(status: str, said: str) -> None:
    with pytest.raises(StateConflictError) as refused:
        refuse_snapshot(WEB, Instance(id=WEB, name="web", status=status))
    assert f"Instance {WEB} {said} (state {status}): nothing was sent." in str(refused.value)


@pytest.mark.parametrize("status", ["active", "stopped", "suspended", None])
def test_an_allowed_or_unread_state_goes_ahead_without_a_note(status: str | None) -> None:
    refuse_snapshot(WEB, Instance(id=WEB, name="web", status=status))
    assert snapshot_note(status) is None


def test_a_state_the_rules_do_not_name_goes_ahead_with_a_note() -> None:
    refuse_snapshot(WEB, Instance(id=WEB, name="web", status="paused"))
    assert "Zomro decides" in (snapshot_note("paused") or "")


def test_the_day_s_snapshots_used_up_are_refused() -> None:
    refuse_today(WEB, PER_DAY - 1)
    refuse_today(WEB, None)  # the count could not be read: Zomro decides
    with pytest.raises(StateConflictError) as refused:
        refuse_today(WEB, PER_DAY)
    assert f"{PER_DAY} were made today, and Zomro allows {PER_DAY} a day" in str(refused.value)
