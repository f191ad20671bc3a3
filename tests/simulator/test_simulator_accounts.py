"""Several accounts on one simulated endpoint: each login sees only its own account's data, over real HTTP.

The added account starts with the demo account's instance ids on purpose (a test device: Zomro's ids are global),
so every test here can tell the two accounts apart by the same id.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, SimulatedAccount, Simulator

OTHER_USERNAME = "other@example.com"
OTHER_PASSWORD = "Other-Passw0rd"
WEB_1 = 5203773  # active in both accounts at the start
LEGACY_1 = 5203775  # rescued in both accounts at the start
UBUNTU_2204 = "f8f2573f-56c4-44c5-8469-84eee4aa64e7"  # a public image of the default images


def post(api_url: str, **fields: str) -> dict[str, Any]:
    """One API request as the product sends it (form fields, JSON out); the answer's doc."""
    with httpx2.Client(base_url=api_url, timeout=5) as http:
        response = http.post("/", data={"out": "json", **fields})
    response.raise_for_status()
    doc: dict[str, Any] = response.json()["doc"]
    return doc


def login(api_url: str, username: str, password: str) -> str:
    """A session id from `auth` with a username and password."""
    doc = post(api_url, func="auth", username=username, password=password)
    assert "error" not in doc, doc
    return str(doc["auth"]["$id"])


def statuses(api_url: str, **credentials: str) -> dict[str, str]:
    """The instance list as the session (auth=…) or the login (authinfo=…) sees it: id -> instance_status."""
    doc = post(api_url, func="instances", **credentials)
    assert "error" not in doc, doc
    rows = doc["elem"] if isinstance(doc["elem"], list) else [doc["elem"]]
    return {row["id"]["$"]: row["instance_status"]["$"] for row in rows}


@pytest.fixture
def other(sim: Simulator) -> SimulatedAccount:
    return sim.add_account(OTHER_USERNAME, OTHER_PASSWORD)


def test_an_added_account_logs_in_with_its_own_credentials_and_lists_its_own_instances(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    other.instances[WEB_1].status = "stopped"
    session = login(api_url, OTHER_USERNAME, OTHER_PASSWORD)
    assert statuses(api_url, auth=session) == {
        str(WEB_1): "stopped",
        "5203774": "active",
        str(LEGACY_1): "rescued",
        "5203776": "error",
    }


def test_a_change_on_the_demo_account_is_not_seen_by_the_added_account(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    sim.instances[WEB_1].status = "stopped"
    assert statuses(api_url, auth=login(api_url, DEMO_USERNAME, DEMO_PASSWORD))[str(WEB_1)] == "stopped"
    assert statuses(api_url, auth=login(api_url, OTHER_USERNAME, OTHER_PASSWORD))[str(WEB_1)] == "active"


def test_an_added_account_reads_with_authinfo_as_the_demo_user_does(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    del other.instances[5203776]
    seen = statuses(api_url, authinfo=f"{OTHER_USERNAME}:{OTHER_PASSWORD}")
    assert sorted(seen) == [str(WEB_1), "5203774", str(LEGACY_1)]


def test_a_rescue_on_the_added_account_rescues_its_instance_and_not_the_demo_one_with_the_same_id(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    session = login(api_url, OTHER_USERNAME, OTHER_PASSWORD)
    answer = post(
        api_url,
        func="instances.fleio.rescue",
        auth=session,
        elid=str(WEB_1),
        zone="pub",
        select_boot=UBUNTU_2204,
        password="Rescue-Passw0rd",
        sok="ok",
    )
    assert "error" not in answer, answer
    assert statuses(api_url, auth=session)[str(WEB_1)] == "rescued"
    assert other.instances[WEB_1].rescue_image == UBUNTU_2204
    assert sim.instances[WEB_1].status == "active"
    assert sim.instances[WEB_1].rescue_image is None


def test_an_unrescue_on_the_demo_account_leaves_the_added_account_in_rescue(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    session = login(api_url, DEMO_USERNAME, DEMO_PASSWORD)
    answer = post(api_url, func="instances.fleio.unrescue", auth=session, elid=str(LEGACY_1))
    assert "error" not in answer, answer
    assert sim.instances[LEGACY_1].status == "active"
    assert other.instances[LEGACY_1].status == "rescued"
    assert statuses(api_url, auth=login(api_url, OTHER_USERNAME, OTHER_PASSWORD))[str(LEGACY_1)] == "rescued"


def test_a_failing_rescue_injected_on_the_added_account_fails_only_there(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    other.failing_rescues.add(WEB_1)
    rescue = {"zone": "pub", "select_boot": UBUNTU_2204, "elid": str(WEB_1), "sok": "ok"}
    for username, password in ((OTHER_USERNAME, OTHER_PASSWORD), (DEMO_USERNAME, DEMO_PASSWORD)):
        post(api_url, func="instances.fleio.rescue", auth=login(api_url, username, password), **rescue)
    assert other.instances[WEB_1].status == "error"
    assert sim.instances[WEB_1].status == "rescued"


def test_transitions_of_the_added_account_follow_the_simulators_current_timing(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    sim.transition_seconds = 30  # set after the account was added
    session = login(api_url, OTHER_USERNAME, OTHER_PASSWORD)
    post(api_url, func="instances.fleio.unrescue", auth=session, elid=str(LEGACY_1))
    assert statuses(api_url, auth=session)[str(LEGACY_1)] == "unrescuing"


def test_a_session_of_one_account_reads_only_that_accounts_data(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    other.instances[WEB_1].name, other.instances[WEB_1].ip = "other-web", "198.51.100.7"
    demo_session, other_session = sim.new_session(), other.new_session()
    for session, name, ip in ((demo_session, "web-1", "203.0.113.10"), (other_session, "other-web", "198.51.100.7")):
        rows = post(api_url, func="instances", auth=session)["elem"]
        assert {row["id"]["$"]: row["servername"]["$"] for row in rows}[str(WEB_1)] == name
        assert post(api_url, func="instances.edit", auth=session, elid=str(WEB_1))["ip"]["$"] == ip


def test_the_saved_filter_of_the_added_account_narrows_only_its_own_list(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    other.saved_filter = {"instance_status": "rescued"}
    assert list(statuses(api_url, auth=other.new_session())) == [str(LEGACY_1)]
    assert len(statuses(api_url, auth=sim.new_session())) == 4


def test_the_added_accounts_wrong_password_is_refused(api_url: str, sim: Simulator, other: SimulatedAccount) -> None:
    for password in ("wrong", DEMO_PASSWORD):
        doc = post(api_url, func="auth", username=OTHER_USERNAME, password=password)
        assert doc["error"]["$type"] == "auth"
        assert doc["error"]["$object"] == "badpassword"
    refused = post(api_url, func="instances", authinfo=f"{OTHER_USERNAME}:{DEMO_PASSWORD}")
    assert refused["error"]["$type"] == "access"


def test_expiring_the_added_accounts_sessions_leaves_the_demo_session_alive(
    api_url: str, sim: Simulator, other: SimulatedAccount
) -> None:
    demo_session, other_session = sim.new_session(), other.new_session()
    other.expire_sessions()
    assert post(api_url, func="instances", auth=other_session)["error"]["$type"] == "access"
    assert "error" not in post(api_url, func="instances", auth=demo_session)


def test_reset_forgets_the_added_account(api_url: str, sim: Simulator, other: SimulatedAccount) -> None:
    login(api_url, OTHER_USERNAME, OTHER_PASSWORD)
    sim.reset()
    doc = post(api_url, func="auth", username=OTHER_USERNAME, password=OTHER_PASSWORD)
    assert doc["error"]["$object"] == "badpassword"


def test_a_login_the_simulator_already_has_cannot_be_added_again(sim: Simulator, other: SimulatedAccount) -> None:
    with pytest.raises(ValueError, match="already has a login"):
        sim.add_account(DEMO_USERNAME, "anything")
    with pytest.raises(ValueError, match="already has a login"):
        sim.add_account(OTHER_USERNAME, OTHER_PASSWORD)


def test_an_added_account_can_be_given_its_own_instances(api_url: str, sim: Simulator) -> None:
    sim.add_account(OTHER_USERNAME, OTHER_PASSWORD, instances={})
    other = sim.add_account("third@example.com", OTHER_PASSWORD)
    other.populate(3, first_id=7000001)
    assert "elem" not in post(api_url, func="instances", authinfo=f"{OTHER_USERNAME}:{OTHER_PASSWORD}")
    seen = statuses(api_url, authinfo=f"third@example.com:{OTHER_PASSWORD}")
    assert len(seen) == 7
    assert "7000003" in seen
    assert 7000001 not in sim.instances
