"""Words at the edge: the same failure's next step, written once for the model and once for a person."""

from __future__ import annotations

from zomro_rescue_mcp.cli.render import error_for_people
from zomro_rescue_mcp.mcp_server.render import error_for_model

SENTENCE = "No rescue image 'x' is offered for instance 5203773."
FACTS = {"instance_id": 5203773, "next": "list_images"}


def test_the_model_is_told_the_next_tool_call() -> None:
    assert error_for_model(SENTENCE, FACTS) == (
        f"{SENTENCE} Next: call list_rescue_images(instance_id=5203773) to see the images offered now."
    )


def test_a_person_is_told_the_next_command() -> None:
    said = error_for_people(SENTENCE, FACTS)
    assert said == f"{SENTENCE} Next: run `zomro-rescue-mcp images 5203773` to see the images offered now."
    assert "list_rescue_images" not in said


def test_a_failure_without_a_next_step_is_its_sentence_alone() -> None:
    assert error_for_model(SENTENCE, {"instance_id": 1}) == SENTENCE
    assert error_for_people(SENTENCE, {}) == SENTENCE


def test_with_several_accounts_an_error_not_naming_its_account_is_led_by_it() -> None:
    from zomro_rescue_mcp.mcp_server.render import error_for_model

    facts = {"account": "ops"}
    said = error_for_model("The account ops@example.com uses two-factor authentication.", facts, named=True)
    assert said.startswith("[account ops] The account ops@example.com")
    assert (
        error_for_model("Account ops is in read-only mode.", facts, named=True) == "Account ops is in read-only mode."
    )
    assert error_for_model("The account ops@example.com …", facts, named=False) == "The account ops@example.com …"
