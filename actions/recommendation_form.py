"""Rasa plumbing for the recommendation dialog: reading answers into slots,
validating them, and sending the recommendation."""
import re
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import actions
from assistant import dialog_answers, knowledge, recommender
from assistant.recommendation_rules import load_rules
from assistant.recommendation_text import open_answer_notes, render_details, render_short
from assistant.learner_count import as_count, validate_learner_count

FORM = "recommendation_form"
# Interruptions, when the message can't be read as the pending answer: requests that
# leave the question (cancel, start over, a person, help), and questions (asked with a
# question mark or a question word, or naming a format) that a rule answers before the
# dialog goes on. Anything else is an answer the form could not read.
REQUEST_INTENTS = {"cancel", "start_over", "human_handoff", "help", "bot_challenge"}
# From this intent confidence on, such a request wins over a reading of the message as an
# answer to the pending question.
CLEAR_REQUEST = 0.8
# A request for a person whose words also answer the pending question ("sí, individual help
# please" to "coaching or support?", "the IT trainer can help" to "resources?"): there, the
# answer readers decide (ActionAnswerOrHandoff, then the form).
ANSWERABLE_REQUESTS = {"human_handoff"}
FORMAT_QUESTION_INTENTS = {"ask_definition", "ask_goals", "ask_audience", "ask_group_size",
                           "ask_content", "ask_duration", "ask_rewards", "ask_cost",
                           "ask_history", "ask_pronunciation", "ask_coexist", "compare_formats",
                           "inform_format"}
# Off-subject, not covered, or unclear: an interruption only when asked as a question.
OTHER_QUESTION_INTENTS = {"ask_not_covered", "out_of_scope", "nlu_fallback"}
QUESTION_INTENTS = FORMAT_QUESTION_INTENTS | OTHER_QUESTION_INTENTS
# "I'm not sure what a SPOC is": a question, though not phrased as one.
EMBEDDED_QUESTION = re.compile(r"\b(what|how|which|why)\b.*\b(is|are|does|means?)\b",
                               re.IGNORECASE)
BOOKKEEPING_SLOTS = ("misses", "answer_problem", "left_open", "explained")
QUESTION_WORDS = re.compile(
    r"^\W*(so |and |but |wait,? |sorry,? |hold on,? |ok,? |okay,? )?(what|what's|whats|how|who|why|"
    r"when|where|which|can|could|is|are|does|do|should|would|will|tell me|explain)\b",
    re.IGNORECASE)


def profile_from(slots: Dict[Text, Any]) -> recommender.Profile:
    return recommender.Profile(
        audience=slots.get("audience"),
        learners=as_count(slots.get("learners")),
        goal=slots.get("goal"),
        coaching=slots.get("coaching"),
        face_to_face=slots.get("face_to_face"),
        own_resources=slots.get("own_resources"),
        open_to_all=slots.get("open_to_all"),
        theme=slots.get("theme"),
        exchanges=slots.get("exchanges"),
    )


def _intent(message: Dict[Text, Any]) -> Text:
    return (message.get("intent") or {}).get("name") or ""


def _names_format(message: Dict[Text, Any]) -> bool:
    return any(e.get("entity") == "format" for e in message.get("entities", []))


def _is_question(text: Text) -> bool:
    return "?" in text or QUESTION_WORDS.search(text) is not None


def _is_interruption(message: Dict[Text, Any]) -> bool:
    """Is a message that doesn't answer the pending question a request or a question?"""
    intent, text = _intent(message), message.get("text") or ""
    if intent in REQUEST_INTENTS:
        return True
    if intent in FORMAT_QUESTION_INTENTS and _names_format(message):
        return True
    return intent in QUESTION_INTENTS and _is_question(text)


# Below the form's reading confidence, a reading this sure of an answer still wins over a
# request for a person (action_answer_or_handoff).
HANDOFF_OR_ANSWER = 0.5


def _pending_answer(message: Dict[Text, Any], requested: Optional[Text]) -> Any:
    """The message's answer to the pending question, as the answer readers read it, or None."""
    if not requested:
        return None
    answer = dialog_answers.read_answer(requested, message.get("text") or "",
                                        message.get("answers"))
    if answer is not None and answer is not dialog_answers.UNSURE:
        return answer
    # A request for a person whose words still lean to an answer ("kind of, the IT trainer
    # can help"): the classifier's intent is as unsure, and the answer keeps the dialog going.
    reading = (message.get("answers") or {}).get(requested) or {}
    value = reading.get("value")
    if (_intent(message) in ANSWERABLE_REQUESTS and reading.get("confidence", 0.0) >= HANDOFF_OR_ANSWER
            and value not in (None, dialog_answers.NOT_AN_ANSWER, "unsure")):
        return dialog_answers.YES_NO_CLASSES.get(value, value)
    return None


def _answers_pending(message: Dict[Text, Any], requested: Optional[Text]) -> bool:
    return _pending_answer(message, requested) is not None


def _leave_open(slot: Text, tracker: Tracker) -> Dict[Text, Any]:
    """The pending question left open: the dialog moves on, its bookkeeping reset."""
    left_open = list(tracker.get_slot("left_open") or [])
    return {"left_open": left_open + [slot], "misses": 0, "answer_problem": None}


def _events(values: Dict[Text, Any]) -> List[EventType]:
    return [SlotSet(slot, value) for slot, value in values.items()]


class ValidateRecommendationForm(FormValidationAction):
    """Reads each message as the answer to the pending question first, whatever the
    intent classifier said; only a message that isn't such an answer and is a question
    or a request leaves the form to the rules (Rasa runs the form before the rules)."""

    def name(self) -> Text:
        return f"validate_{FORM}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        # rasa_sdk returns only the form's own slots; the dialog's bookkeeping (misses,
        # answers left open) is set here too, unless a validation method set it.
        validated = {e["name"] for e in validation}
        return [e for e in extraction
                if e["name"] in BOOKKEEPING_SLOTS and e["name"] not in validated] + validation

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        left_open = tracker.get_slot("left_open") or []
        profile = profile_from(tracker.slots)
        # The theme and exchanges are asked only when their answer can still change the
        # recommended format (an answer already given is kept).
        slots = [s for s in domain_slots if s not in left_open
                 and (s not in recommender.ASKED_WHEN_IT_MATTERS or tracker.get_slot(s) is not None
                      or recommender.can_change(profile, s))]
        # Internal vs external only matters when a COOC is the likely answer.
        if recommender.needs_open_to_all(profile):
            return slots
        return [s for s in slots if s != "open_to_all"]

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message
        text = message.get("text") or ""
        requested = tracker.get_slot("requested_slot")
        if requested is None:
            return await self._opening(dispatcher, tracker, domain, text)
        values = self._button_values(message, requested)
        if not values and not self._is_clear_request(message, requested):
            answer = dialog_answers.read_answer(requested, self._answer_part(message),
                                                message.get("answers"))
            if answer is None and _intent(message) in ANSWERABLE_REQUESTS:
                answer = _pending_answer(message, requested)
            if (answer is dialog_answers.UNSURE and _names_format(message)
                    and (_is_question(text) or EMBEDDED_QUESTION.search(text))):
                answer = None  # "not sure what a SPOC is": a question, answered by a rule
            if answer is dialog_answers.UNSURE:
                dispatcher.utter_message(text=dialog_answers.message("left_open"))
                return _events(_leave_open(requested, tracker))
            if answer is not None:
                # Other answers stated on the way fill empty questions ("40 engineers").
                values = {slot: value for slot, value
                          in dialog_answers.read_all(text, message.get("answers")).items()
                          if tracker.get_slot(slot) is None}
                values[requested] = answer
                if _intent(message) in QUESTION_INTENTS and "?" in text and _names_format(message):
                    # "Yes, but what's a SPOC exactly?": the answer counts, the question is answered.
                    actions.answer_question(dispatcher, tracker)
        if not values and dialog_answers.is_correction(text):
            # "actually it's 200 people": another answer changes, this one stays pending.
            values = dialog_answers.read_all(text)
            self._acknowledge_changes(dispatcher, tracker, values, requested)
        if values:
            return _events(values)
        if dialog_answers.is_go_on(text) or _intent(message) == "resume":  # "where were we?"
            return _events(self._miss(requested, tracker, dispatcher,
                                      problem=dialog_answers.question(requested)["text"]))
        if _is_interruption(message):
            return []  # the form steps aside; a rule answers, then the question comes back
        return _events(self._miss(requested, tracker, dispatcher))

    async def _opening(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict, text: Text) -> List[EventType]:
        """The message that started the dialog may already state some answers; a
        self-introduction describes the speaker, not the learners ("HR director at a chain
        with 80 stores" is not 80 learners)."""
        introduction = _intent(tracker.latest_message) == "introduce"
        values = {} if introduction else dialog_answers.read_opening(
            text, tracker.latest_message.get("answers"))
        if (len(actions.mentioned_formats(tracker)) >= 2
                and _intent(tracker.latest_message) != "compare_formats"):
            # "MOOC or COOC, for training our customers?": the comparison first.
            dispatcher.utter_message(response="utter_comparison", lines=knowledge.comparison(
                actions.mentioned_formats(tracker)))
        if values:
            # "Just a few more questions" only if one is left (a late answer after the
            # recommendation may leave none).
            after = tracker.copy()
            after.add_slots(_events(values))
            asked = await self.required_slots(self.domain_slots(domain), dispatcher, after, domain)
            key = "noted" if any(after.get_slot(slot) is None for slot in asked) else "noted_last"
            dispatcher.utter_message(text=dialog_answers.message(
                key, answers=dialog_answers.describe(values)))
        return _events(values)

    @staticmethod
    def _button_values(message: Dict[Text, Any], requested: Text) -> Dict[Text, Any]:
        """Buttons send /inform{"audience":"employees"}, /affirm or /deny."""
        values = {e["entity"]: e.get("value") for e in message.get("entities", [])
                  if e.get("entity") in dialog_answers.CHOICE_SLOTS}
        if (message.get("text") or "").startswith("/") and requested in dialog_answers.YES_NO_SLOTS:
            if _intent(message) in ("affirm", "deny"):
                values[requested] = _intent(message) == "affirm"
        return values

    @staticmethod
    def _answer_part(message: Dict[Text, Any]) -> Text:
        """The message without the formats it asks about: "what's an internal COOC?" does
        not answer "private or open?", but "yes, and what's a SPOC?" answers yes/no and
        a plain "internal" answers "private or open?"."""
        text = message.get("text") or ""
        if not (_is_question(text) and _names_format(message)):
            return text
        spans = sorted(((e["start"], e["end"]) for e in message.get("entities", [])
                        if e.get("entity") == "format" and "start" in e), reverse=True)
        for start, end in spans:
            text = text[:start] + " " + text[end:]
        return text

    @staticmethod
    def _is_clear_request(message: Dict[Text, Any], requested: Text) -> bool:
        """ "No, stop this" is a request even though "no" could answer a yes/no question:
        a confident cancel/start over/person request wins unless the message says
        something about the question itself."""
        if _intent(message) in ANSWERABLE_REQUESTS and _answers_pending(message, requested):
            return False
        confident = (message.get("intent") or {}).get("confidence", 0) >= CLEAR_REQUEST
        text = message.get("text") or ""
        return (confident and _intent(message) in REQUEST_INTENTS
                and dialog_answers.read_slot(requested, text) is None
                and not dialog_answers.is_unsure(text))  # "skip" leaves the question open

    @staticmethod
    def _acknowledge_changes(dispatcher: CollectingDispatcher, tracker: Tracker,
                             values: Dict[Text, Any], requested: Optional[Text]) -> None:
        changed = [slot for slot, value in values.items()
                   if tracker.get_slot(slot) is not None and tracker.get_slot(slot) != value
                   and slot != requested]
        if changed:
            dispatcher.utter_message(text=dialog_answers.message("updated"))

    def _miss(self, slot: Text, tracker: Tracker, dispatcher: CollectingDispatcher,
              problem: Optional[Text] = None) -> Dict[Text, Any]:
        """A first unreadable answer: the question comes back with a hint, its buttons
        and "Not sure". A second one: the question is left open and the dialog goes on."""
        misses = int(tracker.get_slot("misses") or 0) + 1
        if misses >= 2:
            example = dialog_answers.open_answer(slot)["example"]
            dispatcher.utter_message(text=dialog_answers.message("still_unreadable",
                                                               example=example))
            return _leave_open(slot, tracker)
        return {"misses": misses, "answer_problem": problem}

    @staticmethod
    def _accepted(slot: Text, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        if slot != tracker.get_slot("requested_slot"):
            return {slot: value}  # a correction: the pending question keeps its count
        return {slot: value, "misses": 0, "answer_problem": None}

    def validate_learners(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[Text, Any]:
        problem = validate_learner_count(value)
        if problem:  # the question comes back with the domain response that says why
            return {"learners": None, **self._miss("learners", tracker, dispatcher,
                                                   f"utter_learners_{problem}")}
        return self._accepted("learners", float(as_count(value)), tracker)

    def validate_audience(self, value, dispatcher, tracker, domain):
        return self._accepted("audience", value, tracker)

    def validate_goal(self, value, dispatcher, tracker, domain):
        return self._accepted("goal", value, tracker)

    def validate_coaching(self, value, dispatcher, tracker, domain):
        return self._accepted("coaching", value, tracker)

    def validate_face_to_face(self, value, dispatcher, tracker, domain):
        return self._accepted("face_to_face", value, tracker)

    def validate_own_resources(self, value, dispatcher, tracker, domain):
        return self._accepted("own_resources", value, tracker)

    def validate_open_to_all(self, value, dispatcher, tracker, domain):
        return self._accepted("open_to_all", value, tracker)

    def validate_theme(self, value, dispatcher, tracker, domain):
        return self._accepted("theme", value, tracker)

    def validate_exchanges(self, value, dispatcher, tracker, domain):
        return self._accepted("exchanges", value, tracker)


class AskQuestion(Action, ABC):
    """Asks one of the dialog's questions (wording in data/form_answers.yml).

    After an answer that couldn't be used it says what is expected instead, with
    the question's buttons and "Not sure".
    """

    @property
    @abstractmethod
    def slot(self) -> Text:
        """The slot asked for; abstract, so rasa_sdk registers no `action_ask_`."""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        question = dialog_answers.question(self.slot)
        buttons = list(question.get("buttons", []))
        if tracker.get_slot("misses"):
            # Why the answer was refused: a text, or a domain response (utter_learners_*).
            text = tracker.get_slot("answer_problem") or dialog_answers.hint(self.slot)
            not_sure = dialog_answers.message("not_sure_button")
            if not any(button["title"] == not_sure for button in buttons):
                buttons.append({"title": not_sure, "payload": not_sure})
            if text in domain.get("responses", {}):
                dispatcher.utter_message(response=text, buttons=buttons)
                return []
        else:
            text = question["text"]
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


# One ask action per question; Rasa finds them by name (action_ask_<slot>).
ASK_ACTIONS = [type(f"Ask_{slot}", (AskQuestion,), {"slot": slot})
               for slot in dialog_answers.FORM_SLOTS]


WHY_BUTTON = {"title": "Why?", "payload": "/ask_why"}


def _left_open(tracker: Tracker) -> List[Text]:
    """The answers left open ("Not sure", or unreadable twice) and still unanswered."""
    return [slot for slot in tracker.get_slot("left_open") or []
            if tracker.get_slot(slot) is None]


class ActionRecommend(Action):
    """Recommends a format from the form's answers and remembers it for follow-ups: the
    format and one reason (or the trade-off when an answer conflicts with every format),
    short enough for a phone; the "Why?" button asks for the rest
    (action_explain_recommendation)."""

    def name(self) -> Text:
        return "action_recommend"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        profile = profile_from(tracker.slots)
        recommendation = recommender.recommend(profile)
        if recommendation.format is None:
            if all(value is None for value in vars(profile).values()):
                text = dialog_answers.message("nothing_to_go_on")  # every answer left open
            else:
                text = load_rules().text("replies", "no_format_stands_out")
            dispatcher.utter_message(text=text)
            dispatcher.utter_message(response="utter_comparison",
                                     lines=knowledge.comparison([]), buttons=[{"title": "Start over", "payload": "/start_over"}])
            return []
        fmt = recommendation.format
        short_name = load_rules().label(fmt, with_expansion=False).split(" ", 1)[1]
        _, open_changes = open_answer_notes(profile, _left_open(tracker))
        dispatcher.utter_message(
            text=render_short(recommendation, open_changes=open_changes),
            buttons=[
                WHY_BUTTON,
                {"title": f"More about the {short_name}",
                 "payload": f'/ask_definition{{"format":"{fmt}"}}'},
                {"title": "Compare the formats", "payload": "/compare_formats"},
                {"title": "Start over", "payload": "/start_over"},
            ])
        return [SlotSet("recommended_format", fmt), SlotSet("format", fmt)]


class ActionExplainRecommendation(Action):
    """The "Why?" of the last recommendation: its reasons, the answers that conflict with
    it, what the answers left open could change, the runner-up and what can coexist."""

    def name(self) -> Text:
        return "action_explain_recommendation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        profile = profile_from(tracker.slots)
        recommendation = recommender.recommend(profile)
        if tracker.get_slot("recommended_format") is None or recommendation.format is None:
            dispatcher.utter_message(text=dialog_answers.message("nothing_to_explain"),
                                     buttons=[actions.RECOMMEND_BUTTON])
            return []
        notes, _ = open_answer_notes(profile, _left_open(tracker))
        dispatcher.utter_message(text=render_details(recommendation, notes=notes))
        return []


class ActionStartOver(Action):
    """Forgets the recommendation answers so the dialog starts from scratch."""

    def name(self) -> Text:
        return "action_start_over"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        return [SlotSet(slot, None) for slot in
                (*dialog_answers.FORM_SLOTS, *BOOKKEEPING_SLOTS, "recommended_format",
                 "requested_slot")]


class ActionExplainQuestion(Action):
    """A question about the pending question ("what do you mean by resources?") or a call
    for help in the middle of the dialog: what the question means, then the question again.
    Asked a second time, the question is left open, so that it never comes back a third
    time (a rule would otherwise explain and ask it again for ever)."""

    def name(self) -> Text:
        return "action_explain_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        slot = tracker.get_slot("requested_slot")
        if slot not in dialog_answers.FORM_SLOTS:
            dispatcher.utter_message(response="utter_help")
            return []
        if tracker.get_slot("explained") != slot:
            dispatcher.utter_message(text=dialog_answers.explanation(slot))
            return [SlotSet("explained", slot)]
        dispatcher.utter_message(text=dialog_answers.message("left_open"))
        return _events({**_leave_open(slot, tracker), "explained": None})


class ActionAnswerOrCancel(Action):
    """A stop in the middle of the dialog, unless the classifier is unsure of it and the
    answer reader reads an answer or "no preference" to the pending question ("dont mind"
    is no "never mind"): then the form takes the message."""

    def name(self) -> Text:
        return "action_answer_or_cancel"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message
        requested = tracker.get_slot("requested_slot")
        reading = (message.get("answers") or {}).get(requested) or {}
        if ((message.get("intent") or {}).get("confidence", 0.0) < CLEAR_REQUEST
                and reading.get("value") not in (None, dialog_answers.NOT_AN_ANSWER)
                and reading.get("confidence", 0.0) >= dialog_answers.READING_CONFIDENCE):
            return [FollowupAction(FORM)]
        return []  # the rule stops the dialog


class ActionAnswerOrHandoff(Action):
    """A request for a person in the middle of the dialog: the hand-off, unless the message
    answers the pending question, which the form then takes (a rule would otherwise send
    "the IT trainer can help" to the hand-off and ask "resources?" again, for ever)."""

    def name(self) -> Text:
        return "action_answer_or_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        if _answers_pending(tracker.latest_message, tracker.get_slot("requested_slot")):
            return [FollowupAction("recommendation_form")]
        return [FollowupAction("handoff_form")]
