"""The cached SQL tracker store returns what Rasa's SQL tracker store returns, even when
another process writes to the same conversation."""
import asyncio
import json
import sqlite3

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, SessionStarted, SlotSet, UserUttered)

from stores.cached_sql import CachedSQLTrackerStore

DOMAIN = Domain.load("domain.yml")


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "tracker.db")


def stores(db):
    """This project's store and a stock one (another Rasa process) on the same database."""
    return (CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db),
            SQLTrackerStore(DOMAIN, dialect="sqlite", db=db))


def turn(text, slot_value=None):
    events = [UserUttered(text, {"name": "ask_definition", "confidence": 1.0}),
              ActionExecuted("action_answer_question")]
    if slot_value:
        events.append(SlotSet("format", slot_value))
    return events + [ActionExecuted("action_listen")]


def say(store, sender, text, slot_value=None):
    tracker = run(store.get_or_create_tracker(sender))
    tracker.update_with_events(turn(text, slot_value), DOMAIN)
    run(store.save(tracker))


def stored_rows(db, sender):
    with sqlite3.connect(db) as connection:
        return connection.execute("select count(*) from events where sender_id = ?",
                                  (sender,)).fetchone()[0]


def dialogue(tracker):
    return [event.as_dict() for event in tracker.events]


def test_a_conversation_reads_back_as_stock_rasa_reads_it(db, monkeypatch):
    cached, stock = stores(db)
    reads = []
    stock_read = SQLTrackerStore._retrieve
    monkeypatch.setattr(SQLTrackerStore, "_retrieve",
                        lambda self, *args, **kwargs: reads.append(args) or stock_read(self, *args, **kwargs))
    for i, value in enumerate(["mooc", None, "spoc", None]):
        say(cached, "alice", f"question {i}", value)
    # Events are read from the database once (the second turn), then kept.
    assert len(reads) == 2
    ours = run(cached.retrieve("alice"))
    assert dialogue(ours) == dialogue(run(stock.retrieve("alice")))
    assert ours.get_slot("format") == "spoc"
    # Each event was stored once: only the new events of a turn are inserted.
    assert stored_rows(db, "alice") == len(ours.events)


def test_messages_written_by_another_process_are_seen(db):
    cached, other_worker = stores(db)
    say(cached, "bob", "first", "mooc")
    say(other_worker, "bob", "second", "cooc")
    tracker = run(cached.retrieve("bob"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["first", "second"]
    assert tracker.get_slot("format") == "cooc"
    say(cached, "bob", "third")
    assert stored_rows(db, "bob") == len(run(other_worker.retrieve("bob")).events)


def test_a_new_session_reads_back_only_the_new_session(db):
    cached, stock = stores(db)
    say(cached, "carol", "before", "mooc")
    tracker = run(cached.retrieve("carol"))
    tracker.update_with_events([ActionExecuted("action_session_start"), SessionStarted(),
                                ActionExecuted("action_listen")], DOMAIN)
    run(cached.save(tracker))
    say(cached, "carol", "after")
    ours = run(cached.retrieve("carol"))
    assert dialogue(ours) == dialogue(run(stock.retrieve("carol")))
    assert "before" not in [getattr(e, "text", None) for e in ours.events]


def test_an_unknown_conversation_is_none_and_conversations_stay_apart(db):
    cached, _ = stores(db)
    assert run(cached.retrieve("nobody")) is None
    say(cached, "dave", "hello", "spoc")
    say(cached, "erin", "hi", "mooc")
    assert run(cached.retrieve("dave")).get_slot("format") == "spoc"
    assert run(cached.retrieve("erin")).get_slot("format") == "mooc"


def test_the_cache_is_bounded(db):
    cached = CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db, cache_size=2)
    for sender in ("a", "b", "c"):
        say(cached, sender, "hello")
        say(cached, sender, "again")
    assert len(cached._kept) == 2
    assert run(cached.retrieve("a")) is not None  # read from the database again


def user_texts(db, sender):
    with sqlite3.connect(db) as connection:
        rows = connection.execute("select data from events where sender_id = ? and "
                                  "type_name = 'user' order by id", (sender,)).fetchall()
    return [json.loads(data)["text"] for (data,) in rows]


@pytest.mark.parametrize("same_process", [True, False])
def test_two_writers_with_a_stale_view_lose_nothing(db, same_process):
    """Defence in depth (issue 16): if the lock store ever let two holders in, the second
    save still stores its turn (stock Rasa's count-based save drops it)."""
    first = CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    second = first if same_process else CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    say(first, "frank", "opening")
    say(second, "frank", "warm-up")  # both have the conversation kept
    a = run(first.retrieve("frank"))
    b = run(second.retrieve("frank"))
    a.update_with_events(turn("from A", "mooc"), DOMAIN)  # 4 events
    b.update_with_events(turn("from B"), DOMAIN)  # 3 events: stock would store none
    run(first.save(a))
    run(second.save(b))
    assert user_texts(db, "frank") == ["opening", "warm-up", "from A", "from B"]
    # Both stores now read the conversation as the database holds it, once each event.
    for store in (first, second):
        tracker = run(store.retrieve("frank"))
        assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
            "opening", "warm-up", "from A", "from B"]
        assert len(tracker.events) == stored_rows(db, "frank")
    say(first, "frank", "after")
    assert user_texts(db, "frank")[-1] == "after"
    assert stored_rows(db, "frank") == len(run(second.retrieve("frank")).events)


def test_a_tracker_built_elsewhere_is_saved_by_identity_not_by_count(db):
    cached, stock = stores(db)
    say(cached, "gina", "one")
    say(cached, "gina", "two")
    stored = run(stock.retrieve("gina"))
    # A tracker not handed out by this store (e.g. the HTTP API's): its stored events
    # are recognised, only the unknown one is added, even though it is shorter.
    from rasa.shared.core.trackers import DialogueStateTracker
    events = [e for e in stored.events if not (isinstance(e, UserUttered) and e.text == "two")]
    tracker = DialogueStateTracker.from_events("gina", events, DOMAIN.slots)
    tracker.update_with_events(turn("three"), DOMAIN)
    run(cached.save(tracker))
    assert user_texts(db, "gina") == ["one", "two", "three"]
    run(cached.save(tracker))  # saved again: nothing new, nothing duplicated
    assert user_texts(db, "gina") == ["one", "two", "three"]
