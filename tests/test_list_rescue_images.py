"""list_rescue_images: the preview call on the wire and the images it returns."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import SimImage, Simulator

from .conftest import call, error, ok
from .outcome import facts, kind

pytestmark = pytest.mark.anyio

UBUNTU_2204 = "f8f2573f-56c4-44c5-8469-84eee4aa64e7"


async def test_sends_the_rescue_form_without_sok(client: Client, sim: Simulator) -> None:
    await call(client, "list_rescue_images", instance_id=5203773)
    [preview] = sim.calls("instances.fleio.rescue")
    assert preview.method == "POST"
    assert preview.query == {}
    assert set(preview.fields) == {"func", "out", "lang", "auth", "elid"}
    assert preview.fields["elid"] == "5203773"
    assert preview.fields["out"] == "json"
    assert preview.fields["lang"] == "en"
    assert sim.mutating_requests() == []


async def test_returns_every_offered_image_and_skips_placeholders(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "list_rescue_images", instance_id=5203773))
    assert data["instance_id"] == 5203773
    images = data["images"]
    assert len(images) == 16
    assert "null" not in {i["id"] for i in images}
    assert images[0] == {"id": UBUNTU_2204, "os": "Ubuntu 22.04", "name": None, "zone": "pub"}
    own = [i for i in images if i["zone"] == "own"]
    assert own == [{"id": "a9e7c223-5f11-4546-a298-6af546bebde6", "os": "Centos 9 x64", "name": "foo", "zone": "own"}]


async def test_zone_narrows_the_list(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "list_rescue_images", instance_id=5203773, zone="shr"))
    assert [i["name"] for i in data["images"]] == ["support-rescue"]


async def test_a_single_offered_image_arrives_as_a_bare_object_and_is_still_listed(
    client: Client, sim: Simulator
) -> None:
    sim.images = [SimImage(id=UBUNTU_2204, os="Ubuntu 22.04", zone="pub")]
    data = ok(await call(client, "list_rescue_images", instance_id=5203773))
    assert [i["id"] for i in data["images"]] == [UBUNTU_2204]


async def test_no_offered_images_gives_an_empty_list(client: Client, sim: Simulator) -> None:
    sim.images = []
    data = ok(await call(client, "list_rescue_images", instance_id=5203773))
    assert data["images"] == []


async def test_unknown_instance_is_a_sentence_naming_the_id(client: Client, sim: Simulator) -> None:
    result = await call(client, "list_rescue_images", instance_id=999)
    assert (kind(result), facts(result)["instance_id"], facts(result)["next"]) == (
        "api.not_found",
        999,
        "list_instances",
    )
    assert "Instance 999 was not found" in error(result)


@pytest.mark.parametrize("bad", [0, -5, "abc", 1.5, None])
async def test_invalid_instance_id_is_refused_without_any_request(client: Client, sim: Simulator, bad: object) -> None:
    result = await call(client, "list_rescue_images", instance_id=bad)
    assert kind(result) == "invalid.arguments"
    assert "instance_id" in error(result)
    assert sim.requests == []
