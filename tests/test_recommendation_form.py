"""Reading the recommendation dialog's answers and validating them."""
import asyncio
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant import dialog_answers
from assistant.recommendation_rules import load_rules
from actions.recommendation_form import (ASK_ACTIONS, ActionAnswerOrCancel, ActionAnswerOrHandoff,
                                         ActionExplainQuestion,
                                         ActionExplainRecommendation,
                                         ActionRecommend, ValidateRecommendationForm)
from tests.wording import answer, criterion, fill, form, question, recommendation, said

RESPONSES = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml")
                           .read_text(encoding="utf-8"))["responses"]
DOMAIN = {"forms": {"recommendation_form": {"required_slots": list(dialog_answers.FORM_SLOTS)}},
          "responses": RESPONSES}
NOT_SURE = form("messages", "not_sure_button")


@pytest.mark.parametrize("text,expected", [
    ("We need to train 12 project managers who need coaching",
     {"audience": "experts", "learners": 12, "coaching": True}),
    ("what do you recommend for about 200 customers? fully online please",
     {"audience": "customers", "learners": 200, "face_to_face": False}),
    ("a course for the general public, free access to knowledge, a few thousand people",
     {"audience": "public", "goal": "free_knowledge", "learners": 3000}),
    ("onboarding new hires with some face-to-face sessions",
     {"audience": "employees", "goal": "onboarding", "face_to_face": True}),
    ("which format should I choose?", {}),
])
def test_opening_messages_fill_what_they_state(text, expected):
    assert dialog_answers.read_all(text) == expected


@pytest.mark.parametrize("slot,text,expected", [
    ("audience", "Our whole staff", "employees"),
    ("audience", "prospects mostly", "customers"),
    ("audience", "the data science department", "experts"),
    ("goal", "improve our e-reputation", "loyalty"),
    ("goal", "strengthen team spirit", "culture"),
    ("goal", "upskilling for the digital transformation", "skills"),
    ("goal", "fix sources of unproductivity", "productivity"),
    ("face_to_face", "no face-to-face, thanks", False),
    ("face_to_face", "some in-person days would be great", True),
    ("open_to_all", "keep it private", False),
    ("open_to_all", "open to all internet users", True),
    ("own_resources", "we're an SME with no budget", False),
    ("own_resources", "we're an SME with an in-house learning team", True),
    ("own_resources", "we're a business school with a video studio", True),
    ("audience", "public sector employees", "employees"),
    ("audience", "our sales reps in Lyon", "employees"),
    ("goal", "learn Excel basics", "skills"),
    ("goal", "brand guidelines", None),
    ("goal", "no problem", None),
    ("goal", "a free course", None),
    ("own_resources", "no problem", True),
    ("own_resources", "not a problem, we have a studio", True),
    ("coaching", "they don't really need coaching", False),
    ("face_to_face", "no face-to-face, just online", False),
    # Typos of the phrases' words are read as those words.
    ("audience", "the genral public", "public"),
    ("audience", "our emplyees", "employees"),
    ("goal", "share knowlege with everyone", "free_knowledge"),
    ("learners", "a few thousnd", 3000),
    ("learners", "a couple hundret", 200),
    ("audience", "hmm", None),
    ("learners", "twelve", 12),
    ("learners", "between 10 and 20", 20),
])
def test_answers_read_from_free_text(slot, text, expected):
    assert dialog_answers.read_slot(slot, text) == expected


def test_the_organisations_learning_team_is_not_the_audience_nor_the_goal():
    values = dialog_answers.read_all("we're an SME with an in-house learning team")
    assert values.get("own_resources") is True
    assert "audience" not in values and "goal" not in values


@pytest.mark.parametrize("text,is_correction", [
    ("actually it's 200 people", True),
    ("Sorry, I meant customers", True),
    ("200 people", False),
])
def test_corrections_are_recognised(text, is_correction):
    assert dialog_answers.is_correction(text) is is_correction


def tracker(text: str, intent: str = "inform", slots: Optional[Dict] = None,
            entities=(), answers: Optional[Dict[str, str]] = None) -> Tracker:
    """`answers`: the answer readers' classes for the message (components/answer_reader.py)."""
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9},
               "entities": list(entities),
               "answers": {slot: {"value": value, "confidence": 0.9}
                           for slot, value in (answers or {}).items()}}
    return Tracker("u", dict(slots or {}), message, [], False, None,
                   {"name": "recommendation_form"}, "action_listen")


def validate(t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateRecommendationForm().run(dispatcher, t, DOMAIN))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def test_answer_to_the_pending_question_is_taken():
    slots, _ = validate(tracker("around fifty", slots={"requested_slot": "learners"}))
    assert slots["learners"] == 50.0


def test_opening_message_prefills_and_the_next_question_is_the_first_missing():
    slots, _ = validate(tracker("12 project managers who need coaching",
                                intent="request_recommendation",
                                answers={"audience": "experts", "coaching": "affirm",
                                         "goal": "none"}))
    assert slots["audience"] == "experts" and slots["learners"] == 12 and slots["coaching"] is True
    assert slots["requested_slot"] == "goal"


def test_an_answer_noted_says_more_questions_come_only_when_one_is_left():
    answered = {"audience": "experts", "goal": "productivity", "coaching": True,
                "face_to_face": True, "own_resources": True}  # all but the learner count
    for slots, left in (({}, True), (answered, False)):
        _, messages = validate(tracker("we are 12 people", intent="request_recommendation",
                                       slots=slots))
        noted = dialog_answers.message("noted" if left else "noted_last", answers="12 learners")
        assert [m["text"] for m in messages] == [noted]
    assert dialog_answers.message("noted", answers="x") != dialog_answers.message(
        "noted_last", answers="x")


def test_an_opening_is_read_by_the_answer_readers_not_by_words_out_of_context():
    # "hand-picked ... together" holds the phrase of a goal (team spirit) but says none.
    text = "6 hand-picked senior tax lawyers must learn the new EU rules together"
    slots, _ = validate(tracker(text, intent="request_recommendation",
                                answers={"audience": "experts"}))
    assert slots["audience"] == "experts" and slots["learners"] == 6
    assert "goal" not in slots and slots["requested_slot"] == "goal"


def test_button_values_arrive_as_entities():
    slots, _ = validate(tracker('/inform{"goal":"culture"}', slots={"requested_slot": "goal"},
                                      entities=[{"entity": "goal", "value": "culture"}]))
    assert slots["goal"] == "culture"


def test_yes_and_no_answer_the_pending_yes_no_question():
    slots, _ = validate(tracker("yes", intent="affirm", slots={"requested_slot": "coaching"}))
    assert slots["coaching"] is True
    slots, _ = validate(tracker("nope", intent="deny", slots={"requested_slot": "coaching"}))
    assert slots["coaching"] is False


@pytest.mark.parametrize("text,problem", [("0", "utter_learners_zero"),
                                          ("-5", "utter_learners_negative"),
                                          ("50 million", "utter_learners_too_large")])
def test_bad_learner_counts_are_refused_with_the_reason(text, problem):
    slots, _ = validate(tracker(text, slots={"requested_slot": "learners"}))
    assert slots["learners"] is None and slots["misses"] == 1
    assert slots["answer_problem"] == problem


def test_a_correction_changes_an_earlier_answer_and_keeps_the_pending_question():
    slots, messages = validate(tracker(
        "actually it's 200 people",
        slots={"requested_slot": "goal", "audience": "public", "learners": 20.0}))
    assert slots["learners"] == 200 and slots["requested_slot"] == "goal"
    assert messages[0]["text"] == form("messages", "updated")
    assert "misses" not in slots and "goal" not in slots


def test_a_question_mid_dialog_is_not_taken_as_an_answer():
    slots, _ = validate(tracker("what's a SPOC?", intent="ask_definition",
                                      slots={"requested_slot": "audience"}))
    assert "audience" not in slots


def test_internal_or_external_is_asked_only_when_a_cooc_leads():
    cooc_slots = {"audience": "customers", "learners": 300.0, "goal": "loyalty", "coaching": False,
                  "face_to_face": False, "own_resources": True, "requested_slot": "own_resources"}
    slots, _ = validate(tracker("yes", intent="affirm", slots=cooc_slots))
    # Not set to None: the form goes on and asks open_to_all.
    assert slots.get("requested_slot", "open_to_all") == "open_to_all"
    required = asyncio.run(ValidateRecommendationForm().required_slots(
        list(dialog_answers.FORM_SLOTS), CollectingDispatcher(), tracker("", slots=cooc_slots), DOMAIN))
    assert "open_to_all" in required
    spoc_slots = {"audience": "experts", "learners": 12.0, "goal": "productivity", "coaching": True,
                  "face_to_face": True, "requested_slot": "own_resources"}
    slots, _ = validate(tracker("yes", intent="affirm", slots=spoc_slots))
    assert slots["requested_slot"] is None


def ask(slot: str, slots: Dict) -> dict:
    action = next(cls for cls in ASK_ACTIONS if cls.slot == slot)()
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker("", slots=slots), DOMAIN)
    return dispatcher.messages[0]


def test_questions_are_asked_with_buttons_then_hinted_with_not_sure():
    first = ask("audience", {})
    assert first["text"] == question("audience") and len(first["buttons"]) == 4
    hinted = ask("audience", {"misses": 1})
    assert hinted["text"] == form("hints", "audience")
    assert [b["title"] for b in hinted["buttons"]][-1] == NOT_SURE and len(hinted["buttons"]) == 5
    refused = ask("learners", {"misses": 1, "answer_problem": "utter_learners_zero"})
    assert refused["response"] == "utter_learners_zero" and refused["buttons"][-1]["title"] == NOT_SURE


def test_the_scripted_user_of_the_e2e_tests_recognises_each_question_as_asked():
    """tests/dialog.py reads the questions from the content files; here, as the form asks
    them: the question, the hint after an unreadable answer, a refused learner count."""
    from tests.dialog import asked

    for slot in dialog_answers.FORM_SLOTS:
        assert asked("Noted.\n" + ask(slot, {})["text"]) == [slot]
        assert asked(ask(slot, {"misses": 1})["text"]) == [slot]
    for problem in ("zero", "not_a_number"):
        message = ask("learners", {"misses": 1, "answer_problem": f"utter_learners_{problem}"})
        assert asked(RESPONSES[message["response"]][0]["text"]) == ["learners"]
    assert asked("Hi! What would you like to know?") == []


def test_recommendation_names_the_format_and_is_remembered():
    dispatcher = CollectingDispatcher()
    slots = {"audience": "experts", "learners": 12.0, "goal": "productivity", "coaching": True,
             "face_to_face": True, "own_resources": True}
    events = ActionRecommend().run(dispatcher, tracker("", slots=slots), DOMAIN)
    message = dispatcher.messages[0]
    assert message["text"].startswith("I recommend a SPOC")
    assert {e["name"]: e["value"] for e in events} == {"recommended_format": "spoc", "format": "spoc"}
    assert [b["payload"] for b in message["buttons"]][-1] == "/start_over"


def test_an_unsure_message_naming_a_format_is_left_to_the_rules():
    t = tracker("wait, what's a SPOC?", intent="nlu_fallback", slots={"requested_slot": "goal"},
                entities=[{"entity": "format", "value": "spoc"}])
    slots, _ = validate(t)
    # Nothing filled (requested_slot alone makes Rasa reject the form: a rule answers).
    assert set(slots) <= {"requested_slot"}


# --- Reading the pending answer first (whatever the intent classifier said) ---------

ALL_ANSWERED = {"audience": "customers", "learners": 300.0, "goal": "loyalty", "coaching": False,
                "face_to_face": False, "own_resources": True}


@pytest.mark.parametrize("slot", dialog_answers.FORM_SLOTS)
@pytest.mark.parametrize("text", ["lots of them", "carry on", "hmm", "bof"])
def test_unreadable_answers_never_crash_and_the_second_leaves_the_question_open(slot, text):
    slots = {**ALL_ANSWERED, slot: None, "requested_slot": slot}
    first, messages = validate(tracker(text, intent="nlu_fallback", slots=slots))
    assert first.get("misses") == 1 and slot not in first or first.get(slot) is None
    assert not messages  # the ask action words the re-prompt, with "Not sure"
    second, messages = validate(tracker(text, intent="nlu_fallback",
                                        slots={**slots, "misses": 1}))
    assert second["left_open"] == [slot] and second["misses"] == 0
    assert said(form("messages", "still_unreadable"), messages[0]["text"])
    assert second["requested_slot"] != slot


@pytest.mark.parametrize("slot", dialog_answers.FORM_SLOTS)
@pytest.mark.parametrize("text", ["not sure yet", "no idea", "skip", "I don't know yet"])
def test_not_sure_leaves_any_question_open_at_once(slot, text):
    slots = {**ALL_ANSWERED, slot: None, "requested_slot": slot}
    result, messages = validate(tracker(text, intent="deny", slots=slots))
    assert result["left_open"] == [slot] and result.get(slot) is None
    assert messages[0]["text"] == form("messages", "left_open")


@pytest.mark.parametrize("slot,text,intent,expected", [
    ("own_resources", "yes, the training department films its own videos", "ask_not_covered", True),
    ("own_resources", "we're a business school with a video studio", "ask_not_covered", True),
    ("open_to_all", "internal", "inform_format", False),
    ("open_to_all", "private", "ask_definition", False),
    ("open_to_all", "external", "inform_format", True),
    ("open_to_all", "public", "ask_audience", True),
    ("coaching", "I guess so", "greet", True),
    ("face_to_face", "nah", "goodbye", False),
    ("goal", "learn Excel basics", "compare_formats", "skills"),
    ("learners", "about forty", "ask_group_size", 40.0),
])
def test_an_answer_is_read_whatever_the_intent(slot, text, intent, expected):
    slots = {**ALL_ANSWERED, slot: None, "requested_slot": slot}
    entities = ([{"entity": "format", "value": "cooc_internal"}]
                if intent == "inform_format" else [])
    result, _ = validate(tracker(text, intent=intent, slots=slots, entities=entities))
    assert result[slot] == expected


def test_continue_mid_dialog_asks_the_question_again_instead_of_stopping():
    result, messages = validate(tracker("continue", intent="cancel",
                                        slots={**ALL_ANSWERED, "goal": None,
                                               "requested_slot": "goal"}))
    assert result["misses"] == 1 and result.get("requested_slot", "goal") == "goal"
    assert result["answer_problem"] == dialog_answers.question("goal")["text"]


def test_a_confident_cancel_still_stops():
    message = tracker("no, stop this", intent="cancel", slots={"requested_slot": "coaching"})
    message.latest_message["intent"]["confidence"] = 0.95
    result, _ = validate(message)
    assert "coaching" not in result and "misses" not in result


def test_a_question_about_a_format_word_is_not_an_answer_to_private_or_open():
    t = tracker("what's an internal COOC?", intent="ask_definition",
                slots={**ALL_ANSWERED, "requested_slot": "open_to_all"},
                entities=[{"entity": "format", "value": "cooc_internal", "start": 10, "end": 23}])
    result, _ = validate(t)
    assert "open_to_all" not in result and "misses" not in result


def test_an_answer_that_carries_a_question_is_taken_and_the_question_answered():
    t = tracker("yes, but what's a SPOC exactly?", intent="ask_definition",
                slots={"requested_slot": "coaching"},
                entities=[{"entity": "format", "value": "spoc", "start": 18, "end": 22}])
    result, messages = validate(t)
    assert result["coaching"] is True
    assert messages[0]["text"] == answer("spoc", "definition")


def test_an_answer_left_open_is_named_under_why_with_the_format_it_would_lead_to():
    slots = {"audience": "employees", "learners": 300.0, "goal": "skills", "coaching": False,
             "face_to_face": False, "own_resources": True, "left_open": ["open_to_all"],
             "recommended_format": "cooc_internal"}
    dispatcher = CollectingDispatcher()
    ActionRecommend().run(dispatcher, tracker("", slots=slots), DOMAIN)
    first = dispatcher.messages[0]["text"]
    assert first.startswith("I recommend an internal COOC")
    assert first.endswith(load_rules().text("replies", "one_open"))
    dispatcher = CollectingDispatcher()
    ActionExplainRecommendation().run(dispatcher, tracker("/ask_why", slots=slots), DOMAIN)
    note = fill(form("messages", "open_answer_matters"), what=form("open_answers", "open_to_all", "what"),
                condition=form("open_answers", "open_to_all", "values", True), format="a MOOC")
    assert any(said(note, line) for line in dispatcher.messages[0]["text"].splitlines())


K_SLOTS = {"audience": "experts", "learners": 15.0, "goal": "productivity", "coaching": True,
           "face_to_face": False, "own_resources": False, "recommended_format": "spoc"}


def test_the_recommendation_is_short_with_a_why_button():
    dispatcher = CollectingDispatcher()
    ActionRecommend().run(dispatcher, tracker("", slots=K_SLOTS), DOMAIN)
    message = dispatcher.messages[0]
    # Missing resources conflict with every format that fits: the reply says so at once,
    # naming the answers that fit (as data/form_answers.yml names them) and the one against.
    first, trade_off = message["text"].splitlines()
    assert first == "I recommend a SPOC (Small Private Online Course)."
    fits = ", ".join(form("noted", slot, value) for slot, value in (
        ("goal", "productivity"), ("audience", "experts"), ("coaching", True))) + " and 15 learners"
    assert said(fill(recommendation("replies", "trade_off", "text"), fits=fits,
                     against=form("noted", "own_resources", False)), trade_off), trade_off
    assert message["buttons"][0] == {"title": "Why?", "payload": "/ask_why"}


def test_why_gives_the_reasons_notes_and_runner_up():
    dispatcher = CollectingDispatcher()
    ActionExplainRecommendation().run(dispatcher, tracker("/ask_why", intent="ask_why",
                                                          slots=K_SLOTS), DOMAIN)
    lines = dispatcher.messages[0]["text"].splitlines()
    assert lines[0] == "Why the SPOC:"
    assert sum(line.startswith("- ") for line in lines) == 4
    assert any(said(f"Note: {criterion('spoc', 'no_resources')}", line) for line in lines)
    assert any(line.startswith("Runner-up: an internal COOC, which would be the better choice")
               for line in lines)
    assert "(Small Private Online Course)" not in dispatcher.messages[0]["text"]


def test_why_before_any_recommendation_offers_one():
    dispatcher = CollectingDispatcher()
    ActionExplainRecommendation().run(dispatcher, tracker("why?", intent="ask_why"), DOMAIN)
    assert dispatcher.messages[0]["text"] == form("messages", "nothing_to_explain")
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_recommendation"


def test_every_answer_left_open_gets_a_comparison_not_a_format():
    dispatcher = CollectingDispatcher()
    slots = {"left_open": list(dialog_answers.FORM_SLOTS)}
    ActionRecommend().run(dispatcher, tracker("", slots=slots), DOMAIN)
    assert dispatcher.messages[0]["text"] == form("messages", "nothing_to_go_on")
    comparison = dispatcher.messages[1]
    assert comparison["response"] == "utter_comparison"
    assert answer("spoc", "summary") in comparison["lines"]
    assert comparison["buttons"][0]["payload"] == "/start_over"


def test_answers_that_point_nowhere_are_not_called_open():
    dispatcher = CollectingDispatcher()
    slots = {"coaching": False, "face_to_face": False,
             "left_open": ["audience", "learners", "goal", "own_resources"]}
    ActionRecommend().run(dispatcher, tracker("", slots=slots), DOMAIN)
    assert dispatcher.messages[0]["text"] == load_rules().text("replies", "no_format_stands_out")
    assert dispatcher.messages[0]["text"] != form("messages", "nothing_to_go_on")


# --- The theme and exchanges questions: asked only when the answer can change the format --

@pytest.mark.parametrize("slot,text,expected", [
    ("theme", "it's about our own software", "company"),
    ("theme", "training resellers on our product range", "company"),
    ("theme", "harmonise their practices", "practices"),
    ("theme", "general knowledge, nothing specific to us", "general"),
    ("theme", "an off-the-shelf course would do", "general"),
    ("theme", "a course for the general public", None),  # an audience, not a theme
    ("exchanges", "yes, they should share experiences", True),
    ("exchanges", "a forum to learn from each other", True),
    ("exchanges", "they don't need to exchange", False),
    ("exchanges", "self-paced, on their own", False),
])
def test_theme_and_exchanges_read_from_free_text(slot, text, expected):
    assert dialog_answers.read_slot(slot, text) == expected


@pytest.mark.parametrize("text,expected", [("marketing", "general"), ("our tools", "company"),
                                           ("technical stuff", "practices")])
def test_short_theme_answers_count_only_right_after_the_question(text, expected):
    assert dialog_answers.read_answer("theme", text) == expected
    assert "theme" not in dialog_answers.read_all(text) or text == "our tools"


SME_SLOTS = {"audience": "employees", "learners": 200.0, "goal": "skills", "coaching": False,
             "face_to_face": False, "own_resources": False}


def required(slots: Dict) -> list:
    return asyncio.run(ValidateRecommendationForm().required_slots(
        list(dialog_answers.FORM_SLOTS), CollectingDispatcher(), tracker("", slots=slots), DOMAIN))


def test_the_theme_is_asked_when_it_decides_whether_a_mooc_can_serve():
    # Without resources, a MOOC serves general knowledge, not the organisation's own products.
    assert "theme" in required(SME_SLOTS)
    assert "exchanges" not in required(SME_SLOTS)  # the MOOC stays the answer either way
    slots, _ = validate(tracker("our own software", slots={**SME_SLOTS,
                                                           "requested_slot": "theme"}))
    assert slots["theme"] == "company" and slots["requested_slot"] == "open_to_all"


def test_the_new_questions_are_not_asked_when_nothing_can_change_the_answer():
    k = {"audience": "experts", "learners": 15.0, "goal": "productivity", "coaching": True,
         "face_to_face": False, "own_resources": False}
    t = {"audience": "customers", "learners": 500.0, "goal": "loyalty", "coaching": False,
         "face_to_face": False, "own_resources": False}
    r = {"audience": "experts", "learners": 60.0, "goal": "productivity", "coaching": True,
         "face_to_face": True, "own_resources": True}
    for slots in (k, t, r):
        assert not {"theme", "exchanges"} & set(required(slots))


def test_exchanges_are_asked_when_they_can_tip_a_close_call():
    # 5,000 experts, skills: a MOOC (a SPOC is for a limited audience), unless learners
    # should exchange (an internal COOC "values exchanges between participants").
    close = {"audience": "experts", "learners": 5000.0, "goal": "skills", "coaching": False,
             "face_to_face": False, "own_resources": True}
    assert "exchanges" in required(close)
    slots, _ = validate(tracker("yes", intent="affirm", slots={**close, "theme": "general",
                                                               "requested_slot": "exchanges"}))
    assert slots["exchanges"] is True


def test_an_answer_given_on_the_way_is_kept_even_when_not_asked():
    slots, _ = validate(tracker("12 engineers who should share experiences",
                                intent="request_recommendation",
                                answers={"exchanges": "affirm"}))
    assert slots["exchanges"] is True


def test_the_new_questions_have_buttons_and_not_sure_once():
    first = ask("theme", {})
    assert first["text"] == question("theme")
    assert [b["title"] for b in first["buttons"]][-1] == NOT_SURE
    hinted = ask("exchanges", {"misses": 1})
    titles = [b["title"] for b in hinted["buttons"]]
    assert titles == [b["title"] for b in form("questions", "exchanges", "buttons")]
    assert titles.count(NOT_SURE) == 1
    assert hinted["text"] == form("hints", "exchanges")


def test_a_button_answers_the_theme():
    slots, _ = validate(tracker('/inform{"theme":"general"}',
                                slots={**SME_SLOTS, "requested_slot": "theme"},
                                entities=[{"entity": "theme", "value": "general"}]))
    assert slots["theme"] == "general"


# ---- a request for a person whose words answer the pending question
def _answer_or_handoff(text: str, answers: Dict[str, str], requested: str) -> List[Dict]:
    t = tracker(text, intent="human_handoff", slots={"requested_slot": requested},
                answers=answers)
    return ActionAnswerOrHandoff().run(CollectingDispatcher(), t, DOMAIN)


def test_a_request_for_help_that_answers_the_question_goes_to_the_form():
    events = _answer_or_handoff("kind of, the IT trainer can help", {"own_resources": "affirm"},
                                "own_resources")
    assert events == [{"event": "followup", "name": "recommendation_form", "timestamp": None}]
    slots, _ = validate(tracker("kind of, the IT trainer can help", intent="human_handoff",
                                slots={"requested_slot": "own_resources"},
                                answers={"own_resources": "affirm"}))
    assert slots["own_resources"] is True


def test_a_request_for_a_person_goes_to_the_hand_off():
    events = _answer_or_handoff("can I talk to a human?", {"own_resources": "none"},
                                "own_resources")
    assert events == [{"event": "followup", "name": "handoff_form", "timestamp": None}]


@pytest.mark.parametrize("reading, goes_to", [
    ({"value": "affirm", "confidence": 0.58}, "recommendation_form"),
    ({"value": "unsure", "confidence": 0.9}, "handoff_form"),
    ({"value": "affirm", "confidence": 0.3}, "handoff_form"),
])
def test_a_request_for_a_person_that_leans_to_an_answer_keeps_the_dialog(reading, goes_to):
    t = tracker("kind of, the IT trainer can help", intent="human_handoff",
                slots={"requested_slot": "own_resources"})
    t.latest_message["answers"] = {"own_resources": reading}
    events = ActionAnswerOrHandoff().run(CollectingDispatcher(), t, DOMAIN)
    assert events == [{"event": "followup", "name": goes_to, "timestamp": None}]
    if goes_to == "recommendation_form":  # and the form takes the answer, not asks again
        slots, _ = validate(t)
        assert slots["own_resources"] is True


# ---- "what do you mean by resources?" in the middle of the dialog
def _explain(slots: Dict):
    dispatcher = CollectingDispatcher()
    t = tracker("what do you mean by resources?", intent="help", slots=slots)
    events = ActionExplainQuestion().run(dispatcher, t, DOMAIN)
    return {e["name"]: e["value"] for e in events}, dispatcher.messages


def test_a_question_about_the_pending_question_is_explained_once_then_left_open():
    slots, messages = _explain({"requested_slot": "own_resources"})
    assert messages[0]["text"] == form()["explanations"]["own_resources"]
    assert slots == {"explained": "own_resources"}
    # Asked again: the question is left open, so it is not asked a third time.
    slots, messages = _explain({"requested_slot": "own_resources", "explained": "own_resources",
                                "left_open": ["theme"]})
    assert messages[0]["text"] == form()["messages"]["left_open"]
    assert slots["left_open"] == ["theme", "own_resources"] and slots["explained"] is None


def test_help_outside_a_question_is_the_usual_help():
    _, messages = _explain({})
    assert messages[0]["response"] == "utter_help"


# ---- "dont mind" is no "never mind"
@pytest.mark.parametrize("intent_confidence, reading, stops", [
    (0.7, {"value": "unsure", "confidence": 0.9}, False),   # "dont mind": no preference
    (1.0, {"value": "unsure", "confidence": 0.7}, True),    # "never mind": a clear stop
    (0.7, {"value": "none", "confidence": 0.9}, True),      # "stop it": no answer at all
])
def test_a_stop_unsure_of_itself_that_reads_as_an_answer_keeps_the_dialog(
        intent_confidence, reading, stops):
    t = tracker("dont mind", intent="cancel", slots={"requested_slot": "open_to_all"})
    t.latest_message["intent"]["confidence"] = intent_confidence
    t.latest_message["answers"] = {"open_to_all": reading}
    events = ActionAnswerOrCancel().run(CollectingDispatcher(), t, DOMAIN)
    assert events == ([] if stops else
                      [{"event": "followup", "name": "recommendation_form", "timestamp": None}])
    if not stops:  # and the form leaves the question open
        slots, messages = validate(t)
        assert slots["left_open"] == ["open_to_all"]
        assert messages[0]["text"] == form()["messages"]["left_open"]
