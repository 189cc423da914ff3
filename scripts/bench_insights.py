#!/usr/bin/env python3
"""Benchmark of the insights (docs/insights.md): a tracker store with 100,000 conversations.

    .venv/bin/python scripts/bench_insights.py [--conversations 100000] [--keep DIR]

1. Writes an SQLite tracker store (Rasa's `events` table) with N conversations spread
   over the last 30 days: questions, follow-ups, comparisons, guided dialogs (finished and
   stopped), fallbacks, off-subject and "the article doesn't say" replies, on all channels.
2. Starts web/app.py on it, as `make run` does, and times the first summary (the
   server's background thread catches up on its own).
3. Times /insights.json and /insights (median and worst of 5), then again after 1,000 new
   conversations arrive (each request first summarises the new events).
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from devstack.insights_events import EVENTS_TABLE, Conversation, create_events_table  # noqa: E402
from devstack import free_port  # noqa: E402

DAY = 86400.0
FORMATS = ["mooc", "cooc", "cooc_internal", "cooc_external", "spoc"]
TOPICS = ["definition", "goals", "audience", "group_size", "content", "duration", "rewards",
          "cost", "history", "pronunciation"]
QUESTIONS = ["audience", "learners", "goal", "coaching", "face_to_face", "own_resources",
             "open_to_all"]
CHANNELS = [("rest", "web-", 50), ("rest", "api-", 15), ("slack", "U", 15),
            ("botframework", "29:", 15), ("cmdline", "shell-", 5)]
SILENT = "Sorry, I don't know: the article I learned from doesn't say how much it costs."


def unanswered_texts(rng: random.Random, n: int = 3000):
    words = ("can I get a certificate in French | do you have a podcast | what is the weather "
             "| who invented the internet | price in euros | is there a mobile app | how do I "
             "log in | where is my badge | can my manager see my score | translate to German").split(" | ")
    return [f"{rng.choice(words)} {i % 97}" for i in range(n)]


def conversation(i: int, start: float, rng: random.Random, pool) -> Conversation:
    channel, prefix, _ = rng.choices(CHANNELS, weights=[c[2] for c in CHANNELS])[0]
    conv = Conversation(f"{prefix}{i:08x}", start, channel)
    kind = rng.random()
    if kind < 0.45:  # questions and follow-ups
        for _ in range(rng.randint(1, 4)):
            fmt, topic = rng.choice(FORMATS), rng.choice(TOPICS)
            conv.user(f"what about the {topic} of a {fmt}?", f"ask_{topic}",
                      [fmt] if rng.random() < 0.7 else [])
            conv.action("action_answer_question")
            conv.bot(SILENT if rng.random() < 0.1 else "An answer from the article.")
            conv.slot("topic", topic).slot("format", fmt).action("action_listen")
    elif kind < 0.70:  # the guided dialog, finished or stopped
        conv.user("/request_recommendation", "request_recommendation")
        conv.action("recommendation_form").loop("recommendation_form")
        conv.slot("requested_slot", "audience").reply("action_ask_audience", "Who is it for?")
        stop_at = rng.randint(1, 7) if rng.random() < 0.2 else None
        for n, slot in enumerate(QUESTIONS, 1):
            conv.user("an answer", "inform").action("recommendation_form")
            conv.slot(slot, rng.choice([True, False]) if slot == "face_to_face" else "x")
            if n < len(QUESTIONS):
                conv.slot("requested_slot", QUESTIONS[n])
                conv.reply(f"action_ask_{QUESTIONS[n]}", "Next question?")
            if n == stop_at:
                conv.user("stop", "cancel").action("action_deactivate_loop").loop(None)
                conv.slot("requested_slot", None).reply("utter_recommendation_paused", "Stopped.")
                break
        else:
            fmt = rng.choice(["mooc", "cooc_internal", "cooc_external", "spoc"])
            conv.loop(None).slot("requested_slot", None).action("action_recommend")
            conv.bot("I recommend ...").slot("recommended_format", fmt).slot("format", fmt)
            conv.action("action_listen")
    elif kind < 0.80:  # comparisons
        named = rng.sample(FORMATS, rng.choice([0, 2]))
        conv.user("compare them", "compare_formats", named).reply("action_compare_formats", "...")
    else:  # unanswered, then a question
        text = pool[min(int(rng.paretovariate(1.2)) - 1, len(pool) - 1)]
        reply = rng.choice(["utter_default", "utter_out_of_scope", "utter_not_covered"])
        conv.user(text, "nlu_fallback").reply(reply, "Sorry ...")
        conv.user("What is a SPOC?", "ask_definition", ["spoc"])
        conv.reply("action_answer_question", "A SPOC is ...")
    return conv


def write_store(path: Path, count: int, seed: int, days: float = 30, first: int = 0,
                end: float = None) -> int:
    """Appends `count` conversations to the store; returns the number of events."""
    rng = random.Random(seed)
    pool = unanswered_texts(random.Random(1))
    end = end or time.time() - 60
    starts = sorted(end - rng.random() * days * DAY for _ in range(count))
    engine = sa.create_engine(f"sqlite:///{path}")
    create_events_table(engine)
    columns = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")
    sql = f"INSERT INTO events ({', '.join(columns)}) VALUES (?, ?, ?, ?, ?, ?)"
    raw = engine.raw_connection()
    total = 0
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        batch = []
        for i, start in enumerate(starts, first):
            batch += [tuple(row[c] for c in columns)
                      for row in conversation(i, start, rng, pool).rows]
            if len(batch) > 50_000:
                cursor.executemany(sql, batch)
                total += len(batch)
                batch = []
        cursor.executemany(sql, batch)
        total += len(batch)
        raw.commit()
    finally:
        raw.close()
    assert EVENTS_TABLE.name == "events"
    return total


def timed_get(url: str, headers=None) -> float:
    started = time.perf_counter()
    answer = requests.get(url, timeout=120, headers=headers)
    answer.raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--keep", help="folder to keep the store in (default: a temporary one)")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-insights-"))
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "tracker.db"
    if store.exists():
        store.unlink()
    endpoints = folder / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: stores.cached_sql.CachedSQLTrackerStore\n"
                         f"  dialect: sqlite\n  db: {store}\n")

    started = time.perf_counter()
    events = write_store(store, args.conversations, seed=42)
    print(f"store: {args.conversations:,} conversations, {events:,} events, "
          f"{store.stat().st_size / 2**20:.0f} MB, written in {time.perf_counter() - started:.0f} s",
          flush=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INSIGHTS_ENDPOINTS": str(endpoints)}
    env.pop("INSIGHTS_TOKEN", None)
    log = open(folder / "web.log", "ab")
    server = subprocess.Popen([sys.executable, str(ROOT / "web" / "app.py"), "--port", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        started = time.perf_counter()
        while True:
            try:
                if requests.get(url + "/insights.json", timeout=120).json().get("up_to_date"):
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        print(f"first summary of the whole store (once): {time.perf_counter() - started:.0f} s",
              flush=True)
        report(url, "at 100k" if args.conversations == 100_000 else f"at {args.conversations:,}")
        for _ in range(3):
            extra = write_store(store, 1000, seed=1000 + _, days=0.001,
                                first=args.conversations + 10_000_000 * (_ + 1))
            seconds = timed_get(url + "/insights.json")
            print(f"/insights.json just after 1,000 new conversations ({extra:,} events): "
                  f"{seconds * 1000:.0f} ms", flush=True)
        data = requests.get(url + "/insights.json", timeout=120).json()
        print(f"figures: {data['conversations']:,} conversations, {data['user_messages']:,} "
              f"messages, {data['unanswered_messages']:,} unanswered in "
              f"{data['unanswered_groups']:,} groups, recommendations {data['recommendations']}")
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def report(url: str, label: str) -> None:
    for path in ("/insights.json", "/insights.json?days=90", "/insights", "/insights.csv?table=unanswered"):
        times = [timed_get(url + path) for _ in range(5)]
        print(f"{path} {label}: median {statistics.median(times) * 1000:.0f} ms, "
              f"worst {max(times) * 1000:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
