"""Rasa's SQL tracker store, keeping the latest conversations' events in memory.

Why stock Rasa falls short (Rasa 3.6.21, profiled with py-spy under scripts/bench.py):
on every message `SQLTrackerStore` reads all the conversation's events back as JSON,
rebuilds an Event object from each (`deserialise_events`), and before saving counts the
stored events again to find the new ones. That was about a third of the Rasa server's
CPU per message, more than intent classification.

This store keeps, per conversation, the events it last read or wrote and the id of the
last stored row. A message then costs one indexed `max(id)` query: when the id is
unchanged, the tracker is rebuilt from the kept events; when it changed (another Rasa
process wrote to the conversation, e.g. a second Sanic worker or replica), the events are
read from the database as before. Saving inserts only the events after the kept ones.
The database stays the one source of truth; a new conversation session (whose events
Rasa filters by timestamp) drops the kept copy. New events are written with one
multi-row insert instead of one ORM object each.

Saving never drops an event, even if two processes hold one conversation at once (which
the lock store should prevent, see stores/redis_lock.py and issue 16). Stock Rasa saves
"the tracker's events after the number already stored": a writer whose tracker is stale
(another wrote meanwhile) has its new events cut off. Here every tracker this store hands
out is marked with the last event it read or saved (the object itself), and a save
inserts exactly the events after that mark, whatever the database holds by then. A
tracker without a mark (one built elsewhere, e.g. by the HTTP API) is compared with the
stored rows by event identity (type, timestamp, action, intent), never by count. When
the database changed under a writer, the kept copy is dropped and a warning logged.

Measured with scripts/bench_tracker_store.py (ten-message conversations, retrieve + save
per message): 9.5-9.9 ms per message with the stock store, 2.0-2.9 ms with this one.

Rasa builds this store in every Rasa process the project starts: its constructor applies
the project's fixes to Rasa (patches/rasa36.py); importing this module applies nothing.
"""
import json
import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from patches import rasa36

logger = logging.getLogger(__name__)


@dataclass
class _Kept:
    last_id: Optional[int]
    events: List[Event]


@dataclass
class _Mark:
    """Set on each tracker handed out: its last event stored, and the conversation's last
    row id when it was read or saved."""
    last_event: Optional[Event]
    last_id: Optional[int]


_MARK = "_cached_sql_mark"
_EVENTS = SQLTrackerStore.SQLEvent.__table__
# A Core statement built once (SQLAlchemy caches its compiled form), not an ORM query.
_LAST_ID = sa.select(sa.func.max(_EVENTS.c.id)).where(
    _EVENTS.c.sender_id == sa.bindparam("sender_id"))


class CachedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, cache_size: int = 1000, **kwargs: Any) -> None:
        # Rasa builds its tracker store with this constructor in every Rasa process this
        # project starts (endpoints.yml), before the first message: the place to fix Rasa.
        rasa36.apply()
        super().__init__(*args, **kwargs)
        self._kept: "OrderedDict[Text, _Kept]" = OrderedDict()
        self._cache_size = int(cache_size)
        if self.engine.dialect.name == "sqlite":
            self._use_one_sqlite_connection()
        else:
            self._pre_ping_connections()

    def _pre_ping_connections(self) -> None:
        """Stock Rasa's pool hands out connections broken by a database restart (one
        failed message per stale connection): test each one when it is taken from the
        pool. Also keeps Rasa's pool settings, which its `login_db` path drops."""
        engine = sa.create_engine(self.engine.url, pool_pre_ping=True,
                                  **create_engine_kwargs(self.engine.url))
        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)

    def _use_one_sqlite_connection(self) -> None:
        """SQLAlchemy 1.4 opens and closes a SQLite file per operation (re-reading the
        schema, fsyncing each commit). One process serves messages on one thread, so
        it keeps one connection, in WAL mode with synchronous=NORMAL: commits no longer
        wait for the disk, and a crash of the machine loses at most the last messages,
        never the database (https://www.sqlite.org/wal.html)."""
        engine = sa.create_engine(self.engine.url, poolclass=sa.pool.StaticPool,
                                  connect_args={"check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            last_id = self._last_id(session, sender_id)
        kept = self._kept.get(sender_id)
        if kept and kept.last_id == last_id and self.domain:
            self._kept.move_to_end(sender_id)
            tracker = DialogueStateTracker.from_events(sender_id, kept.events,
                                                       self.domain.slots, self.max_event_history)
            return self._marked(tracker, last_id)
        tracker = await super().retrieve(sender_id)
        if tracker is None:
            self._kept.pop(sender_id, None)
            return None
        self._keep(sender_id, _Kept(last_id, list(tracker.events)))
        return self._marked(tracker, last_id)

    async def retrieve_full_tracker(self, conversation_id: Text
                                    ) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            last_id = self._last_id(session, conversation_id)
        tracker = await super().retrieve_full_tracker(conversation_id)
        return self._marked(tracker, last_id) if tracker is not None else None

    async def create_tracker(self, sender_id: Text,
                             append_action_listen: bool = True) -> DialogueStateTracker:
        tracker = self.init_tracker(sender_id)
        self._marked(tracker, None)  # nothing of it is stored yet
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await self.save(tracker)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        kept = self._kept.pop(sender_id, None)
        events = list(tracker.events)
        mark: Optional[_Mark] = tracker.__dict__.get(_MARK)
        new_events = self._after(mark, events)
        await self.stream_events(tracker)
        with self.session_scope() as session:
            before = self._last_id(session, sender_id)
            if new_events is None:  # a tracker built elsewhere: compare with the rows
                new_events = self._not_stored(session, sender_id, events)
            if new_events:
                session.execute(_EVENTS.insert(),
                                [self._row(sender_id, event) for event in new_events])
                last_id = self._last_id(session, sender_id)
            else:
                last_id = before
            session.commit()
        self._marked(tracker, last_id)
        if mark is not None and before != mark.last_id:
            logger.warning(
                f"Conversation '{sender_id}' was written by another process while this one "
                f"handled it (is the lock store shared by all Rasa processes?). This "
                f"message's {len(new_events)} events are stored after the other's.")
            return  # the kept copy lacks the other's events: read them next time
        if (kept is not None and mark is not None and kept.last_id == mark.last_id
                and self._continues(kept, events)
                and not any(isinstance(event, SessionStarted) for event in new_events)):
            self._keep(sender_id, _Kept(last_id, events))

    @staticmethod
    def _marked(tracker: DialogueStateTracker, last_id: Optional[int]
                ) -> DialogueStateTracker:
        events = tracker.events
        tracker.__dict__[_MARK] = _Mark(events[-1] if events else None, last_id)
        return tracker

    @staticmethod
    def _after(mark: Optional[_Mark], events: List[Event]) -> Optional[List[Event]]:
        """The events after the mark (found by identity), or None without a mark."""
        if mark is None:
            return None
        if mark.last_event is None:
            return events
        for i in range(len(events) - 1, -1, -1):
            if events[i] is mark.last_event:
                return events[i + 1:]
        return None  # e.g. cut by max_event_history: compare with the rows instead

    def _not_stored(self, session: Any, sender_id: Text,
                    events: List[Event]) -> List[Event]:
        """The events that are not among the conversation's stored rows (by identity)."""
        if not events:
            return []
        since = min((e.timestamp for e in events if e.timestamp is not None), default=None)
        query = sa.select(_EVENTS.c.type_name, _EVENTS.c.timestamp, _EVENTS.c.action_name,
                          _EVENTS.c.intent_name).where(_EVENTS.c.sender_id == sender_id)
        if since is not None:
            query = query.where(_EVENTS.c.timestamp >= since)
        stored = Counter(tuple(row) for row in session.execute(query))
        new_events = []
        for event in events:
            row = self._row(sender_id, event)
            key = (row["type_name"], row["timestamp"], row["action_name"], row["intent_name"])
            if stored[key] > 0:
                stored[key] -= 1
            else:
                new_events.append(event)
        return new_events

    @staticmethod
    def _continues(kept: Optional[_Kept], events: List[Event]) -> bool:
        """True when `events` are the kept events (the same objects) plus new ones."""
        if kept is None or len(events) < len(kept.events):
            return False
        return not kept.events or events[len(kept.events) - 1] is kept.events[-1]

    def _last_id(self, session: Any, sender_id: Text) -> Optional[int]:
        return session.execute(_LAST_ID, {"sender_id": sender_id}).scalar()

    @staticmethod
    def _row(sender_id: Text, event: Event) -> Dict[Text, Any]:
        """The database row of an event, as `SQLTrackerStore.save` writes it."""
        data = event.as_dict()
        return {"sender_id": sender_id, "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data)}

    def _keep(self, sender_id: Text, kept: _Kept) -> None:
        self._kept[sender_id] = kept
        self._kept.move_to_end(sender_id)
        while len(self._kept) > self._cache_size:
            self._kept.popitem(last=False)
