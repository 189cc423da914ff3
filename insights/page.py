"""What the insights page shows, ready for its template (web/templates/insights.html): the
charts' geometry (drawn as SVG on the server, so the page needs no script and no chart
library), the tables' cells and which of them are numbers."""
from typing import Any, Dict, List, Sequence

from insights.report import NO_FORMAT

COLOURS = ["#1f4e99", "#e07b24", "#2e9d6a", "#b03a6f", "#7a5cc7", "#8a8f98", "#c9a227"]
CHANNEL_ORDER = ["web", "REST", "Slack", "Teams", "shell"]
KIND_LABELS = {"fallback": "didn't understand", "off-subject": "off-subject",
               "not in the article": "not in the article"}
UNANSWERED_SHOWN = 50
WINDOWS = (7, 30, 90)


def colours(labels: Sequence[str]) -> Dict[str, str]:
    ordered = sorted(labels, key=lambda l: (CHANNEL_ORDER.index(l) if l in CHANNEL_ORDER else 99, l))
    return {label: COLOURS[i % len(COLOURS)] for i, label in enumerate(ordered)}


def stacked_bars(days: List[str], series: Dict[str, List[int]], title: str) -> Dict[str, Any]:
    """Columns per day, stacked by series (e.g. channels)."""
    width, height, left, bottom = 640, 240, 46, 30
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    top = max(totals + [1])
    legend = colours(list(series))
    step = (width - left) / max(len(days), 1)
    bar = max(step * 0.75, 1)
    scale = (height - bottom - 14) / top
    rects = []
    for i, day in enumerate(days):
        y = height - bottom
        x = left + i * step + (step - bar) / 2
        for label, values in series.items():
            if values[i]:
                h = values[i] * scale
                y -= h
                rects.append({"x": x, "y": y, "width": bar, "height": h, "fill": legend[label],
                              "title": f"{day} {label}: {values[i]}"})
    ticks = []
    for i in sorted({0, len(days) // 2, len(days) - 1}) if days else ():
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
        x = left + i * step + (step / 2 if anchor == "middle" else 0 if anchor == "start" else step)
        ticks.append({"x": x, "anchor": anchor, "text": days[i][5:]})
    return {"title": title, "width": width, "height": height, "left": left,
            "baseline": height - bottom, "top": top, "legend": legend, "rects": rects,
            "ticks": ticks}


def hbars(items: List[tuple], title: str, colour: str = COLOURS[0]) -> Dict[str, Any]:
    """One horizontal bar per (label, value), in HTML so its text reads at any width."""
    top = max([v for _, v in items] + [1])
    return {"title": title, "colour": colour,
            "rows": [{"label": label, "value": value, "percent": 100 * value / top}
                     for label, value in items]}


def table(header: List[str], rows: List[List[Any]], numeric: Sequence[int] = (),
          wide: bool = False) -> Dict[str, Any]:
    """Numbers right-aligned: the columns in `numeric`, else all but the first."""
    return {"header": header, "rows": rows, "wide": wide,
            "numeric": set(numeric or range(1, len(header)))}


def number(value: Any) -> str:
    """12,345 for counts, 7.5 for a median, text as it is."""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def view(data: Dict[str, Any], days_kept: int) -> Dict[str, Any]:
    """The template's values for the report `data` (insights/report.py)."""
    messages = data["user_messages"]
    share = f"{100 * data['unanswered_messages'] / messages:.0f}% of messages" if messages \
        else "no messages"
    median = data["median_turns_to_recommendation"]
    median_text = "–" if median is None else number(median)

    formats = sorted({f for by_format in data["asks"].values() for f in by_format},
                     key=lambda f: (f == NO_FORMAT, f))
    ask_rows = [[topic.replace("_", " ")] + [by_format.get(f, 0) for f in formats]
                + [sum(by_format.values())] for topic, by_format in data["asks"].items()]
    ask_rows.sort(key=lambda r: -r[-1])
    shown = data["unanswered"][:UNANSWERED_SHOWN]
    per_day = data["per_day"]
    return {
        "data": data, "days": data["days"], "days_kept": days_kept,
        "windows": [n for n in WINDOWS if n <= days_kept],
        "median": median_text,
        "kpis": [("conversations", data["conversations"], "conversations"),
                 ("user-messages", messages, "messages from people"),
                 ("unanswered", data["unanswered_messages"], f"unanswered ({share})"),
                 ("recommendations", sum(data["recommendations"].values()),
                  "recommendations made"),
                 ("median-turns", median_text, "median messages to a recommendation")],
        "conversations_chart": stacked_bars(per_day["days"], per_day["conversations"],
                                            "Conversations per day by channel"),
        "messages_chart": stacked_bars(per_day["days"], per_day["user_messages"],
                                       "Messages from people per day by channel"),
        "channels": table(["channel", "conversations", "messages"],
                          [[c, v["conversations"], v["user_messages"]]
                           for c, v in data["by_channel"].items()]),
        "unanswered": table(["message", "reply", "times", "last seen", "what to edit"],
                            [[u["text"], KIND_LABELS.get(u["kind"], u["kind"]), u["count"],
                              u["last_seen"], u["edit"]] for u in shown],
                            numeric=(2,), wide=True) if shown else None,
        "more_unanswered": data["unanswered_groups"] - len(shown),
        "asks": table(["topic"] + formats + ["total"], ask_rows) if ask_rows else None,
        "comparisons": table(["formats compared", "times"],
                             [[k, v] for k, v in data["comparisons"].items()])
        if data["comparisons"] else None,
        "recommendations": hbars(list(data["recommendations"].items()),
                                 "Recommendations by format") if data["recommendations"] else None,
        "funnel": hbars([(s["step"].replace("_", " "), s["count"]) for s in data["funnel"]],
                        "The guided dialog, step by step", COLOURS[2]),
    }
