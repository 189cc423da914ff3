"""Summary tables kept in the tracker store's database, updated from the new rows of
Rasa's `events` table.

Why not query `events` per request: with 100,000 conversations it holds millions of
rows, and what a turn meant (did it get the fallback? which question of the dialog was
asked?) needs the events in order, conversation by conversation. So each refresh reads
only the rows after the last one it summarised (by primary key), walks them through a
small per-conversation state machine, and adds to per-day counters. A request then reads
a few hundred counter rows.

Tables (created on first use, next to `events`):
  insights_progress     the id of the last event summarised
  insights_daily        (day, metric, label) -> count, e.g. (2026-11-30, user_messages, web)
  insights_unanswered   (day, group, kind) -> count, last seen, id of the latest message
                        (its text is read from `events` when shown, never copied here)
  insights_senders      per conversation (sender id hashed): what the next events need,
                        e.g. the dialog's progress, the format discussed last

Several web servers may share one store: a refresh claims its rows by moving
insights_progress forward in the same transaction that writes the counters, so two
refreshes never count a row twice.
"""
import hashlib
import json
import re
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa

# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent): `action_name` holds
# the action's name for "action" events, the slot's for "slot" events, the loop's for
# "active_loop" events.
EVENTS = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"),
                  sa.column("timestamp"), sa.column("intent_name"), sa.column("action_name"),
                  sa.column("data"))

META = sa.MetaData()
PROGRESS = sa.Table("insights_progress", META,
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("last_event_id", sa.BigInteger, nullable=False))
DAILY = sa.Table("insights_daily", META,
                 sa.Column("day", sa.String(10), primary_key=True),
                 sa.Column("metric", sa.String(40), primary_key=True),
                 sa.Column("label", sa.String(200), primary_key=True),
                 sa.Column("count", sa.BigInteger, nullable=False))
UNANSWERED = sa.Table("insights_unanswered", META,
                      sa.Column("day", sa.String(10), primary_key=True),
                      sa.Column("group_key", sa.String(40), primary_key=True),
                      sa.Column("kind", sa.String(40), primary_key=True),
                      sa.Column("count", sa.BigInteger, nullable=False),
                      sa.Column("last_seen", sa.Float, nullable=False),
                      sa.Column("last_event_id", sa.BigInteger, nullable=False))
SENDERS = sa.Table("insights_senders", META,
                   sa.Column("sender_key", sa.String(40), primary_key=True),
                   sa.Column("day", sa.String(10), nullable=False, index=True),
                   sa.Column("state", sa.Text, nullable=False))

# The replies that leave a message unanswered (domain.yml, config.yml's fallback), by
# the action that sends them.
UNANSWERED_ACTIONS = {
    "action_default_fallback": "fallback",      # Rasa's core fallback (utter_default)
    "utter_default": "fallback",                # NLU fallback: "Could you rephrase?"
    "utter_out_of_scope": "off-subject",
    "utter_not_covered": "not in the article",
}
# action_answer_question's reply where the article is silent: the domain response it sends
# (utter_article_silent or utter_article_silent_offer), as Rasa records it in the bot event's
# metadata (json.dumps), whatever its wording.
SILENT_RESPONSE = '"utter_action": "utter_article_silent'
CANCEL_ACTION = "action_deactivate_loop"
# The slots whose values the summary follows.
SLOTS = ("format", "topic", "face_to_face", "requested_slot", "recommended_format")
FORM = "recommendation_form"

# Where a conversation came from: Rasa's input channel, and the chat page's sender ids
# ("web-" + random hex, web/public/widget.js) among REST ones.
CHANNELS = {"rest": "REST", "slack": "Slack", "botframework": "Teams", "cmdline": "shell"}
WEB_SENDER_PREFIX = "web-"

# Words left out when grouping similar messages ("what is the cost of a SPOC?" and
# "cost of a spoc" are one group).
STOPWORDS = set("""a an the is are was be what whats how do does did of to for in on at
i you me my we our it its can could would please tell about and or with this that there
""".split())

BATCH = 20_000
# A gap in event ids newer than this may be a transaction still being written
# (PostgreSQL hands out ids before commit): wait for it rather than skip it.
SETTLE_SECONDS = 30.0


def utc_day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


def channel_of(input_channel: Optional[str], sender_id: str) -> str:
    if input_channel == "rest" and sender_id.startswith(WEB_SENDER_PREFIX):
        return "web"
    return CHANNELS.get(input_channel or "", input_channel or "other")


def group_key(text: str) -> str:
    """Messages with the same words (leaving out the little ones) share a key."""
    plain = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain)
    kept = sorted(set(w for w in words if w not in STOPWORDS)) or sorted(set(words))
    return hashlib.sha1(" ".join(kept).encode()).hexdigest()[:40]


def sender_key(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode()).hexdigest()[:40]


def create_tables(engine: sa.engine.Engine) -> None:
    META.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if conn.execute(sa.select(PROGRESS.c.id)).first() is None:
            conn.execute(PROGRESS.insert(), {"id": 1, "last_event_id": 0})


class _Batch:
    """What one batch of events adds to the summary tables."""

    def __init__(self, format_names: Dict[str, str]) -> None:
        self.format_names = format_names
        self.daily: Counter = Counter()
        # (day, group, kind) -> [count, last_seen, last_event_id]
        self.unanswered: Dict[Tuple[str, str, str], List] = {}
        self._days: Dict[int, str] = {}

    def day(self, timestamp: float) -> str:
        n = int(timestamp // 86400)
        if n not in self._days:
            self._days[n] = utc_day(timestamp)
        return self._days[n]

    def add(self, day: str, metric: str, label: str) -> None:
        self.daily[(day, metric, label[:200])] += 1

    def mark_unanswered(self, state: dict, kind: str) -> None:
        turn = state.get("turn")
        if not turn or turn.get("hit"):
            return  # one count per message, whatever else the turn did
        turn["hit"] = True
        entry = self.unanswered.setdefault((turn["day"], turn["key"], kind), [0, 0.0, 0])
        entry[0] += 1
        entry[1], entry[2] = turn["ts"], turn["id"]

    def format_label(self, fmt: str, face_to_face: Any) -> str:
        name = self.format_names.get(fmt, fmt)
        # The recommender calls a SPOC with face-to-face sessions blended learning.
        return f"{name} (blended)" if fmt == "spoc" and face_to_face is True else name

    def apply(self, row: Any, state: dict) -> None:
        """One event of one conversation, in order."""
        kind, name = row.type_name, row.action_name
        ts = row.timestamp or 0.0
        if kind == "session_started":
            state["conv"] = False  # the next user message opens a conversation
            state.pop("run", None)
            state.pop("turn", None)
        elif kind == "user":
            self._user(row, state, ts)
        elif kind == "action":
            if name in UNANSWERED_ACTIONS:
                self.mark_unanswered(state, UNANSWERED_ACTIONS[name])
            elif name == CANCEL_ACTION and state.get("run") and not state["run"].get("closed"):
                self.add(self.day(ts), "funnel", "cancelled")
                state.pop("run")
        elif kind == "bot":
            if row.silent:
                self.mark_unanswered(state, "not in the article")
        elif kind == "slot":
            self._slot(row, state, ts)
        elif kind == "active_loop":
            run = state.get("run")
            if name == FORM and (not run or run.get("closed")):
                state["run"] = {"asked": [], "turns": 1}
                self.add(self.day(ts), "funnel", "started")
            elif name is None and run:
                run["closed"] = True  # a recommendation may follow in this turn

    def _user(self, row: Any, state: dict, ts: float) -> None:
        data = json.loads(row.data or "{}")
        day = self.day(ts)
        channel = channel_of(data.get("input_channel"), row.sender_id)
        if not state.get("conv"):
            state["conv"] = True
            self.add(day, "conversations", channel)
        self.add(day, "user_messages", channel)
        text = data.get("text") or ""
        state["turn"] = {"id": row.id, "ts": ts, "day": day, "key": group_key(text)}
        if state.get("run") and not state["run"].get("closed"):
            state["run"]["turns"] += 1
        intent = row.intent_name or ""
        entities = (data.get("parse_data") or {}).get("entities") or []
        named = list(dict.fromkeys(e.get("value") for e in entities
                                   if e.get("entity") == "format" and e.get("value")))
        if intent.startswith("ask_") and intent != "ask_not_covered" or intent == "inform_format":
            topic = intent[4:] if intent.startswith("ask_") else state.get("topic") or "definition"
            for fmt in named or [state.get("fmt") or ""]:
                self.add(day, "asks", f"{topic}|{self.format_names.get(fmt, fmt)}")
        elif intent == "compare_formats":
            label = " vs ".join(self.format_names.get(f, f) for f in named) if len(named) > 1 \
                else "the main formats"
            self.add(day, "comparisons", label)
        elif intent == "request_recommendation":
            self.add(day, "recommendation_requests", channel)

    def _slot(self, row: Any, state: dict, ts: float) -> None:
        name = row.action_name
        if name not in SLOTS:
            return
        value = json.loads(row.data or "{}").get("value")
        if name == "format":
            state["fmt"] = value
        elif name == "topic":
            state["topic"] = value
        elif name == "face_to_face":
            state["f2f"] = value
        elif name == "requested_slot":
            run = state.get("run")
            if run and value and not run.get("closed") and value not in run["asked"]:
                run["asked"].append(value)
                self.add(self.day(ts), "funnel", f"asked:{value}")
        elif value:  # recommended_format
            day = self.day(ts)
            self.add(day, "recommendations", self.format_label(value, state.get("f2f")))
            run = state.pop("run", None)
            if run:
                self.add(day, "funnel", "recommended")
                self.add(day, "turns_to_recommendation", str(run["turns"]))


# The new events, with `data` only where it is read (most rows need their names only).
_NEEDS_DATA = sa.or_(EVENTS.c.type_name == "user",
                     sa.and_(EVENTS.c.type_name == "slot", EVENTS.c.action_name.in_(SLOTS)))
_NEW_EVENTS = (
    sa.select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp,
              EVENTS.c.intent_name, EVENTS.c.action_name,
              sa.case((_NEEDS_DATA, EVENTS.c.data), else_=None).label("data"),
              sa.case((sa.and_(EVENTS.c.type_name == "bot",
                               EVENTS.c.data.like(f"%{SILENT_RESPONSE}%")), 1),
                      else_=0).label("silent"))
    .where(EVENTS.c.id > sa.bindparam("last_id")).order_by(EVENTS.c.id)
    .limit(sa.bindparam("batch")))


def _settled(rows: List[Any], last_id: int, now: float) -> List[Any]:
    """The rows up to the first recent gap in ids (see SETTLE_SECONDS)."""
    expected = last_id + 1
    for i, row in enumerate(rows):
        if row.id != expected and (row.timestamp or 0) > now - SETTLE_SECONDS:
            return rows[:i]
        expected = row.id + 1
    return rows


def _insert(conn: sa.engine.Connection, table: sa.Table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _upsert(conn: sa.engine.Connection, table: sa.Table, rows: List[dict],
            keys: Iterable[str], add: Iterable[str] = (), replace: Iterable[str] = ()) -> None:
    if not rows:
        return
    stmt = _insert(conn, table)
    set_ = {c: table.c[c] + stmt.excluded[c] for c in add}
    set_.update({c: stmt.excluded[c] for c in replace})
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_), rows)


def _load_states(conn: sa.engine.Connection, keys: List[str]) -> Dict[str, dict]:
    states: Dict[str, dict] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        for key, state in conn.execute(sa.select(SENDERS.c.sender_key, SENDERS.c.state)
                                       .where(SENDERS.c.sender_key.in_(chunk))):
            states[key] = json.loads(state)
    return states


def refresh(engine: sa.engine.Engine, format_names: Dict[str, str], days_kept: int,
            budget_seconds: float = 1.0, batch: int = BATCH) -> bool:
    """Summarises new events for up to about `budget_seconds`; True when up to date."""
    deadline = time.monotonic() + budget_seconds
    while True:
        done = _refresh_batch(engine, format_names, days_kept, batch)
        if done or time.monotonic() >= deadline:
            return done


def _refresh_batch(engine: sa.engine.Engine, format_names: Dict[str, str], days_kept: int,
                   batch: int) -> bool:
    with engine.connect() as conn:
        last_id = conn.execute(sa.select(PROGRESS.c.last_event_id)).scalar() or 0
        rows = conn.execute(_NEW_EVENTS, {"last_id": last_id, "batch": batch}).fetchall()
        full = len(rows) == batch
        rows = _settled(rows, last_id, time.time())
        if not rows:
            return True
        by_sender: Dict[str, List[Any]] = defaultdict(list)
        for row in rows:
            by_sender[row.sender_id].append(row)
        keys = {sender: sender_key(sender) for sender in by_sender}
        states = _load_states(conn, list(keys.values()))

    summary = _Batch(format_names)
    for sender, events in by_sender.items():
        state = states.setdefault(keys[sender], {})
        for row in events:
            summary.apply(row, state)
            state["day"] = summary.day(row.timestamp or 0.0)

    with engine.begin() as conn:
        # Claim the rows first: a concurrent refresh of the same rows updates nothing here
        # (and rolls back), so no row is counted twice.
        claimed = conn.execute(PROGRESS.update().where(PROGRESS.c.last_event_id == last_id)
                               .values(last_event_id=rows[-1].id)).rowcount
        if claimed != 1:
            raise _Conflict()
        _upsert(conn, DAILY, [{"day": d, "metric": m, "label": l, "count": n}
                              for (d, m, l), n in summary.daily.items()],
                ("day", "metric", "label"), add=("count",))
        _upsert(conn, UNANSWERED,
                [{"day": d, "group_key": g, "kind": k, "count": n, "last_seen": seen,
                  "last_event_id": event_id}
                 for (d, g, k), (n, seen, event_id) in summary.unanswered.items()],
                ("day", "group_key", "kind"), add=("count",),
                replace=("last_seen", "last_event_id"))
        _upsert(conn, SENDERS, [{"sender_key": k, "day": s.pop("day"), "state": json.dumps(s)}
                                for k, s in states.items()],
                ("sender_key",), replace=("day", "state"))
        prune(conn, days_kept)
    return not full


class _Conflict(Exception):
    """Another process summarised these rows first."""


def refresh_quietly(engine: sa.engine.Engine, format_names: Dict[str, str], days_kept: int,
                    budget_seconds: float = 1.0, batch: int = BATCH) -> bool:
    """refresh(), where another process refreshing at the same time is not an error."""
    try:
        return refresh(engine, format_names, days_kept, budget_seconds, batch)
    except _Conflict:
        return False
    except sa.exc.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e).lower():  # SQLite: another writer
            return False
        raise


def prune(conn: sa.engine.Connection, days_kept: int) -> None:
    """Deletes figures (and conversation states) older than `days_kept` days."""
    cutoff = utc_day(time.time() - days_kept * 86400)
    for table in (DAILY, UNANSWERED, SENDERS):
        conn.execute(table.delete().where(table.c.day < cutoff))
