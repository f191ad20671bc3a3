"""enter_rescue: previews change nothing, confirmed calls are exact on the wire, bad input is refused early."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.operations.passwords import check_password
from zomro_rescue_mcp.simulator import SimImage, Simulator

from ..conftest import call, error, ok
from ..outcome import facts, kind

pytestmark = pytest.mark.anyio

WEB = 5203773
UBUNTU_2204 = "f8f2573f-56c4-44c5-8469-84eee4aa64e7"
OWN_CENTOS = "a9e7c223-5f11-4546-a298-6af546bebde6"
SHARED = "5c1f6f7e-2b0c-4c55-9d3e-6a0f3b1d2e41"


async def test_unconfirmed_enter_sends_nothing_mutating(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    assert data["executed"] is False
    assert data["password"] is None
    assert "will be rebooted into rescue mode" in data["summary"]
    assert "confirm=true" in data["next_step"]
    assert sim.mutating_requests() == []
    assert sim.instances[WEB].status == "active"


async def test_confirmed_enter_sends_exactly_the_documented_fields(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU_2204, confirm=True))
    [sent] = sim.mutating_requests()
    assert sent.query == {}
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid", "sok", "select_boot", "zone", "password"}
    assert sent.fields["func"] == "instances.fleio.rescue"
    assert sent.fields["sok"] == "ok"
    assert sent.fields["elid"] == str(WEB)
    assert sent.fields["select_boot"] == UBUNTU_2204
    assert sent.fields["zone"] == "pub"
    assert "select_boot_from_iso" not in sent.fields
    assert data["executed"] is True
    assert sim.instances[WEB].status == "rescued"
    assert sim.instances[WEB].rescue_image == UBUNTU_2204


async def test_public_image_without_password_gets_a_generated_one_shown_once(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    [sent] = sim.mutating_requests()
    assert data["password_plan"] == "generated"
    assert data["password"] == sent.fields["password"]
    check_password(data["password"])


async def test_a_persons_own_password_is_sent_and_never_echoed(client: Client, sim: Simulator) -> None:
    result = await call(
        client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password="Rescue-Me-42", confirm=True
    )
    data = ok(result)
    [sent] = sim.mutating_requests()
    assert sent.fields["password"] == "Rescue-Me-42"
    assert data["password_plan"] == "provided"
    assert data["password"] is None
    assert "Rescue-Me-42" not in result.model_dump_json()


async def test_own_image_sends_no_password_unless_given(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="foo", confirm=True))
    [sent] = sim.mutating_requests()
    assert "password" not in sent.fields
    assert sent.fields["zone"] == "own"
    assert sent.fields["select_boot"] == OWN_CENTOS
    assert data["password_plan"] == "none"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ubuntu 22.04", UBUNTU_2204),
        ("  UBUNTU   22.04 ", UBUNTU_2204),
        (UBUNTU_2204.upper(), UBUNTU_2204),
        ("FOO", OWN_CENTOS),
        ("centos 9 x64", OWN_CENTOS),
        ("support-rescue", SHARED),
    ],
)
async def test_image_names_resolve_to_the_offered_uuid(
    client: Client, sim: Simulator, typed: str, expected: str
) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image=typed))
    assert data["image"]["id"] == expected


async def test_zone_is_inferred_from_the_image(client: Client, sim: Simulator) -> None:
    ok(await call(client, "enter_rescue", instance_id=WEB, image="support-rescue", confirm=True))
    [sent] = sim.mutating_requests()
    assert sent.fields["zone"] == "shr"


async def test_ambiguous_name_is_refused_with_the_candidates(client: Client, sim: Simulator) -> None:
    twin = "0d5b7a8e-1111-4c4c-9d9d-000000000001"
    sim.images = [*sim.images, SimImage(id=twin, os="Ubuntu 22.04", zone="own", name="my-ubuntu")]
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    message = error(result)
    assert kind(result) == "invalid.image"
    assert UBUNTU_2204 in message
    assert twin in message
    assert sim.mutating_requests() == []


async def test_zone_disambiguates_a_shared_label(client: Client, sim: Simulator) -> None:
    twin = "0d5b7a8e-1111-4c4c-9d9d-000000000001"
    sim.images = [*sim.images, SimImage(id=twin, os="Ubuntu 22.04", zone="own", name="my-ubuntu")]
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", zone="own"))
    assert data["image"]["id"] == twin


async def test_contradicting_zone_is_refused(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", zone="own", confirm=True)
    assert (kind(result), facts(result)["next"]) == ("invalid.image", "list_rescue_images")
    assert "is in zone pub, not own" in error(result)
    assert sim.mutating_requests() == []


async def test_unknown_image_is_refused_with_a_suggestion(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.4", confirm=True)
    assert kind(result) == "invalid.image"
    assert facts(result) == {"instance_id": WEB, "next": "list_rescue_images", "account": "default"}
    assert "Did you mean 'Ubuntu 22.04'" in error(result)
    assert sim.mutating_requests() == []


async def test_image_no_longer_offered_is_refused(client: Client, sim: Simulator) -> None:
    gone = "11111111-2222-4333-8444-555555555555"
    result = await call(client, "enter_rescue", instance_id=WEB, image=gone, confirm=True)
    assert kind(result) == "invalid.image"
    assert "not among the images offered now" in error(result)
    assert sim.mutating_requests() == []


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short1a", "8 to 48 characters"),
        ("A1" + "a" * 47, "8 to 48 characters"),
        ("alllower123", "upper-case"),
        ("ALLUPPER123", "lower-case"),
        ("NoDigitsHere", "digit"),
        ("With Space1A", "without spaces"),
        ("Pässword123", "printable ASCII"),
        ("Bad#Char123", "avoid the characters"),
        ("Bad@Char123", "avoid the characters"),
    ],
)
async def test_password_breaking_the_policy_is_refused_before_any_request(
    client: Client, sim: Simulator, password: str, rule: str
) -> None:
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password=password, confirm=True)
    message = error(result)
    assert kind(result) == "invalid.password"
    assert rule in message  # the sentence names the rule it breaks
    assert password not in message
    assert sim.requests == []


async def test_already_rescued_instance_is_refused_with_the_next_step(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=5203775, image="Ubuntu 22.04", confirm=True)
    assert kind(result) == "refused.state"
    assert facts(result) == {"status": "rescued", "instance_id": 5203775, "next": "exit_rescue", "account": "default"}
    assert sim.instances[5203775].status == "rescued"


async def test_busy_instance_is_refused_with_the_next_step(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "rebooting"
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert (kind(result), facts(result)["status"]) == ("refused.state", "rebooting")
    assert "Try again when it is active or stopped" in error(result)
    assert sim.mutating_requests() == []


async def test_unknown_instance_is_refused_before_any_mutating_request(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=42, image="Ubuntu 22.04", confirm=True)
    assert (kind(result), facts(result)["instance_id"]) == ("api.not_found", 42)
    assert "Instance 42 was not found" in error(result)
    assert sim.mutating_requests() == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"instance_id": WEB},
        {"instance_id": WEB, "image": ""},
        {"instance_id": WEB, "image": "Ubuntu 22.04", "zone": "public"},
        {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": "maybe"},
        {"instance_id": WEB, "image": "x" * 500},
    ],
)
async def test_invalid_arguments_are_refused_without_any_request(
    client: Client, sim: Simulator, arguments: dict[str, object]
) -> None:
    result = await client.call_tool("enter_rescue", arguments)
    assert kind(result) == "invalid.arguments"
    assert "enter_rescue was not run because its arguments are invalid" in error(result)
    assert sim.requests == []


async def test_a_mistyped_password_is_not_echoed_in_the_argument_error(client: Client, sim: Simulator) -> None:
    message = error(
        await client.call_tool("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04", "password": 98765432101})
    )
    assert "password" in message
    assert "98765432101" not in message
    assert sim.requests == []


@pytest.mark.parametrize("almost", ["true", 1, "yes", "on"])
async def test_only_a_json_true_confirms(client: Client, sim: Simulator, almost: object) -> None:
    result = await client.call_tool("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": almost})
    assert kind(result) == "invalid.arguments"
    assert "confirm" in error(result)
    assert sim.requests == []
