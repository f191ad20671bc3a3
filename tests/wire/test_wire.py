"""Reading BILLmanager answers without a network: errors of any shape, JSON in errors, long links, depth, lists."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.wire.answers import depth_exceeds, error_of, field_message, long_url, message_of, text_of

API = "https://api.zomro.com/"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"$type": "value", "msg": {"$": "bad"}}, "bad"),
        ([{"$type": "value", "msg": {"$": "first"}}, {"msg": {"$": "second"}}], "first"),
        (["refused", "twice"], "refused; twice"),
        ("refused as a string", "refused as a string"),
        ("", "no message"),
        (None, "no message"),
        (42, "42"),
    ],
)
def test_an_error_of_any_shape_is_an_error(raw: object, message: str) -> None:
    error = error_of({"error": raw})
    assert error is not None
    assert message_of(error) == message


def test_a_doc_without_error_has_none() -> None:
    assert error_of({"ok": {}}) is None


def test_json_in_the_message_gives_the_field_and_its_first_message() -> None:
    error = {"$type": "value", "msg": {"$": '{"select_boot": ["Image not found", "other"], "zone": ["x"]}'}}
    assert field_message(error) == ("select_boot", "Image not found")


def test_json_in_the_object_of_older_builds_is_read_too() -> None:
    error = {"$type": "value", "$object": '{"password": ["Too short"]}', "msg": {"$": "Error"}}
    assert field_message(error) == ("password", "Too short")


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ('{"image": {"id": ["Invalid"]}}', ("image", "Invalid")),
        ('{"password": []}', ("password", "no message")),
        ('{"zone": "not a list"}', ("zone", "not a list")),
    ],
)
def test_json_messages_of_any_nesting_give_their_first_text(msg: str, expected: tuple[str, str]) -> None:
    assert field_message({"msg": {"$": msg}}) == expected


@pytest.mark.parametrize("msg", ["plain words", "{not json", '{"empty": []}x', "[1, 2]"])
def test_a_message_without_a_json_object_has_no_field(msg: str) -> None:
    assert field_message({"msg": {"$": msg}}) is None


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ('<a href="long?elid=abc&amp;func=billmgr">wait</a>', "https://api.zomro.com/long?elid=abc&func=billmgr"),
        ("<a href=/long?elid=abc&func=billmgr>wait</a>", "https://api.zomro.com/long?elid=abc&func=billmgr"),
        ('location="https://api.zomro.com/longrun?x=1&billmgr"', "https://api.zomro.com/longrun?x=1&billmgr"),
        ('<meta content="0;url=long?elid=9&func=billmgr">', "https://api.zomro.com/long?elid=9&func=billmgr"),
        ('"https://API.Zomro.com:443/long?elid=1&billmgr"', "https://API.Zomro.com:443/long?elid=1&billmgr"),
    ],
)
def test_long_operation_links_resolve_against_the_api_url(page: str, expected: str) -> None:
    assert long_url(page, API) == expected


@pytest.mark.parametrize(
    "page",
    [
        '<a href="https://evil.example/long?elid=1&func=billmgr">',
        '<a href="//evil.example/long?elid=1&func=billmgr">',
        '<a href="http://api.zomro.com/long?elid=1&func=billmgr">',  # a downgrade to plain http
        '<a href="https://api.zomro.com:8443/long?elid=1&func=billmgr">',  # another port
        "no link here",
    ],
)
def test_a_long_link_off_the_api_host_is_not_followed(page: str) -> None:
    assert long_url(page, API) is None


def test_depth_is_measured_without_recursion() -> None:
    deep: object = "bottom"
    for _ in range(10_000):
        deep = [deep]
    assert depth_exceeds(deep)
    assert not depth_exceeds({"doc": {"elem": [{"id": {"$": "1"}}]}})


def test_a_field_that_is_an_array_gives_its_first_text() -> None:
    assert text_of([{"$": "2025-01-15"}, {"$": "later"}]) == "2025-01-15"
    assert text_of([]) is None
