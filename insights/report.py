"""The figures of a window of days, from the summary tables (insights/summary.py)."""
import csv
import io
import json
import statistics
import time
from collections import defaultdict
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
import yaml

from insights.summary import DAILY, EVENTS, UNANSWERED, utc_day

ROOT = Path(__file__).resolve().parents[1]
UNANSWERED_LIMIT = 200
NO_FORMAT = "no format named"

# What the team edits for each kind of unanswered message (docs/insights.md).
TO_EDIT = {
    "fallback": "data/nlu/*.yml: add the message as an example of the intent it meant",
    "off-subject": "data/nlu/off_subject.yml, or subject_words in config.yml if it was "
                   "about training",
    "not in the article": "data/knowledge.yml, only if the article does say it",
}


@lru_cache(maxsize=1)
def format_names() -> Dict[str, str]:
    """Format ids to the names people read (data/knowledge.yml)."""
    data = yaml.safe_load((ROOT / "data" / "knowledge.yml").read_text(encoding="utf-8"))
    return {fmt: info["name"] for fmt, info in data["formats"].items()}


@lru_cache(maxsize=1)
def form_questions() -> List[str]:
    """The guided dialog's questions (slots), in the order it asks them (domain.yml)."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return list(domain["forms"]["recommendation_form"]["required_slots"])


def window_days(days: int, today: Optional[date] = None) -> List[str]:
    today = today or date.fromisoformat(utc_day(time.time()))
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def build(engine: sa.engine.Engine, days: int, keep_texts: bool = True,
          up_to_date: bool = True) -> Dict[str, Any]:
    """Everything the page shows for the last `days` days (UTC, today included)."""
    day_list = window_days(days)
    since = day_list[0]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(DAILY.c.day, DAILY.c.metric, DAILY.c.label, DAILY.c.count)
            .where(DAILY.c.day >= since)).fetchall()
        unanswered, unanswered_total, groups = _unanswered(conn, since, keep_texts)

    per_day: Dict[str, Dict[str, Dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    totals: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, metric, label, count in rows:
        per_day[metric][label][day] = per_day[metric][label].get(day, 0) + count
        totals[metric][label] += count

    def series(metric: str) -> Dict[str, List[int]]:
        return {label: [by_day.get(d, 0) for d in day_list]
                for label, by_day in sorted(per_day[metric].items())}

    asks: Dict[str, Dict[str, int]] = defaultdict(dict)
    for label, count in totals["asks"].items():
        topic, fmt = label.split("|", 1)
        asks[topic][fmt or NO_FORMAT] = count

    turns = [int(t) for t, n in totals["turns_to_recommendation"].items() for _ in range(n)]
    funnel = [{"step": "started", "count": totals["funnel"].get("started", 0)}]
    funnel += [{"step": f"asked {slot}", "count": totals["funnel"].get(f"asked:{slot}", 0)}
               for slot in form_questions()]
    funnel += [{"step": step, "count": totals["funnel"].get(step, 0)}
               for step in ("recommended", "cancelled")]
    user_messages = sum(totals["user_messages"].values())
    return {
        "days": days,
        "from": since,
        "to": day_list[-1],
        "up_to_date": up_to_date,
        "conversations": sum(totals["conversations"].values()),
        "user_messages": user_messages,
        "unanswered_messages": unanswered_total,
        "recommendation_requests": sum(totals["recommendation_requests"].values()),
        "recommendations": dict(sorted(totals["recommendations"].items(),
                                       key=lambda kv: (-kv[1], kv[0]))),
        "by_channel": {ch: {"conversations": totals["conversations"].get(ch, 0),
                            "user_messages": totals["user_messages"].get(ch, 0)}
                       for ch in sorted(set(totals["conversations"]) | set(totals["user_messages"]))},
        "per_day": {"days": day_list,
                    "conversations": series("conversations"),
                    "user_messages": series("user_messages")},
        "asks": {topic: dict(sorted(by_format.items())) for topic, by_format in sorted(asks.items())},
        "comparisons": dict(sorted(totals["comparisons"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "funnel": funnel,
        "median_turns_to_recommendation": statistics.median(turns) if turns else None,
        "unanswered": unanswered,
        "unanswered_groups": groups,
        "texts_shown": keep_texts,
    }


def _unanswered(conn: sa.engine.Connection, since: str, keep_texts: bool):
    """The most frequent groups of unanswered messages, all such messages, all groups."""
    # PostgreSQL sums a bigint to a numeric (a Decimal in Python, which JSON refuses).
    count = sa.cast(sa.func.sum(UNANSWERED.c.count), sa.BigInteger).label("n")
    if not keep_texts:  # counts by kind of reply only
        rows = conn.execute(sa.select(UNANSWERED.c.kind, count,
                                      sa.func.max(UNANSWERED.c.last_seen))
                            .where(UNANSWERED.c.day >= since)
                            .group_by(UNANSWERED.c.kind).order_by(count.desc())).fetchall()
        shown = [{"text": "(texts not kept: INSIGHTS_TEXTS=off)", "kind": kind, "count": n,
                  "last_seen": utc_day(seen), "edit": TO_EDIT.get(kind, "")}
                 for kind, n, seen in rows]
        return shown, sum(row[1] for row in rows), len(rows)
    rows = conn.execute(
        sa.select(UNANSWERED.c.group_key, UNANSWERED.c.kind, count,
                  sa.func.max(UNANSWERED.c.last_seen), sa.func.max(UNANSWERED.c.last_event_id))
        .where(UNANSWERED.c.day >= since)
        .group_by(UNANSWERED.c.group_key, UNANSWERED.c.kind)
        .order_by(count.desc(), sa.func.max(UNANSWERED.c.last_seen).desc())).fetchall()
    shown = rows[:UNANSWERED_LIMIT]
    texts = _texts(conn, [row[4] for row in shown])
    return ([{"text": texts.get(event_id, "(no longer in the tracker store)"), "kind": kind,
              "count": n, "last_seen": utc_day(seen), "edit": TO_EDIT.get(kind, "")}
             for _, kind, n, seen, event_id in shown],
            sum(row[2] for row in rows), len(rows))


def _texts(conn: sa.engine.Connection, event_ids: List[int]) -> Dict[int, str]:
    """The texts of user messages, read from Rasa's events (by primary key)."""
    texts: Dict[int, str] = {}
    for i in range(0, len(event_ids), 500):
        for event_id, data in conn.execute(sa.select(EVENTS.c.id, EVENTS.c.data)
                                           .where(EVENTS.c.id.in_(event_ids[i:i + 500]))):
            try:
                texts[event_id] = json.loads(data).get("text") or ""
            except (TypeError, ValueError):
                texts[event_id] = ""
    return texts


# -- CSV ------------------------------------------------------------------------------------
def tables(report: Dict[str, Any]) -> Dict[str, List[List[Any]]]:
    """Each table of the page as rows, header first (the CSV downloads)."""
    days = report["per_day"]["days"]
    channels = sorted(set(report["per_day"]["conversations"]) | set(report["per_day"]["user_messages"]))
    per_day = [["day"] + [f"conversations ({c})" for c in channels]
               + [f"user messages ({c})" for c in channels]]
    for i, day in enumerate(days):
        per_day.append([day] + [report["per_day"]["conversations"].get(c, [0] * len(days))[i]
                                for c in channels]
                       + [report["per_day"]["user_messages"].get(c, [0] * len(days))[i]
                          for c in channels])
    formats = sorted({f for by_format in report["asks"].values() for f in by_format})
    asks = [["topic"] + formats] + [[topic] + [by_format.get(f, 0) for f in formats]
                                    for topic, by_format in report["asks"].items()]
    return {
        "per_day": per_day,
        "channels": [["channel", "conversations", "user messages"]]
        + [[c, v["conversations"], v["user_messages"]] for c, v in report["by_channel"].items()],
        "asks": asks,
        "comparisons": [["formats compared", "count"]] + [[k, v] for k, v in report["comparisons"].items()],
        "unanswered": [["message", "reply", "count", "last seen", "what to edit"]]
        + [[u["text"], u["kind"], u["count"], u["last_seen"], u["edit"]]
           for u in report["unanswered"]],
        "recommendations": [["format", "count"]] + [[k, v] for k, v in report["recommendations"].items()],
        "funnel": [["step", "count"]] + [[s["step"], s["count"]] for s in report["funnel"]],
    }


def to_csv(rows: List[List[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        # A cell starting with = + - @ would be a formula in a spreadsheet.
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] in "=+-@" else c for c in row])
    return out.getvalue()
