"""The panel's rules for rescue and exit, as pure functions: what each state and billing state allows."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.core.errors import StateConflictError
from zomro_rescue_mcp.operations.models import Instance
from zomro_rescue_mcp.operations.preflight import enter_note, refuse_enter, refuse_exit

ID = 5203773


def _instance(status: str | None, billing: str | None = "2", item: str | None = "Active") -> Instance:
    return Instance(id=ID, name="web-1", status=status, billing_status=billing, item_status=item)


@pytest.mark.parametrize("status", ["active", "stopped"])
def test_rescue_is_allowed_from_active_and_stopped_without_a_note(status: str) -> None:
    refuse_enter(ID, _instance(status))
    assert enter_note(status) is None


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("error", "is in the error state"),
        ("suspended", "is suspended"),
        ("resized", "has a resize waiting"),
        ("verify_resize", "has a resize waiting"),
        ("image_uploading", "is having an image made of it"),
        ("running_image_uploading", "is having an image made of it"),
        ("rescued", "is already in rescue mode"),
        ("booted_from_iso", "is booted from an ISO"),
        ("rescuing", "is busy"),
        ("shelving", "is busy"),  # any transitional state, named or not
    ],
)
def test_rescue_is_refused_where_the_panel_withholds_it(status: str, said: str) -> None:
    with pytest.raises(StateConflictError) as refused:
        refuse_enter(ID, _instance(status))
    assert said in str(refused.value)
    assert "nothing was sent" in str(refused.value)


@pytest.mark.parametrize("billing", ["1", "4", "5"])
def test_rescue_is_refused_for_a_service_not_active_in_billing(billing: str) -> None:
    with pytest.raises(StateConflictError) as refused:
        refuse_enter(ID, _instance("active", billing=billing, item="Stopped"))
    assert f"billing status {billing}" in str(refused.value)


@pytest.mark.parametrize("item", ["Activation in progress", "Deletion in progress", "suspension IN PROGRESS "])
def test_rescue_is_refused_while_billing_is_in_progress(item: str) -> None:
    with pytest.raises(StateConflictError) as refused:
        refuse_enter(ID, _instance("active", item=item))
    assert "has billing in progress" in str(refused.value)


@pytest.mark.parametrize("status", ["paused", "shelved", "soft-delete"])
def test_a_state_the_panel_does_not_name_is_sent_with_a_note(status: str) -> None:
    refuse_enter(ID, _instance(status))
    assert "Zomro decides" in (enter_note(status) or "")


def test_an_unread_state_lets_zomro_decide() -> None:
    refuse_enter(ID, None)
    refuse_exit(ID, None)
    assert enter_note(None) is None


@pytest.mark.parametrize("status", ["rescued", "booted_from_iso"])
def test_exit_is_allowed_from_rescued_and_an_iso_boot(status: str) -> None:
    refuse_exit(ID, status)


@pytest.mark.parametrize(("status", "said"), [("active", "is not in rescue mode"), ("unrescuing", "is busy")])
def test_exit_is_refused_from_any_other_state(status: str, said: str) -> None:
    with pytest.raises(StateConflictError) as refused:
        refuse_exit(ID, status)
    assert said in str(refused.value)
