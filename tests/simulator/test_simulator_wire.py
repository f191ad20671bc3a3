"""The simulator accepts every request form the real API does, so the product's choice is free to differ."""

from __future__ import annotations

import httpx2
import pytest

from zomro_rescue_mcp.simulator import Simulator


@pytest.mark.parametrize("form", ["multipart", "urlencoded", "query"])
def test_the_simulator_answers_the_same_in_every_request_form(api_url: str, sim: Simulator, form: str) -> None:
    fields = {"func": "instances.fleio.rescue", "out": "json", "elid": "5203773", "auth": sim.new_session()}
    with httpx2.Client(base_url=api_url, timeout=5) as http:
        if form == "multipart":
            response = http.post("/", data=fields, files={"unused": ("", b"")})
        elif form == "urlencoded":
            response = http.post("/", data=fields)
        else:
            response = http.get("/billmgr", params=fields)
    doc = response.json()["doc"]
    assert len(doc["slist"][1]["val"]) == 17  # the placeholder and the 16 images
    assert sim.requests[-1].fields["elid"] == "5203773"
