#!/usr/bin/env python3
"""Time per message of the tracker store alone: stock SQLTrackerStore vs stores/cached_sql.py.

    .venv/bin/python scripts/bench_tracker_store.py [--conversations 40] [--turns 10]

Each message is what the Rasa server does with the store: retrieve the conversation, add
one turn's events, save it. SQLite files in a temporary directory.
"""
import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered  # noqa: E402

from stores.cached_sql import CachedSQLTrackerStore  # noqa: E402


async def per_message(store, domain, conversations: int, turns: int):
    wall, cpu = time.perf_counter(), time.process_time()
    for conversation in range(conversations):
        for _ in range(turns):
            tracker = await store.get_or_create_tracker(f"c{conversation}")
            tracker.update_with_events([
                UserUttered("What is a MOOC?", {"name": "ask_definition", "confidence": 1.0}),
                ActionExecuted("action_answer_question"), SlotSet("format", "mooc"),
                ActionExecuted("action_listen")], domain)
            await store.save(tracker)
    n = conversations * turns
    return (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=40)
    ap.add_argument("--turns", type=int, default=10)
    args = ap.parse_args()
    domain = Domain.load(str(ROOT / "domain.yml"))
    with tempfile.TemporaryDirectory() as tmp:
        for store_class in (SQLTrackerStore, CachedSQLTrackerStore):
            store = store_class(domain, dialect="sqlite", db=f"{tmp}/{store_class.__name__}.db")
            wall, cpu = asyncio.run(per_message(store, domain, args.conversations, args.turns))
            print(f"{store_class.__name__:24} {wall:6.2f} ms wall, {cpu:6.2f} ms CPU per message")


if __name__ == "__main__":
    main()
