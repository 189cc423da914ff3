"""Rows of Rasa's `events` table, written as Rasa's SQLTrackerStore writes them, for the
insights tests and the benchmark (scripts/bench_insights.py)."""
import json
import uuid
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

EVENTS_TABLE = SQLTrackerStore.SQLEvent.__table__


def create_events_table(engine: sa.engine.Engine) -> None:
    """The table (and its index on sender_id) exactly as Rasa creates it."""
    SQLTrackerStore.SQLEvent.metadata.create_all(engine, tables=[EVENTS_TABLE])


def insert(engine: sa.engine.Engine, rows: Iterable[Dict[str, Any]]) -> None:
    rows = list(rows)
    with engine.begin() as conn:
        for i in range(0, len(rows), 10_000):
            conn.execute(EVENTS_TABLE.insert(), rows[i:i + 10_000])


class Conversation:
    """Builds one sender's events in order, one second apart."""

    def __init__(self, sender: str, start: float, channel: str = "rest") -> None:
        self.sender, self.ts, self.channel = sender, start, channel
        self.rows: List[Dict[str, Any]] = []
        self.session()

    def _add(self, data: Dict[str, Any], intent: Optional[str] = None) -> "Conversation":
        self.ts += 1.0
        data = {"event": data.pop("event"), "timestamp": self.ts, **data}
        self.rows.append({"sender_id": self.sender, "type_name": data["event"],
                          "timestamp": self.ts, "intent_name": intent,
                          "action_name": data.get("name"), "data": json.dumps(data)})
        return self

    def session(self, at: Optional[float] = None) -> "Conversation":
        if at is not None:
            self.ts = at
        self.action("action_session_start")
        self._add({"event": "session_started"})
        return self.action("action_listen")

    def user(self, text: str, intent: str, formats: Iterable[str] = ()) -> "Conversation":
        entities = [{"entity": "format", "value": f, "start": 0, "end": 1,
                     "extractor": "RegexEntityExtractor"} for f in formats]
        message_id = uuid.uuid4().hex
        parse = {"intent": {"name": intent, "confidence": 0.93}, "entities": entities,
                 "text": text, "message_id": message_id, "metadata": {},
                 "intent_ranking": [{"name": intent, "confidence": 0.93},
                                    {"name": "out_of_scope", "confidence": 0.04},
                                    {"name": "greet", "confidence": 0.03}]}
        return self._add({"event": "user", "metadata": {}, "text": text, "parse_data": parse,
                          "input_channel": self.channel, "message_id": message_id}, intent)

    def action(self, name: str) -> "Conversation":
        return self._add({"event": "action", "metadata": {}, "name": name, "policy": "RulePolicy",
                          "confidence": 1.0, "action_text": None, "hide_rule_turn": False})

    def bot(self, text: str, utter_action: Optional[str] = None) -> "Conversation":
        metadata = {"utter_action": utter_action} if utter_action else {}
        return self._add({"event": "bot", "metadata": metadata, "text": text,
                          "data": {"elements": None, "quick_replies": None, "buttons": None,
                                   "attachment": None, "image": None, "custom": None}})

    def slot(self, name: str, value: Any) -> "Conversation":
        return self._add({"event": "slot", "name": name, "value": value})

    def loop(self, name: Optional[str]) -> "Conversation":
        return self._add({"event": "active_loop", "name": name})

    def reply(self, action: str, text: str) -> "Conversation":
        """A response (utter_*) or a custom action's message, then waiting for the user."""
        self.action(action)
        self.bot(text, action if action.startswith("utter_") else None)
        return self.action("action_listen")
