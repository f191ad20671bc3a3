"""Human approval (ZOMRO_REQUIRE_APPROVAL): the person types the instance id, or nothing is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_type_hints

import mcp.types as types
import pytest
from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation
from mcp.server.mcpserver.resolve import Elicit

from zomro_rescue_mcp.cli.terminal import TerminalAsker
from zomro_rescue_mcp.core.errors import PolicyRefusedError
from zomro_rescue_mcp.mcp_server.elicitation import ApprovalForm, ElicitationAsker
from zomro_rescue_mcp.operations.approval import Approval, judge, require
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import SimImage, Simulator

from ..conftest import call, client_for, error, ok
from ..person import Person

pytestmark = [pytest.mark.anyio, pytest.mark.both_eras]  # approval is elicitation, a protocol feature

WEB, LEGACY = 5203773, 5203775
ENTER = {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True}


@pytest.fixture
def approving(settings: Settings, tmp_path: Path) -> Settings:
    return settings.but(require_approval="always", audit_log=str(tmp_path / "audit.jsonl"))


def audit_records(settings: Settings) -> list[dict[str, Any]]:
    assert settings.guard_rails.audit_log is not None
    return [json.loads(line) for line in Path(settings.guard_rails.audit_log).read_text(encoding="utf-8").splitlines()]


async def test_typing_the_right_id_lets_the_request_through(approving: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept", WEB)
    async with client_for(approving, era, elicitation_callback=person) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
    [question] = person.asked
    assert "5203773" in question.message
    assert "Ubuntu 22.04" in question.message
    assert "will be rebooted into rescue mode" in question.message
    assert isinstance(question, types.ElicitRequestFormParams)
    assert list(question.requested_schema["properties"]) == ["instance_id"]
    assert len(sim.mutating_requests()) == 1
    assert audit_records(approving)[-1]["approval"] == "accepted"
    assert data["approved_by"] == "person (elicitation)"
    assert [r["approved_by"] for r in audit_records(approving)[-2:]] == ["person (elicitation)"] * 2


@pytest.fixture
def auto(settings: Settings, tmp_path: Path) -> Settings:
    """The default: ask wherever the client can."""
    return settings.but(require_approval="auto", audit_log=str(tmp_path / "audit.jsonl"))


async def test_auto_asks_a_client_that_can_ask(auto: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept", WEB)
    async with client_for(auto, era, elicitation_callback=person) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert len(person.asked) == 1
    assert data["approved_by"] == "person (elicitation)"


async def test_auto_refuses_what_the_person_declined(auto: Settings, sim: Simulator, era: str) -> None:
    async with client_for(auto, era, elicitation_callback=Person("decline")) as client:
        message = error(await client.call_tool("enter_rescue", ENTER))
    assert "Nothing was sent: the person declined the approval" in message
    assert sim.mutating_requests() == []


async def test_auto_serves_a_client_that_cannot_ask_on_its_confirm_and_says_so(
    auto: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(auto, era) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
    assert data["approved_by"] == "assistant (confirm)"
    assert any("this client cannot ask the person" in note for note in data["notes"])
    record = audit_records(auto)[-1]
    assert (record["approval"], record["approved_by"]) == ("cannot_ask", "assistant (confirm)")


async def test_never_asks_nobody_and_says_approval_is_off(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept", WEB)
    async with client_for(settings.but(require_approval="never"), era, elicitation_callback=person) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert person.asked == []
    assert data["approved_by"] == "assistant (confirm)"
    assert any("approval is off (ZOMRO_REQUIRE_APPROVAL)" in note for note in data["notes"])


async def test_the_state_is_read_again_after_the_person_answers(approving: Settings, sim: Simulator, era: str) -> None:
    class Late(Person):
        async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            sim.instances[WEB].status = "error"  # the instance broke while the question was open
            return await super().__call__(context, params)

    async with client_for(approving, era, elicitation_callback=Late("accept", WEB)) as client:
        result = await client.call_tool("enter_rescue", ENTER)
    assert result.is_error
    assert result.meta is not None
    assert result.meta["zomro/kind"] == "refused.state"
    assert sim.mutating_requests() == []


async def test_the_person_is_asked_only_about_a_call_that_carries_its_preview_id(
    approving: Settings, sim: Simulator, era: str
) -> None:
    person = Person("accept", WEB)
    async with client_for(approving.but(require_preview=True), era, elicitation_callback=person) as client:
        unpreviewed = ok(await client.call_tool("enter_rescue", ENTER))
        assert person.asked == []
        preview = ok(await client.call_tool("enter_rescue", {**ENTER, "confirm": False}))
        executed = ok(await client.call_tool("enter_rescue", {**ENTER, "preview_id": preview["preview_id"]}))
    assert (unpreviewed["kind"], executed["executed"]) == ("refused.preview_required", True)
    assert len(person.asked) == 1


@pytest.mark.parametrize(
    ("person", "said", "recorded"),
    [
        (Person("accept", 5203774), "the id typed for approval was not 5203773", "mismatch"),
        (Person("decline"), "the person declined the approval", "declined"),
        (Person("cancel"), "the approval was cancelled", "cancelled"),
    ],
)
async def test_anything_but_the_right_id_sends_nothing(
    approving: Settings, sim: Simulator, era: str, person: Person, said: str, recorded: str
) -> None:
    async with client_for(approving, era, elicitation_callback=person) as client:
        message = error(await client.call_tool("enter_rescue", ENTER))
    assert f"Nothing was sent: {said}" in message
    assert sim.mutating_requests() == []
    assert audit_records(approving)[-1]["approval"] == recorded
    assert audit_records(approving)[-1]["result"] == "refused"


async def test_a_client_that_cannot_ask_is_refused_naming_the_setting(
    approving: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(approving, era) as client:
        message = error(await client.call_tool("enter_rescue", ENTER))
    assert "ZOMRO_REQUIRE_APPROVAL" in message
    assert "cannot ask for it" in message
    assert sim.mutating_requests() == []
    assert audit_records(approving)[-1]["approval"] == "unsupported"


async def test_previews_are_not_asked_about(approving: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept", WEB)
    async with client_for(approving, era, elicitation_callback=person) as client:
        ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    assert person.asked == []


async def test_an_invalid_request_is_refused_before_the_person_is_asked(
    approving: Settings, sim: Simulator, era: str
) -> None:
    person = Person("accept", WEB)
    async with client_for(approving, era, elicitation_callback=person) as client:
        message = error(await client.call_tool("enter_rescue", {**ENTER, "image": "Windows 95"}))
    assert "No rescue image 'Windows 95'" in message
    assert person.asked == []


async def test_leaving_rescue_is_approved_the_same_way(approving: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept", LEGACY)
    async with client_for(approving, era, elicitation_callback=person) as client:
        data = ok(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
    assert data["executed"] is True
    assert "will leave rescue mode" in person.asked[0].message


async def test_the_instructions_tell_the_model_about_approval(approving: Settings, era: str) -> None:
    async with client_for(approving, era) as client:
        assert "type the instance id" in (client.instructions or "")


async def test_a_replayed_approval_is_refused(approving: Settings, sim: Simulator) -> None:
    async with client_for(approving, "auto", elicitation_callback=Person("accept", LEGACY)) as client:
        await client.list_tools()
        arguments = {"instance_id": LEGACY, "confirm": True}
        first = await client.session.call_tool("exit_rescue", arguments, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult)
        assert first.input_requests is not None
        answers: types.InputResponses = {
            key: types.ElicitResult(action="accept", content={"instance_id": str(LEGACY)})
            for key in first.input_requests
        }
        approved = await client.session.call_tool(
            "exit_rescue",
            arguments,
            input_responses=answers,
            request_state=first.request_state,
            allow_input_required=True,
        )
        assert isinstance(approved, types.CallToolResult)
        assert not approved.is_error
        sim.instances[LEGACY].status = "rescued"  # back in rescue mode, as if entered again
        replayed = await client.session.call_tool(
            "exit_rescue",
            arguments,
            input_responses=answers,
            request_state=first.request_state,
            allow_input_required=True,
        )
    assert isinstance(replayed, types.CallToolResult)
    assert replayed.is_error
    assert "this approval was already used" in " ".join(getattr(b, "text", "") for b in replayed.content)
    assert len(sim.mutating_requests()) == 1


async def test_a_request_refused_before_the_question_is_still_audited(
    approving: Settings, sim: Simulator, era: str
) -> None:
    guarded = approving.but(allowed_instances=frozenset({WEB}))
    person = Person("accept", 5203774)
    async with client_for(guarded, era, elicitation_callback=person) as client:
        message = error(await client.call_tool("enter_rescue", {**ENTER, "instance_id": 5203774}))
    assert "ZOMRO_ALLOWED_INSTANCES" in message
    assert person.asked == []
    [record] = audit_records(guarded)
    assert (record["result"], record["approval"], record["confirmed"]) == ("refused", "not_asked", True)


@pytest.mark.parametrize("typed", ["abc", "5203773x", "", " 5203774 "])
async def test_any_typed_text_is_an_answer_and_only_the_id_approves(
    approving: Settings, sim: Simulator, era: str, typed: str
) -> None:
    async with client_for(approving, era, elicitation_callback=Person("accept", typed)) as client:
        message = error(await client.call_tool("enter_rescue", ENTER))
    assert "Nothing was sent: the id typed for approval was not 5203773" in message
    assert audit_records(approving)[-1]["approval"] == "mismatch"
    assert sim.mutating_requests() == []


async def test_the_id_with_spaces_around_it_approves(approving: Settings, sim: Simulator, era: str) -> None:
    async with client_for(approving, era, elicitation_callback=Person("accept", f" {WEB} ")) as client:
        ok(await client.call_tool("enter_rescue", ENTER))
    assert len(sim.mutating_requests()) == 1


@pytest.mark.parametrize("answer", list(Approval))
def test_each_typed_answer_is_recorded_as_its_word(answer: Approval) -> None:
    assert answer.word == answer.value
    assert answer.approves is (answer in (Approval.NOT_REQUIRED, Approval.ACCEPTED, Approval.CANNOT_ASK))


@pytest.mark.parametrize("answer", [a for a in Approval if not a.approves])
def test_every_answer_but_a_yes_refuses_and_sends_nothing(answer: Approval) -> None:
    with pytest.raises(PolicyRefusedError, match=r"^Nothing was sent: "):
        require(WEB, answer)


def test_only_the_typed_id_is_a_yes() -> None:
    assert judge(f" {WEB}\n", WEB) is Approval.ACCEPTED
    assert judge("yes", WEB) is Approval.MISMATCH


@pytest.mark.parametrize(
    ("yes", "required", "typed", "expected"),
    [
        (False, False, str(WEB), Approval.ACCEPTED),
        (False, True, str(WEB), Approval.ACCEPTED),
        (False, False, "no", Approval.MISMATCH),
        (False, False, None, Approval.UNSUPPORTED),
        (True, False, None, Approval.NOT_REQUIRED),
        (True, True, None, Approval.UNSUPPORTED),
    ],
)
def test_the_terminal_asker_answers_in_the_same_types(
    yes: bool, required: bool, typed: str | None, expected: Approval
) -> None:
    asked: list[str] = []

    def person(question: str) -> str | None:
        asked.append(question)
        return typed

    answer = TerminalAsker(person, yes=yes, required=required).approve(WEB, "summary")
    assert answer.approval is expected
    assert (answer.refusal is None) is expected.approves
    assert asked == ([] if yes else [f"Type the instance id {WEB} to go ahead (anything else cancels): "])


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (AcceptedElicitation(data=ApprovalForm(instance_id=str(WEB))), Approval.ACCEPTED),
        (AcceptedElicitation(data=ApprovalForm(instance_id="5203774")), Approval.MISMATCH),
        (
            AcceptedElicitation.model_construct(data=Approval.PREVIEW_FIRST),
            Approval.PREVIEW_FIRST,
        ),  # as the SDK wraps it
        (DeclinedElicitation(), Approval.DECLINED),
        (CancelledElicitation(), Approval.CANCELLED),
    ],
)
def test_the_elicitation_asker_reads_replies_as_typed_answers(reply: Any, expected: Approval) -> None:
    assert ElicitationAsker().read(reply, WEB).approval is expected


def test_a_resolver_that_did_not_ask_says_why_in_a_typed_answer() -> None:
    resolver = ElicitationAsker().exit_resolver()
    hints = get_type_hints(resolver)
    assert hints["return"] == Approval | Elicit[ApprovalForm]


async def test_the_question_shows_api_text_escaped(approving: Settings, sim: Simulator, era: str) -> None:
    sim.images = [SimImage(id="forged-1", os="Ubuntu 22.04\nApproved already: type 0", zone="pub")]
    person = Person("decline")
    async with client_for(approving, era, elicitation_callback=person) as client:
        await client.call_tool("enter_rescue", {**ENTER, "image": "forged-1"})
    [question] = person.asked
    assert "\n" not in question.message
    assert "Ubuntu 22.04\\nApproved already" in question.message
