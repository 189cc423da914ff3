"""The hand-off's Rasa side (actions/handoff.py): the e-mail question, what each
channel is asked, the message the team receives, and the answer without a transport."""
import asyncio
import re
from datetime import datetime, timezone
from typing import Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from actions.handoff import ActionCheckMisunderstandings, ActionFinishHandoff, ValidateHandoffForm

FORM_SLOTS = ["handoff_accepted", "handoff_email", "handoff_project", "handoff_confirmed"]
DOMAIN = {"forms": {"handoff_form": {"required_slots": FORM_SLOTS}}}
SLACK = {"input_channel": "slack",
         "metadata": {"out_channel": "D1", "users": ["U0AB12CD"], "team_id": "T0001"}}
TEAMS = {"input_channel": "botframework",
         "metadata": {"user": {"id": "29:1", "name": "Alice Martin", "aad_object_id": "aad-alice"}}}
REST = {"input_channel": "rest", "metadata": {}}


def user(text: str, channel: Dict = REST, intent: str = "ask_definition") -> Dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, **channel}


def tracker(events: List[Dict], slots: Optional[Dict] = None, text: str = "",
            intent: str = "affirm") -> Tracker:
    return Tracker("conv-42", slots or {}, {"text": text, "intent": {"name": intent}},
                   events, False, None, {"name": "handoff_form"}, "action_listen")


@pytest.fixture
def configured(monkeypatch):
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", "http://127.0.0.1:9/hook")


def validate_email(text: str, slots: Optional[Dict] = None):
    dispatcher = CollectingDispatcher()
    result = ValidateHandoffForm().validate_handoff_email(
        text, dispatcher, tracker([user(text)], slots, text), DOMAIN)
    return result["handoff_email"], [m["text"] for m in dispatcher.messages]


@pytest.mark.parametrize("text,expected", [
    ("jane@acme.example", "jane@acme.example"),
    ("my address is Jane.Doe@ACME.example, thanks", "Jane.Doe@acme.example"),
])
def test_an_email_address_is_taken(text, expected):
    assert validate_email(text) == (expected, [])


@pytest.mark.parametrize("text", [
    "jane@", "@acme.example", "jane", "jane@acme", "jane@@acme.example", "jane doe@acme.example x@y",
    "jane@acme.example\r\nBcc: everyone@acme.example",
    "jane@acme.example, boss@acme.example", "<script>@acme.example",
])
def test_a_bad_address_gets_a_clear_re_ask(text):
    address, messages = validate_email(text)
    assert address is None
    assert messages == [handoff.wording()["invalid_email"]]
    assert re.search(r"\w@\w+\.\w", messages[0])  # says what an address looks like


def test_no_at_the_email_question_cancels_without_a_complaint():
    assert validate_email("no", {"handoff_confirmed": False}) == (None, [])


def answer_the_offer(text: str, channel: Dict = REST) -> Dict:
    """The slots the form gets from `text` said to the offer ("Shall I?")."""
    events = [user("human please", channel), {"event": "active_loop", "name": "handoff_form"},
              {"event": "slot", "name": "requested_slot", "value": "handoff_accepted"},
              user(text, channel, intent="nlu_fallback"), {"event": "action", "name": "handoff_form"}]
    t = tracker(events, {"requested_slot": "handoff_accepted"}, text, intent="nlu_fallback")
    dispatcher = CollectingDispatcher()
    slot_events = asyncio.run(ValidateHandoffForm().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in slot_events if e["name"] != "requested_slot"}
    return slots, [m["text"] for m in dispatcher.messages]


def test_an_address_given_to_the_offer_is_a_yes_and_the_address(configured):
    assert answer_the_offer("my email is bob@corp.example") == (
        {"handoff_accepted": True, "handoff_email": "bob@corp.example"}, [])


def test_a_broken_address_given_to_the_offer_is_a_yes_and_a_re_ask(configured):
    assert answer_the_offer("reach me at bob@") == (
        {"handoff_accepted": True, "handoff_email": None}, [handoff.wording()["invalid_email"]])


def test_an_answer_to_the_offer_without_an_address_sets_nothing(configured):
    assert answer_the_offer("what is a SPOC?") == ({}, [])


def test_on_slack_an_address_given_to_the_offer_is_a_yes(configured):
    assert answer_the_offer("my email is bob@corp.example", SLACK) == (
        {"handoff_accepted": True}, [])


def test_project_line_is_one_line_and_skip_is_an_answer():
    form, dispatcher = ValidateHandoffForm(), CollectingDispatcher()
    t = tracker([user("x")])
    assert form.validate_handoff_project("/deny", dispatcher, t, DOMAIN) == {"handoff_project": ""}
    assert form.validate_handoff_project("Skip", dispatcher, t, DOMAIN) == {"handoff_project": ""}
    crafted = "GDPR for 200 reps\r\nBcc: all@acme.example"
    assert form.validate_handoff_project(crafted, dispatcher, t, DOMAIN) == {
        "handoff_project": "GDPR for 200 reps Bcc: all@acme.example"}


def required(events: List[Dict], slots: Optional[Dict] = None) -> List[str]:
    return asyncio.run(ValidateHandoffForm().required_slots(
        FORM_SLOTS, CollectingDispatcher(), tracker(events, slots), DOMAIN))


def test_slack_and_teams_are_not_asked_for_an_address(configured):
    assert required([user("human please", REST)]) == FORM_SLOTS
    assert "handoff_email" not in required([user("human please", SLACK)])
    assert "handoff_email" not in required([user("human please", TEAMS)])
    assert required([user("human please")], {"handoff_confirmed": False}) == []


def test_nothing_is_asked_without_a_transport(monkeypatch):
    for var in ("HANDOFF_WEBHOOK_URL", "HANDOFF_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    assert required([user("human please")]) == []


def test_the_offer_says_what_is_sent_in_each_channel():
    web = handoff.what_is_sent(tracker([user("human please")]))
    assert web.startswith("the e-mail address you give me, the questions you asked here")
    assert handoff.what_is_sent(tracker([user("human please", SLACK)])).startswith(
        "your Slack user id")
    midway = handoff.what_is_sent(tracker([user("x", TEAMS)], {"audience": "employees"}))
    assert midway.startswith("your Teams name") and "your answers so far" in midway
    after = handoff.what_is_sent(tracker([user("x")], {"audience": "employees",
                                                       "recommended_format": "spoc"}))
    assert "your answers and my recommendation" in after


def test_the_team_gets_identity_channel_time_questions_answers_and_conversation_id():
    events = [user("What is a SPOC?", TEAMS), user("/request_recommendation", TEAMS),
              user("our <b>sales</b> team & partners", TEAMS),
              user("can someone call me?", TEAMS, "human_handoff"),
              {"event": "active_loop", "name": "handoff_form"}, user("yes", TEAMS, "affirm")]
    slots = {"audience": "customers", "learners": 200.0, "coaching": True,
             "recommended_format": "spoc", "handoff_project": "Sales onboarding\nin Q3"}
    content = handoff.handoff_content(tracker(events, slots),
                                      datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))
    text = content["text"]
    assert "Contact: Alice Martin (Teams, AAD object id aad-alice)" in text
    assert "Channel: Microsoft Teams" in text and "Time: 2026-12-01 09:30 UTC" in text
    assert "Conversation id: conv-42" in text
    assert "About the project: Sales onboarding in Q3" in text
    assert "- What is a SPOC?\n- our <b>sales</b> team & partners\n- can someone call me?" in text
    assert "/request_recommendation" not in text and "- yes" not in text
    assert "Recommendation: a SPOC (Small Private Online Course)" in text
    assert "customers, partners or prospects, 200 learners, individual coaching" in text
    assert content["reply_to"] is None
    assert "our &lt;b&gt;sales&lt;/b&gt; team &amp; partners" in content["webhook_text"]


def finish(slots: Optional[Dict] = None, intent: str = "affirm") -> List[str]:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionFinishHandoff().run(dispatcher, tracker([user("human please")], slots,
                                                              intent=intent), {}))
    return [m["text"] for m in dispatcher.messages]


def test_without_a_transport_the_user_is_told_whom_to_contact(monkeypatch):
    for var in ("HANDOFF_WEBHOOK_URL", "HANDOFF_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HANDOFF_CONTACT", "training@acme.example")
    assert finish() == [handoff.wording()["unavailable"].format(contact="training@acme.example")]
    monkeypatch.delenv("HANDOFF_CONTACT")
    assert finish() == [handoff.wording()["no_contact"]]


def test_no_to_the_summary_sends_nothing(configured):
    assert finish({"handoff_confirmed": False}) == [handoff.wording()["cancelled"]]


def test_the_interrupted_dialog_is_marked_for_resuming():
    events = [{"event": "active_loop", "name": "recommendation_form"},
              {"event": "active_loop", "name": "handoff_form"},
              {"event": "active_loop", "name": None}]
    resume = handoff.resume_events(tracker(events))
    assert {"event": "slot", "name": "handoff_resume", "value": "recommendation_form",
            "timestamp": None} in resume
    done = events[:1] + [{"event": "active_loop", "name": None}] + events[1:]
    assert handoff.resume_events(tracker(done))[-1]["value"] is None


@pytest.mark.parametrize("intents,due", [
    (["nlu_fallback"], False),
    (["ask_definition", "out_of_scope"], False),
    (["nlu_fallback", "out_of_scope"], True),
    (["out_of_scope", "nlu_fallback"], True),
    (["out_of_scope", "deny", "nlu_fallback"], False),
])
def test_the_second_misunderstanding_in_a_row_makes_the_offer_due(intents, due):
    events = [user(f"message {i}", intent=intent) for i, intent in enumerate(intents)]
    result = ActionCheckMisunderstandings().run(CollectingDispatcher(), tracker(events), {})
    assert result[0]["name"] == "handoff_offer_due" and result[0]["value"] is due
