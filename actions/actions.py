"""Custom actions that answer questions about training formats."""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant import dialog_answers, knowledge

# The format a topic defaults to when the user names none (only MOOCs have a
# history in the article).
DEFAULT_FORMAT = {"history": "mooc"}
RECOMMEND_BUTTON = {"title": "Recommend a format", "payload": "/request_recommendation"}


def mentioned_formats(tracker: Tracker) -> List[Text]:
    """Canonical format names in the latest message, in order, without repeats."""
    values = [e["value"] for e in tracker.latest_message.get("entities", [])
              if e.get("entity") == "format" and e.get("value") in knowledge.format_names()]
    return list(dict.fromkeys(values))


def asked_topic(tracker: Tracker) -> Text:
    """The topic of the latest question: from its intent, or the previous topic for
    a bare follow-up such as "what about a COOC?"."""
    intent = tracker.latest_message.get("intent", {}).get("name") or ""
    if intent.startswith("ask_"):
        return intent[len("ask_"):]
    return tracker.get_slot("topic") or "definition"


def format_buttons(intent: Text) -> List[Dict[Text, Text]]:
    return [{"title": knowledge.display_name(f), "payload": f'/{intent}{{"format":"{f}"}}'}
            for f in knowledge.load().compare_default]


def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Answers the latest message's question on one topic, for the formats named or the
    one discussed last; returns the slot events that remember them."""
    topic = asked_topic(tracker)
    if topic in knowledge.general_topics():
        dispatcher.utter_message(text=knowledge.general_answer(topic))
        return []
    if topic not in knowledge.load().topics:
        topic = "definition"

    formats = mentioned_formats(tracker)
    if not formats:
        # A format described ("the small private courses") before the one discussed last.
        meant: Optional[Text] = (knowledge.implied_format(tracker.latest_message.get("answers"))
                                 or tracker.get_slot("format") or DEFAULT_FORMAT.get(topic))
        formats = [meant] if meant else []
    if not formats:
        dispatcher.utter_message(response="utter_which_format",
                                 buttons=format_buttons(f"ask_{topic}"))
        return [SlotSet("topic", topic)]

    for fmt in formats:
        text = knowledge.find_answer(topic, fmt)
        if text:
            dispatcher.utter_message(text=text)
        else:
            response, values = knowledge.silent(topic, fmt)
            dispatcher.utter_message(response=response, **values)
    return [SlotSet("topic", topic), SlotSet("format", formats[-1])]


class ActionAnswerQuestion(Action):
    def name(self) -> Text:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = tracker.latest_message.get("intent", {}).get("name")
        if (intent == "inform_format" and len(mentioned_formats(tracker)) > 1
                and not tracker.get_slot("topic")):
            # "SPOC or COOC??" with no question before it: the user is weighing formats.
            return ActionCompareFormats().run(dispatcher, tracker, domain)
        return answer_question(dispatcher, tracker)


class ActionCompareFormats(Action):
    """Compares the formats named (two or more), or the main three."""

    def name(self) -> Text:
        return "action_compare_formats"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        aspect = knowledge.compared_aspect(tracker.latest_message.get("intent_ranking") or [])
        dispatcher.utter_message(response="utter_comparison",
                                 lines=knowledge.comparison(mentioned_formats(tracker), aspect))
        states_a_need = dialog_answers.read_opening(tracker.latest_message.get("text") or "",
                                                    tracker.latest_message.get("answers"))
        if states_a_need and not tracker.active_loop_name:
            # "MOOC or COOC, for training our customers?": the comparison, then the
            # recommendation dialog starting from what the message said.
            return [FollowupAction("recommendation_form")]
        # What the article says on choosing between them, then the offer to recommend.
        dispatcher.utter_message(text=knowledge.general_answer("coexist"))
        dispatcher.utter_message(response="utter_after_comparison")
        return []
