"""The answer actions pick the right topic and format, including follow-ups."""
from typing import Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerQuestion, ActionCompareFormats
from tests.wording import answer, general, topic


def tracker(intent: str, formats: List[str] = (), slots: Optional[Dict] = None,
            implied: Optional[tuple] = None) -> Tracker:
    """`implied`: the implied-format reader's (format, confidence) for the message."""
    entities = [{"entity": "format", "value": f} for f in formats]
    message = {"intent": {"name": intent, "confidence": 0.99}, "entities": entities, "text": "…"}
    if implied:
        message["answers"] = {"implied_format": {"value": implied[0], "confidence": implied[1]}}
    return Tracker("user", slots or {}, message, [], False, None, {}, "action_listen")


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


def test_two_bare_format_names_are_compared():
    messages, _ = run(ActionAnswerQuestion(), tracker("inform_format", ["spoc", "cooc"]))
    assert messages[0]["response"] == "utter_comparison"
    assert answer("spoc", "summary") in messages[0]["lines"]
    assert answer("cooc", "summary") in messages[0]["lines"]
    assert messages[1]["text"] == general("coexist")
    assert messages[2]["response"] == "utter_after_comparison"


def test_two_format_names_after_a_question_answer_that_question():
    messages, _ = run(ActionAnswerQuestion(),
                      tracker("inform_format", ["spoc", "cooc"], slots={"topic": "group_size"}))
    assert messages[0]["text"] == answer("spoc", "group_size")
    assert len(messages) == 2


def test_question_with_a_format_answers_and_remembers_it():
    messages, slots = run(ActionAnswerQuestion(), tracker("ask_group_size", ["spoc"]))
    assert messages[0]["text"] == answer("spoc", "group_size")
    assert slots == {"topic": "group_size", "format": "spoc"}


def test_follow_up_without_a_format_uses_the_previous_one():
    messages, _ = run(ActionAnswerQuestion(),
                      tracker("ask_group_size", slots={"format": "spoc", "topic": "definition"}))
    assert messages[0]["text"] == answer("spoc", "group_size")


def test_what_about_another_format_repeats_the_previous_topic():
    messages, slots = run(ActionAnswerQuestion(),
                          tracker("inform_format", ["cooc"], {"format": "mooc", "topic": "audience"}))
    assert messages[0]["text"] == answer("cooc", "audience")
    assert slots["format"] == "cooc" and slots["topic"] == "audience"


def test_bare_format_with_no_previous_topic_gets_its_definition():
    messages, _ = run(ActionAnswerQuestion(), tracker("inform_format", ["spoc"]))
    assert messages[0]["text"] == answer("spoc", "definition")


def test_question_about_two_formats_answers_both():
    messages, slots = run(ActionAnswerQuestion(), tracker("ask_duration", ["mooc", "spoc"]))
    assert messages[0]["text"] == answer("mooc", "duration")
    # Where the article is silent: the domain response that says so, filled in.
    assert messages[1]["response"] == "utter_article_silent_offer"
    assert messages[1]["silent"] == topic("duration")["silent"].format(format="a SPOC")
    assert topic("audience")["offer"] in messages[1]["offers"]
    assert slots["format"] == "spoc"


def test_no_format_known_asks_which_one_with_buttons():
    messages, slots = run(ActionAnswerQuestion(), tracker("ask_rewards"))
    assert messages[0]["response"] == "utter_which_format"
    assert [b["title"] for b in messages[0]["buttons"]] == ["MOOC", "COOC", "SPOC"]
    assert messages[0]["buttons"][2]["payload"] == '/ask_rewards{"format":"spoc"}'
    assert slots == {"topic": "rewards"}


def test_history_needs_no_format_because_only_moocs_have_one():
    messages, _ = run(ActionAnswerQuestion(), tracker("ask_history"))
    assert messages[0]["text"] == answer("mooc", "history")


def test_combining_formats_is_a_general_answer():
    messages, slots = run(ActionAnswerQuestion(), tracker("ask_coexist", ["mooc"]))
    assert messages[0]["text"] == general("coexist")
    assert slots == {}


def test_unknown_entity_values_are_ignored():
    messages, _ = run(ActionAnswerQuestion(),
                      tracker("ask_definition", ["webinar"], {"format": "cooc"}))
    assert messages[0]["text"] == answer("cooc", "definition")


@pytest.mark.parametrize("formats,present,absent", [
    (["mooc", "spoc"], ["mooc", "spoc"], ["cooc"]),
    ([], ["mooc", "cooc", "spoc"], []),
])
def test_comparison(formats, present, absent):
    messages, _ = run(ActionCompareFormats(), tracker("compare_formats", formats))
    assert messages[0]["response"] == "utter_comparison"
    for p in present:
        assert answer(p, "summary") in messages[0]["lines"]
    for a in absent:
        assert answer(a, "summary") not in messages[0]["lines"]
    # What the article says on choosing, then the offer to recommend.
    assert messages[1]["text"] == general("coexist")
    assert messages[2]["response"] == "utter_after_comparison"


def test_the_action_server_registers_one_ask_action_per_question_and_no_phantom():
    from rasa_sdk.executor import ActionExecutor

    from assistant import dialog_answers

    executor = ActionExecutor()
    executor.register_package("actions")
    assert "action_ask_" not in executor.actions
    assert {f"action_ask_{slot}" for slot in dialog_answers.FORM_SLOTS} <= set(executor.actions)
    assert {f"action_ask_handoff_{slot}" for slot in ("accepted", "email", "project",
                                                       "confirmed")} <= set(executor.actions)


def test_a_format_described_but_not_named_is_answered():
    """"why is it called massive?": the format the reader reads from the description."""
    messages, slots = run(ActionAnswerQuestion(), tracker("ask_group_size", implied=("mooc", 0.9)))
    assert messages[0]["text"] == answer("mooc", "group_size")
    assert slots["format"] == "mooc"


def test_a_described_format_beats_the_one_discussed_before():
    """"and the internal one?" after a question on the external COOC."""
    messages, _ = run(ActionAnswerQuestion(), tracker("ask_audience", slots={"format": "cooc_external"},
                                                      implied=("cooc_internal", 0.8)))
    assert messages[0]["text"] == answer("cooc_internal", "audience")


@pytest.mark.parametrize("implied", [("none", 0.95), ("spoc", 0.3)])
def test_no_confident_description_keeps_the_format_discussed_before(implied):
    messages, _ = run(ActionAnswerQuestion(),
                      tracker("ask_rewards", slots={"format": "mooc"}, implied=implied))
    assert messages[0]["text"] == answer("mooc", "rewards")
