"""Rasa plumbing for the recommendation dialog: reading answers into slots,
validating them, and sending the recommendation."""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import form_answers, recommender
from actions.learner_count import validate_learner_count

FORM = "recommendation_form"
# Messages that answer the pending question. Anything else (a question about a
# format, "cancel", small talk) makes the form step aside so a rule can answer it.
ANSWER_INTENTS = {"inform", "affirm", "deny", "request_recommendation", "nlu_fallback"}
UNREADABLE = "__unreadable__"


def profile_from(slots: Dict[Text, Any]) -> recommender.Profile:
    learners = slots.get("learners")
    return recommender.Profile(
        audience=slots.get("audience"),
        learners=int(learners) if learners is not None else None,
        goal=slots.get("goal"),
        coaching=slots.get("coaching"),
        face_to_face=slots.get("face_to_face"),
        own_resources=slots.get("own_resources"),
        open_to_all=slots.get("open_to_all"),
    )


class ValidateRecommendationForm(FormValidationAction):
    def name(self) -> Text:
        return f"validate_{FORM}"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        # Internal vs external only matters when a COOC is the likely answer.
        if recommender.needs_open_to_all(profile_from(tracker.slots)):
            return domain_slots
        return [s for s in domain_slots if s != "open_to_all"]

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message
        requested = tracker.get_slot("requested_slot")
        if not self._is_answer(message, requested):
            return []
        text = message.get("text") or ""
        values: Dict[Text, Any] = {}
        # Buttons send values as entities, e.g. /inform{"audience":"employees"}.
        for entity in message.get("entities", []):
            if entity.get("entity") in form_answers.CHOICE_SLOTS:
                values[entity["entity"]] = entity.get("value")
        # An opening message or a correction may state several answers at once.
        if requested is None or form_answers.is_correction(text):
            values = {**form_answers.read_all(text), **values}
            self._acknowledge_changes(dispatcher, tracker, values, requested)
        # A correction of another answer ("actually it's 200 people") leaves the
        # pending question pending rather than counting as a failed answer to it.
        if requested and not values:
            values[requested] = self._read_requested(requested, message, text)
        return [SlotSet(slot, value) for slot, value in values.items()]

    @staticmethod
    def _is_answer(message: Dict[Text, Any], requested: Optional[Text]) -> bool:
        """False for messages the form should leave to the rules: questions, small talk,
        and unsure ones naming a format ("wait, what's a SPOC?" is not an answer)."""
        intent = (message.get("intent") or {}).get("name")
        if intent not in ANSWER_INTENTS:
            return False
        names_a_format = any(e.get("entity") == "format" for e in message.get("entities", []))
        return not (intent == "nlu_fallback" and requested and names_a_format)

    @staticmethod
    def _read_requested(slot: Text, message: Dict[Text, Any], text: Text) -> Any:
        intent = message["intent"]["name"]
        if slot in form_answers.YES_NO_SLOTS and intent in ("affirm", "deny"):
            return intent == "affirm"
        value = form_answers.read_slot(slot, text)
        return UNREADABLE if value is None else value

    @staticmethod
    def _acknowledge_changes(dispatcher: CollectingDispatcher, tracker: Tracker,
                             values: Dict[Text, Any], requested: Optional[Text]) -> None:
        changed = [slot for slot, value in values.items()
                   if tracker.get_slot(slot) is not None and tracker.get_slot(slot) != value
                   and slot != requested]
        if changed:
            dispatcher.utter_message(text=form_answers.load()["messages"]["updated"])

    @staticmethod
    def _refuse(slot: Text, tracker: Tracker, problem: Optional[Text] = None) -> Dict[Text, Any]:
        """Clears `slot` so that it is asked again; the ask action words the re-prompt."""
        misses = int(tracker.get_slot("misses") or 0) + 1
        return {slot: None, "misses": misses, "answer_problem": problem}

    def _accept(self, slot: Text, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        if tracker.get_slot("misses"):
            return {slot: value, "misses": 0, "answer_problem": None}
        return {slot: value}

    def _validate(self, slot: Text, value: Any, dispatcher: CollectingDispatcher,
                  tracker: Tracker) -> Dict[Text, Any]:
        if value == UNREADABLE:
            return self._refuse(slot, tracker)
        return self._accept(slot, value, tracker)

    def validate_learners(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[Text, Any]:
        if value == UNREADABLE:
            return self._refuse("learners", tracker)
        problem = validate_learner_count(value)
        if problem:
            return self._refuse("learners", tracker, problem)
        return self._accept("learners", float(value), tracker)

    def validate_audience(self, value, dispatcher, tracker, domain):
        return self._validate("audience", value, dispatcher, tracker)

    def validate_goal(self, value, dispatcher, tracker, domain):
        return self._validate("goal", value, dispatcher, tracker)

    def validate_coaching(self, value, dispatcher, tracker, domain):
        return self._validate("coaching", value, dispatcher, tracker)

    def validate_face_to_face(self, value, dispatcher, tracker, domain):
        return self._validate("face_to_face", value, dispatcher, tracker)

    def validate_own_resources(self, value, dispatcher, tracker, domain):
        return self._validate("own_resources", value, dispatcher, tracker)

    def validate_open_to_all(self, value, dispatcher, tracker, domain):
        return self._validate("open_to_all", value, dispatcher, tracker)


class AskQuestion(Action):
    """Asks one of the dialog's questions (wording in data/form_answers.yml).

    After an answer that couldn't be used it says what is expected instead, and
    after a second one it explains why the question matters.
    """

    slot: Text = ""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        question = form_answers.question(self.slot)
        misses = int(tracker.get_slot("misses") or 0)
        if misses >= 2:
            text = form_answers.explanation(self.slot)
        elif misses == 1:
            text = tracker.get_slot("answer_problem") or form_answers.hint(self.slot)
        else:
            text = question["text"]
        dispatcher.utter_message(text=text, buttons=question.get("buttons", []))
        return []


# One ask action per question; Rasa finds them by name (action_ask_<slot>).
ASK_ACTIONS = [type(f"Ask_{slot}", (AskQuestion,), {"slot": slot})
               for slot in form_answers.FORM_SLOTS]


class ActionRecommend(Action):
    """Recommends a format from the form's answers and remembers it for follow-ups."""

    def name(self) -> Text:
        return "action_recommend"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        recommendation = recommender.recommend(profile_from(tracker.slots))
        fmt = recommendation.format
        short_name = recommender.label(fmt, with_expansion=False).split(" ", 1)[1]
        dispatcher.utter_message(
            text=recommender.render(recommendation),
            buttons=[
                {"title": "Compare the formats", "payload": "/compare_formats"},
                {"title": f"More about the {short_name}",
                 "payload": f'/ask_definition{{"format":"{fmt}"}}'},
                {"title": "Start over", "payload": "/start_over"},
            ])
        return [SlotSet("recommended_format", fmt), SlotSet("format", fmt)]


class ActionStartOver(Action):
    """Forgets the recommendation answers so the dialog starts from scratch."""

    def name(self) -> Text:
        return "action_start_over"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        return [SlotSet(slot, None) for slot in
                (*form_answers.FORM_SLOTS, "misses", "answer_problem", "recommended_format",
                 "requested_slot")]
