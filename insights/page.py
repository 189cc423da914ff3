"""The insights page: HTML with its charts drawn here as SVG, so the page needs no script
and no chart library, and reads the same on a laptop and a phone."""
from html import escape
from typing import Any, Dict, List, Optional, Sequence

from insights.report import NO_FORMAT

COLOURS = ["#1f4e99", "#e07b24", "#2e9d6a", "#b03a6f", "#7a5cc7", "#8a8f98", "#c9a227"]
CHANNEL_ORDER = ["web", "REST", "Slack", "Teams", "shell"]
KIND_LABELS = {"fallback": "didn't understand", "off-subject": "off-subject",
               "not in the article": "not in the article"}

STYLE = """
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1b2330;background:#f4f6fa}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.15rem;margin:0 0 .6em}
.sub{color:#5a6473;margin:0 0 1em}
nav a{display:inline-block;padding:4px 10px;border-radius:14px;border:1px solid #1f4e99;color:#1f4e99;text-decoration:none;margin:0 4px 4px 0}
nav a[aria-current]{background:#1f4e99;color:#fff}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:14px 0}
.kpi{background:#fff;border-radius:10px;padding:12px;box-shadow:0 1px 3px rgba(20,33,61,.12)}
.kpi b{display:block;font-size:1.7rem}.kpi span{color:#5a6473;font-size:.9rem}
section{background:#fff;border-radius:10px;padding:14px;margin:0 0 14px;box-shadow:0 1px 3px rgba(20,33,61,.12)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px}
.grid{margin:0 0 14px}.grid section{margin:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e7ee;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
svg{width:100%;height:auto;display:block}
svg text{font-size:17px;fill:#5a6473}
.hbar{display:grid;grid-template-columns:minmax(90px,30%) 1fr 3.5em;gap:8px;align-items:center;margin:4px 0;font-size:.9rem}
.hbar span:first-child{text-align:right;color:#3a4350}.hbar b{font-weight:600}
.track i{display:block;height:16px;border-radius:3px;min-width:1px}
table.wide{min-width:560px}
.legend{display:flex;flex-wrap:wrap;gap:10px;font-size:.85rem;margin:6px 0}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
.csv{font-size:.85rem;float:right}
.note{color:#5a6473;font-size:.85rem}
.banner{background:#fff6dd;border:1px solid #e9c46a;padding:8px 12px;border-radius:8px}
form{display:flex;gap:8px;flex-wrap:wrap}input{padding:8px;font-size:1rem;min-width:0;flex:1}
button{padding:8px 14px;font-size:1rem;background:#1f4e99;color:#fff;border:0;border-radius:6px}
.error{color:#a4262c}
"""


def _doc(title: str, body: str) -> bytes:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">'
            f'<style>{STYLE}</style></head><body><main>{body}</main></body></html>').encode()


def message_page(title: str, message: str) -> bytes:
    return _doc(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def sign_in(problem: Optional[str] = None) -> bytes:
    error = f'<p class="error" role="alert">{escape(problem)}</p>' if problem else ""
    return _doc("Sign in: assistant insights", f"""<h1>Assistant insights</h1>
<section><h2>Sign in</h2><p>Enter the insights token (INSIGHTS_TOKEN) your administrator gave you.</p>
{error}<form method="post" action="/insights/sign-in">
<label for="token" class="note">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></section>""")


def _colours(labels: Sequence[str]) -> Dict[str, str]:
    ordered = sorted(labels, key=lambda l: (CHANNEL_ORDER.index(l) if l in CHANNEL_ORDER else 99, l))
    return {label: COLOURS[i % len(COLOURS)] for i, label in enumerate(ordered)}


def _legend(colours: Dict[str, str]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{c}"></i>{escape(l)}</span>' for l, c in colours.items()) + "</div>"


def stacked_bars(days: List[str], series: Dict[str, List[int]], title: str) -> str:
    """Columns per day, stacked by series (e.g. channels)."""
    width, height, left, bottom = 640, 240, 46, 30
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    top = max(totals + [1])
    colours = _colours(list(series))
    step = (width - left) / max(len(days), 1)
    bar = max(step * 0.75, 1)
    scale = (height - bottom - 14) / top
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#c5ccd6"/>',
             f'<text x="{left - 6}" y="18" text-anchor="end">{top}</text>',
             f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>']
    for i, day in enumerate(days):
        y = height - bottom
        x = left + i * step + (step - bar) / 2
        for label, values in series.items():
            value = values[i]
            if value:
                h = value * scale
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{colours[label]}"><title>{day} {escape(label)}: {value}</title></rect>')
    for i in sorted({0, len(days) // 2, len(days) - 1}):
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
        x = left + i * step + (step / 2 if anchor == "middle" else 0 if anchor == "start" else step)
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}">{days[i][5:]}</text>')
    parts.append("</svg>")
    return _legend(colours) + "".join(parts)


def hbars(items: List[tuple], title: str, colour: str = COLOURS[0]) -> str:
    """One horizontal bar per (label, value), in HTML so its text reads at any width."""
    top = max([v for _, v in items] + [1])
    rows = "".join(
        f'<div class="hbar"><span>{escape(label)}</span><span class="track">'
        f'<i style="width:{100 * value / top:.1f}%;background:{colour}"></i></span>'
        f'<b>{value}</b></div>' for label, value in items)
    return f'<div role="img" aria-label="{escape(title)}">{rows}</div>'


def _table(header: List[str], rows: List[List[Any]], numeric: Sequence[int] = (),
           wide: bool = False) -> str:
    """Numbers right-aligned: the columns in `numeric`, else all but the first."""
    numeric = set(numeric or range(1, len(header)))
    head = "".join(f'<th class="{"n" if i in numeric else ""}">{escape(str(h))}</th>'
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(
        f'<td class="{"n" if i in numeric else ""}">{escape(str(c))}</td>'
        for i, c in enumerate(row)) + "</tr>" for row in rows)
    attrs = ' class="wide"' if wide else ""
    return f'<div class="scroll"><table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _number(value: Any) -> str:
    """12,345 for counts, 7.5 for a median, text as it is."""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _csv(name: str, days: int) -> str:
    return f'<a class="csv" href="/insights.csv?table={name}&amp;days={days}" download>CSV</a>'


def render(data: Dict[str, Any], days_kept: int) -> bytes:
    days = data["days"]
    windows = [n for n in (7, 30, 90) if n <= days_kept]
    nav = "".join(f'<a href="/insights?days={n}"{" aria-current=page" if n == days else ""}>'
                  f'{n} days</a>' for n in windows)
    messages = data["user_messages"]
    share = f"{100 * data['unanswered_messages'] / messages:.0f}% of messages" if messages else "no messages"
    made = sum(data["recommendations"].values())
    median = data["median_turns_to_recommendation"]
    banner = "" if data["up_to_date"] else (
        '<p class="banner" role="status">Still reading older conversations: the figures will '
        'grow. Reload in a minute.</p>')
    kpis = [("conversations", data["conversations"], "conversations"),
            ("user-messages", messages, "messages from people"),
            ("unanswered", data["unanswered_messages"], f"unanswered ({share})"),
            ("recommendations", made, "recommendations made"),
            ("median-turns", "–" if median is None else median,
             "median messages to a recommendation")]
    per_day = data["per_day"]

    # What people ask: topics x formats.
    formats = sorted({f for by_format in data["asks"].values() for f in by_format},
                     key=lambda f: (f == NO_FORMAT, f))
    ask_rows = [[topic.replace("_", " ")] + [by_format.get(f, 0) for f in formats]
                + [sum(by_format.values())] for topic, by_format in data["asks"].items()]
    ask_rows.sort(key=lambda r: -r[-1])
    asks = _table(["topic"] + formats + ["total"], ask_rows) if ask_rows else \
        '<p class="note">No questions about the formats in this period.</p>'
    comparisons = _table(["formats compared", "times"], [[k, v] for k, v in data["comparisons"].items()]) \
        if data["comparisons"] else '<p class="note">No comparisons in this period.</p>'

    if data["unanswered"]:
        unanswered = _table(["message", "reply", "times", "last seen", "what to edit"],
                            [[u["text"], KIND_LABELS.get(u["kind"], u["kind"]), u["count"],
                              u["last_seen"], u["edit"]] for u in data["unanswered"][:50]],
                            numeric=(2,), wide=True)
        more = data["unanswered_groups"] - min(len(data["unanswered"]), 50)
        if more > 0:
            unanswered += f'<p class="note">{more} more groups in the CSV (the first 200).</p>'
    else:
        unanswered = '<p class="note">Every message got an answer in this period.</p>'

    recs = hbars(list(data["recommendations"].items()), "Recommendations by format") \
        if data["recommendations"] else '<p class="note">No recommendations in this period.</p>'
    funnel = hbars([(s["step"].replace("_", " "), s["count"]) for s in data["funnel"]],
                   "The guided dialog, step by step", COLOURS[2])
    channels = _table(["channel", "conversations", "messages"],
                      [[c, v["conversations"], v["user_messages"]] for c, v in data["by_channel"].items()])

    body = f"""<h1>Assistant insights</h1>
<p class="sub">Last {days} days: {data['from']} to {data['to']} (UTC days).</p>
<nav aria-label="Period">{nav}</nav>{banner}
<div class="kpis">{"".join(f'<div class="kpi" id="kpi-{i}"><b>{_number(v)}</b><span>{escape(l)}</span></div>' for i, v, l in kpis)}</div>
<div class="grid">
<section id="conversations"><h2>Conversations per day {_csv("per_day", days)}</h2>
{stacked_bars(per_day["days"], per_day["conversations"], "Conversations per day by channel")}</section>
<section id="messages"><h2>Messages per day {_csv("per_day", days)}</h2>
{stacked_bars(per_day["days"], per_day["user_messages"], "Messages from people per day by channel")}</section>
</div>
<section id="channels"><h2>By channel {_csv("channels", days)}</h2>{channels}</section>
<section id="unanswered-list"><h2>Unanswered: the to-do list for data/ {_csv("unanswered", days)}</h2>
<p class="note">Messages that got "Sorry, I didn't get that", the off-subject reply or "the article
doesn't say", grouped when they use the same words.</p>{unanswered}</section>
<section id="asks"><h2>What people ask {_csv("asks", days)}</h2>
<p class="note">Questions by topic and format (a follow-up counts for the format discussed).</p>{asks}</section>
<div class="grid">
<section id="comparisons"><h2>Comparisons {_csv("comparisons", days)}</h2>{comparisons}</section>
<section id="recommendations"><h2>Recommendations by format {_csv("recommendations", days)}</h2>{recs}</section>
</div>
<section id="funnel"><h2>The guided dialog {_csv("funnel", days)}</h2>
<p class="note">Recommendation requests: {data['recommendation_requests']}. How many dialogs
started, reached each question, ended with a recommendation or were stopped. Median messages from the start to a recommendation: {"–" if median is None else f"{median:g}"}.</p>
{funnel}</section>
<p class="note">No sender ids are shown or kept here (conversations are counted by a hash).
Message texts appear only in the unanswered list{"" if data["texts_shown"] else " (switched off)"};
figures are kept {days_kept} days. JSON: <a href="/insights.json?days={days}">/insights.json</a>.</p>"""
    return _doc("Assistant insights", body)
