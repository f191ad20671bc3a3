"""list_rescue_images: the preview call on the wire and the images it returns."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import SimImage, Simulator

from ..conftest import call, error, ok
from ..outcome import facts, kind

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


DEBIAN_12 = "93878ba5-6b9e-4924-a4be-34edb623f808"


async def test_an_os_family_that_names_one_offered_image_is_that_image(client: Client, sim: Simulator) -> None:
    sim.images = [
        SimImage(id=UBUNTU_2204, os="Ubuntu 22.04", zone="pub"),
        SimImage(id=DEBIAN_12, os="Debian 12", zone="pub"),
    ]
    data = ok(await call(client, "enter_rescue", instance_id=5203773, image="ubuntu"))
    assert (data["kind"], data["image"]["id"]) == ("preview", UBUNTU_2204)
    assert sim.mutating_requests() == []


async def test_an_os_family_that_names_several_images_lists_the_candidates(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=5203773, image="Ubuntu")
    said = error(result)
    assert kind(result) == "invalid.image"
    assert set(facts(result)["candidates"]) == {
        UBUNTU_2204,
        "479c96f1-ccc6-47a2-952c-c9e3bbdc8d07",
        "92fabac2-69cc-46ad-8439-c377e0c90632",
    }
    for label in ("Ubuntu 22.04", "Ubuntu 20.04", "Ubuntu 23.04"):
        assert label in said


async def test_a_typo_far_from_any_label_gets_the_nearest_names(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=5203773, image="ubunto")
    assert (kind(result), facts(result)["next"]) == ("invalid.image", "list_rescue_images")
    assert "Did you mean 'Ubuntu 22.04', 'Ubuntu 20.04' or 'Ubuntu 23.04'?" in error(result)


async def test_a_family_is_a_whole_word_not_any_beginning(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=5203773, image="alma")
    assert kind(result) == "invalid.image"
    assert "Did you mean 'AlmaLinux 8' or 'AlmaLinux 9'?" in error(result)
