"""The hand-off to a person on the training team (docs/handoff.md): the offer, the
questions of `handoff_form`, and the request recorded in the outbox (handoff/outbox.py),
which the worker process (handoff/worker.py) sends. Nothing connects at import: the
outbox's database is opened by the first hand-off.

The form's slots (domain.yml): handoff_accepted (the offer; an answer holding an e-mail
address is a yes and the address), handoff_email (web and REST only: Slack and Teams
give the user's identity), handoff_project (optional, one line), handoff_confirmed (the
one-line summary). handoff_confirmed False is a "no" to any of them, which ends the form
without sending.
"""
import asyncio
import logging
import os
import re
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

from email_validator import EmailNotValidError, validate_email
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant import content, dialog_answers
from handoff import outbox as handoff_outbox
from assistant.recommendation_rules import load_rules

logger = logging.getLogger(__name__)

FORM = "handoff_form"
HANDOFF_SLOTS = ("handoff_accepted", "handoff_email", "handoff_project", "handoff_confirmed")
# A form the hand-off interrupted is resumed where it was afterwards.
RESUMABLE_FORMS = ("recommendation_form",)
MISUNDERSTOOD = {"nlu_fallback", "out_of_scope"}
CHANNEL_NAMES = {"rest": "web page / REST", "slack": "Slack", "botframework": "Microsoft Teams",
                 "cmdline": "rasa shell"}
QUESTIONS_SENT = 5
MAX_FIELD_CHARS = 500
# One token with an @ in it: "my address is jane@acme.example" gives the address.
ADDRESS_TOKEN = re.compile(r"[^\s<>()\[\],;:\"']*@[^\s<>()\[\],;:\"']*")
SKIP = {"skip", "no", "nope", "nothing", "none", "no thanks", "no, thanks", "n/a", "-"}

WORDING_FILE = Path(__file__).resolve().parents[1] / "data" / "handoff.yml"

# How long the reply waits for the worker's first try before saying the request is
# recorded: a poll of the worker plus a send on each transport.
FIRST_TRY_WAIT_SECONDS = handoff_outbox.SEND_TIMEOUT_SECONDS * 2 + 3
FIRST_TRY_POLL_SECONDS = 0.2


@lru_cache(maxsize=1)
def outbox() -> handoff_outbox.Outbox:
    """The outbox, made on first use (an engine: it connects when first used)."""
    return handoff_outbox.Outbox(handoff_outbox.database_url())


@lru_cache(maxsize=1)
def wording() -> Dict[Text, Any]:
    return content.read_yaml(WORDING_FILE)


def say(dispatcher: CollectingDispatcher, key: Text, **values: Any) -> None:
    dispatcher.utter_message(text=wording()[key].format(**values),
                             buttons=list(wording().get(f"{key}_buttons", [])))


def one_line(text: Any, limit: int = MAX_FIELD_CHARS) -> Text:
    """User text for the message: control characters and line breaks become spaces."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", str(text or "")).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def channel_identity(tracker: Tracker) -> Tuple[Text, Optional[Dict[Text, Text]]]:
    """The latest message's channel, and the user's identity when the channel gives
    one (Slack user id; Teams AAD object id and name, see channels/*.py)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        channel = event.get("input_channel") or "unknown"
        metadata = event.get("metadata") or {}
        if channel == "slack":
            user = metadata.get("user_id") or (metadata.get("users") or [None])[0]
            if user:
                return channel, {"label": f"Slack user {one_line(user, 64)}",
                                 "short": "your Slack user id"}
        if channel == "botframework":
            user = metadata.get("user") or {}
            aad, name = user.get("aad_object_id"), user.get("name")
            if aad or name:
                label = one_line(name or "Teams user", 128)
                if aad:
                    label += f" (Teams, AAD object id {one_line(aad, 64)})"
                return channel, {"label": label, "short": "your Teams name"}
        return channel, None
    return "unknown", None


def _dialog_ran(tracker: Tracker) -> bool:
    return any(tracker.get_slot(slot) is not None for slot in dialog_answers.FORM_SLOTS)


def what_is_sent(tracker: Tracker) -> Text:
    _, identity = channel_identity(tracker)
    parts = [identity["short"] if identity else "the e-mail address you give me",
             "the questions you asked here"]
    if tracker.get_slot("recommended_format"):
        parts.append("your answers and my recommendation")
    elif _dialog_ran(tracker):
        parts.append("your answers so far")
    return ", ".join(parts) + " and, if you like, a line about your project"


def contact_of(tracker: Tracker) -> Optional[Text]:
    _, identity = channel_identity(tracker)
    return tracker.get_slot("handoff_email") or (identity["label"] if identity else None)


def last_questions(tracker: Tracker) -> List[Text]:
    """The user's last messages before the hand-off began (buttons' payloads left out)."""
    texts = []
    for event in tracker.events:
        if event.get("event") == "active_loop" and event.get("name") == FORM:
            break
        if event.get("event") == "user" and not (event.get("text") or "").startswith("/"):
            texts.append(one_line(event.get("text")))
    return [t for t in texts if t][-QUESTIONS_SENT:]


def answers_given(tracker: Tracker) -> Text:
    values = {slot: tracker.get_slot(slot) for slot in dialog_answers.FORM_SLOTS
              if tracker.get_slot(slot) is not None}
    if "learners" in values:
        values["learners"] = int(values["learners"])
    return dialog_answers.describe(values)


def handoff_content(tracker: Tracker, now: Optional[datetime] = None) -> Dict[Text, Any]:
    """What the training team receives: plain text, and the same for Slack-style webhooks."""
    channel, identity = channel_identity(tracker)
    email = tracker.get_slot("handoff_email")
    contact = email or (identity["label"] if identity else "unknown")
    now = now or datetime.now(timezone.utc)
    lines = ["A user of the training formats assistant would like to talk to a person.",
             f"Contact: {contact}",
             f"Channel: {CHANNEL_NAMES.get(channel, channel)}",
             f"Time: {now.strftime('%Y-%m-%d %H:%M UTC')}",
             f"Conversation id: {one_line(tracker.sender_id, 128)}"]
    if tracker.get_slot("handoff_project"):
        lines.append(f"About the project: {one_line(tracker.get_slot('handoff_project'))}")
    questions = last_questions(tracker)
    lines.append("Last questions:" if questions else "Last questions: none")
    lines += [f"- {q}" for q in questions]
    fmt = tracker.get_slot("recommended_format")
    if fmt:
        lines.append(f"Recommendation: {load_rules().label(fmt)}")
    if _dialog_ran(tracker):
        lines.append(f"Answers: {answers_given(tracker)}")
    text = "\n".join(lines)
    # Slack and Teams webhooks read &, < and > as markup: user text must stay text.
    webhook_text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"text": text, "webhook_text": webhook_text, "reply_to": email,
            "contact": contact, "channel": channel, "conversation_id": tracker.sender_id}


def resume_events(tracker: Tracker) -> List[EventType]:
    """Marks the form the hand-off interrupted, if any, for the rule that resumes it;
    requested_slot is cleared so that form reads nothing from the hand-off's last
    message and asks its pending question again."""
    loops = [e.get("name") for e in tracker.events if e.get("event") == "active_loop"]
    starts = [i for i, name in enumerate(loops) if name == FORM]
    if starts and starts[-1] > 0 and loops[starts[-1] - 1] in RESUMABLE_FORMS:
        return [SlotSet("requested_slot", None),
                SlotSet("handoff_resume", loops[starts[-1] - 1])]
    return [SlotSet("handoff_resume", None)]


class ActionCheckMisunderstandings(Action):
    """After a request to rephrase or an off-subject answer: was the message before
    also one? Then a rule offers a person. (Rules can't span two user messages.)"""

    def name(self) -> Text:
        return "action_check_misunderstandings"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        intents = [(e.get("parse_data") or {}).get("intent", {}).get("name")
                   for e in tracker.events if e.get("event") == "user"]
        return [SlotSet("handoff_offer_due", len(intents) >= 2 and intents[-2] in MISUNDERSTOOD)]


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> Text:
        return f"validate_{FORM}"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if not handoff_outbox.transports() or tracker.get_slot("handoff_confirmed") is False:
            return []  # nothing to ask: action_finish_handoff says whom to contact, or stops
        _, identity = channel_identity(tracker)
        return [s for s in domain_slots if not (identity and s == "handoff_email")]

    def extract_handoff_accepted(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        """An address given to the offer ("my email is bob@corp.example") is a yes and
        the address, checked by validate_handoff_email as if asked for."""
        text = tracker.latest_message.get("text") or ""
        if (tracker.get_slot("requested_slot") != "handoff_accepted" or text.startswith("/")
                or not ADDRESS_TOKEN.search(text)):
            return {}
        _, identity = channel_identity(tracker)
        return {"handoff_accepted": True, **({} if identity else {"handoff_email": text})}

    def validate_handoff_email(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("handoff_confirmed") is False:
            return {"handoff_email": None}  # "no" / "cancel": the form ends
        tokens = ADDRESS_TOKEN.findall(str(value or ""))
        try:
            if len(tokens) != 1:
                raise EmailNotValidError("not one address")
            address = validate_email(tokens[0], check_deliverability=False).normalized
        except EmailNotValidError:
            say(dispatcher, "invalid_email")
            return {"handoff_email": None}
        return {"handoff_email": address}

    def validate_handoff_project(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = one_line(value)
        if text.startswith("/") or text.lower().strip(" .!") in SKIP:
            return {"handoff_project": ""}  # skipped: "" is an answer, None would re-ask
        return {"handoff_project": text}


class AskHandoffQuestion(Action, ABC):
    """Asks one of the hand-off form's questions (wording in data/handoff.yml)."""

    message: Text = ""  # its key in data/handoff.yml

    @property
    @abstractmethod
    def slot(self) -> Text:
        """The slot asked for; abstract, so rasa_sdk registers no `action_ask_`."""

    def values(self, tracker: Tracker) -> Dict[Text, Any]:
        """What the message's {placeholders} are filled with."""
        return {}

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> List[EventType]:
        say(dispatcher, self.message, **self.values(tracker))
        return []


class AskHandoffAccepted(AskHandoffQuestion):
    """The offer, saying what would be sent."""

    slot, message = "handoff_accepted", "offer"

    def values(self, tracker: Tracker) -> Dict[Text, Any]:
        return {"what": what_is_sent(tracker)}


class AskHandoffEmail(AskHandoffQuestion):
    slot, message = "handoff_email", "ask_email"


class AskHandoffProject(AskHandoffQuestion):
    slot, message = "handoff_project", "ask_project"


class AskHandoffConfirmed(AskHandoffQuestion):
    slot, message = "handoff_confirmed", "confirm"

    def values(self, tracker: Tracker) -> Dict[Text, Any]:
        return {"contact": contact_of(tracker)}


class ActionFinishHandoff(Action):
    """Records and sends the hand-off (or says whom to contact, or that nothing was
    sent), forgets the hand-off's answers and goes back to an interrupted dialog."""

    def name(self) -> Text:
        return "action_finish_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        names = handoff_outbox.transports()
        resume = resume_events(tracker)
        if not names:
            contact = os.environ.get("HANDOFF_CONTACT")
            if contact:
                say(dispatcher, "unavailable", contact=contact)
            else:
                say(dispatcher, "no_contact")
        elif tracker.get_slot("handoff_confirmed") is not True:
            say(dispatcher, "cancelled")
        else:
            resuming = any(e.get("name") == "handoff_resume" and e.get("value") for e in resume)
            await self._send(dispatcher, tracker, names, go_on=not resuming)
        return [SlotSet(slot, None) for slot in (*HANDOFF_SLOTS, "handoff_offer_due")] + resume

    @staticmethod
    async def _send(dispatcher: CollectingDispatcher, tracker: Tracker,
                    names: List[Text], go_on: bool) -> None:
        contact = contact_of(tracker)
        try:
            box = outbox()
            ids = await asyncio.to_thread(box.add, handoff_content(tracker), names)
        except Exception:  # noqa: BLE001 - the user must not be told it is recorded
            logger.exception("Could not record a hand-off for %s.", tracker.sender_id)
            say(dispatcher, "failed")
            return
        if await _first_try(box, ids):
            # "Anything else?" only when no interrupted dialog asks its question next.
            say(dispatcher, "sent_go_on" if go_on else "sent", contact=contact)
        else:
            say(dispatcher, "recorded", contact=contact)


async def _first_try(box: handoff_outbox.Outbox, ids: List[int]) -> bool:
    """Whether the worker sent every row at its first try (False when one failed, or
    when no worker tried within FIRST_TRY_WAIT_SECONDS: it is recorded and will be sent)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FIRST_TRY_WAIT_SECONDS
    while True:
        try:
            sent = await asyncio.to_thread(box.outcome, ids)
        except Exception:  # noqa: BLE001 - recorded already; the worker sends it anyway
            logger.exception("Could not read the hand-off outbox.")
            return False
        if sent is not None or loop.time() > deadline:
            return bool(sent)
        await asyncio.sleep(FIRST_TRY_POLL_SECONDS)
