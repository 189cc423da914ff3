#!/usr/bin/env python3
"""Speed benchmark of the assistant against Rasa's starter bot, measured in one run.

    scripts/bench.py                  # full run (make bench): trains both bots from scratch
    scripts/bench.py --quick          # short load phases, one round (for development)
    scripts/bench.py --project-model M --starter-dir D   # skip training, reuse models

For the project and for the starter bot (`rasa init --no-prompt` in a temporary
directory, with this project's .venv), it measures:
  - training time from scratch (fresh cache in a temporary RASA_CACHE_DIRECTORY) and
    again with nothing changed (same cache);
  - server start time, from spawning `rasa run` until the first REST answer;
  - per-message latency over REST (median, p95) for 1 and 8 concurrent conversations,
    and throughput (messages/s) at 8 and 32, with a realistic session mix: questions,
    follow-ups and whole recommendation dialogs for the project; greet / mood / bot
    challenge / goodbye sessions of the same length for the starter bot;
  - resident memory (RSS) of the Rasa server (and its workers) and the action server,
    after start and after 1,000 messages (topped up, unmeasured, when the phases sent
    fewer).
The two bots are alternated (training P,S,P,S; load rounds P,S then S,P, ...) so that
background load on a shared machine hits both. Each server runs as deployed: the
project with its action server and SQLite tracker store (as `make run`), the starter
bot with its own endpoints.yml (in-memory tracker store; its action server runs, as after
`rasa init`, but no action of the starter bot calls it).

Results: a table on stdout, bench/results.json (with the last runs' summaries, to
compare a change with the previous one) and bench/latency.png. Load is bounded by a
message count and a time limit per phase, and goes to 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import requests  # noqa: E402

from devstack import TRACKER_STORE, RasaStack  # noqa: E402

from config.endpoints import LOCK_STORE  # noqa: E402

BIN = ROOT / ".venv" / "bin"
RASA = str(BIN / "rasa")
RESULTS = ROOT / "bench" / "results.json"
PLOT = ROOT / "bench" / "latency.png"
HISTORY_KEPT = 10

# Goals of issue 24 (project / starter).
GOAL_THROUGHPUT_8 = 1.5   # throughput at 8 concurrent conversations, at least
GOAL_MEDIAN_1 = 0.6       # single-user median latency, at most
GOAL_P99_1 = 1.0          # single-user p99 latency, at most
# Resident memory is read once the server answers, and again after this many messages.
RSS_AFTER_MESSAGES = 1000

# ---------------------------------------------------------------------------
# Session mixes. Every session has SESSION_LENGTH messages, so both bots get the same
# number of messages and conversations. `expect` marks turns whose reply must contain
# a text (checked, counted as dialog errors when missing).
SESSION_LENGTH = 10

PROJECT_SESSIONS = [
    {"name": "questions", "turns": [
        ("hi", None),
        ("What is a SPOC?", "Small Private Online Course"),
        ("and how many learners can it have?", "50"),
        ("what about a MOOC?", None),
        ("how long does a mooc last", "several weeks"),
        ("COOC, MOOC, SPOC: what are the differences?", "• SPOC"),
        ("How much does a COOC cost?", "doesn't say"),
        ("who started the moocs?", "international universities"),
        ("thanks", None),
        ("bye", None),
    ]},
    {"name": "recommendation (typed)", "turns": [
        ("which format should I choose?", "Who are the learners"),
        ("the general public", "How many learners"),
        ("a few thousand", "main goal"),
        ("free access to knowledge", None),
        ("no", None),
        ("no", None),
        ("no", None),
        ("open to all", "I recommend a MOOC"),
        ("how long does it last?", None),
        ("thank you", None),
    ]},
    {"name": "recommendation (interrupted, corrected)", "turns": [
        ("We need to train 12 project managers who need coaching", "Who are the learners"),
        ("wait, what's a SPOC?", None),
        ("our own employees", "main goal"),
        ("solving our team's productivity problems", "coaching"),
        ("actually it's 200 people", "updated"),
        ("no", "face-to-face"),
        ("yes", None),
        ("no", "I recommend"),
        ("What is a MOOC?", "Massive Open Online Course"),
        ("are you a bot?", None),
    ]},
    {"name": "recommendation (buttons)", "turns": [
        ("hello", None),
        ("/request_recommendation", "Who are the learners"),
        ('/inform{"audience":"employees"}', "How many learners"),
        ("about 40", "main goal"),
        ('/inform{"goal":"onboarding"}', None),
        ("/deny", None),
        ("/deny", None),
        ("/affirm", None),
        ("/deny", "I recommend"),
        ("what does COOC stand for", "Corporate Online Open Course"),
    ]},
]

STARTER_SESSIONS = [
    {"name": "happy", "turns": [
        ("hi", None), ("I am feeling great", None), ("are you a bot?", None),
        ("good evening", None), ("I'm very happy", None), ("hello there", None),
        ("am I talking to a human?", None), ("wonderful", None), ("thanks, bye", None),
        ("see you later", None)]},
    {"name": "sad, cheered up", "turns": [
        ("hello", None), ("I am sad", None), ("yes", None), ("are you human?", None),
        ("hey", None), ("not good", None), ("of course", None), ("good morning", None),
        ("I'm amazing", None), ("goodbye", None)]},
    {"name": "sad, not helped", "turns": [
        ("hey there", None), ("very unhappy", None), ("no", None), ("hi again", None),
        ("are you a bot or a human?", None), ("I feel down", None), ("not really", None),
        ("good afternoon", None), ("great", None), ("bye bye", None)]},
]

assert all(len(s["turns"]) == SESSION_LENGTH for s in PROJECT_SESSIONS + STARTER_SESSIONS)

# Phases: (concurrency, message budget, seconds budget). Latency is recorded in every
# phase; throughput is reported for 8 and 32.
FULL_PHASES = [(1, 200, 150), (8, 320, 180), (32, 480, 180)]
QUICK_PHASES = [(1, 30, 60), (8, 80, 60), (32, 128, 60)]


# ---------------------------------------------------------------------------
# Processes and memory

def _children(pid: int) -> List[int]:
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(c) for c in text]
    except OSError:
        pass
    return out


def rss_mb(pid: Optional[int]) -> Optional[float]:
    """RSS of a process and its descendants (Sanic workers), in MB."""
    if not pid:
        return None
    try:
        import psutil  # optional

        proc = psutil.Process(pid)
        procs = [proc] + proc.children(recursive=True)
        return round(sum(p.memory_info().rss for p in procs) / 2**20, 1)
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - a process that ended
        return None
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += _children(p)
    return round(total / 1024, 1)


class BenchStack(RasaStack):
    """RasaStack with a chosen model, optional action server, and timed start-up."""

    def __init__(self, workdir: Path, model: Path, with_actions: bool, endpoints: str = "",
                 env: Optional[Dict[str, str]] = None, cwd: Path = ROOT,
                 sqlite_wal: bool = False):
        super().__init__(workdir, endpoints=endpoints, env=env)
        self.model, self.with_actions, self.cwd = model, with_actions, cwd
        self.sqlite_wal = sqlite_wal
        self.start_seconds: Optional[float] = None
        self.actions_start_seconds: Optional[float] = None

    def endpoints_yaml(self) -> str:
        return self.endpoints.format(action_port=self.action_port, workdir=self.workdir) \
            if self.endpoints else super().endpoints_yaml()

    def _spawn(self, args: List[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "ab")
        return subprocess.Popen(args, cwd=self.cwd, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)

    def start_actions(self) -> None:
        if not self.with_actions:
            return
        t0 = time.monotonic()
        super().start_actions()
        self.actions_start_seconds = time.monotonic() - t0

    def start_rasa(self, timeout: float = 900) -> None:
        if self.sqlite_wal:
            # WAL journal mode is stored in the database file: set before Rasa opens it.
            import sqlite3

            with sqlite3.connect(self.workdir / "tracker.db") as db:
                db.execute("PRAGMA journal_mode=WAL")
        (self.workdir / "endpoints.yml").write_text(self.endpoints_yaml())
        (self.workdir / "credentials.yml").write_text(self.credentials)
        t0 = time.monotonic()
        self.rasa_proc = self._spawn(
            [RASA, "run", "--model", str(self.model), "--interface", "127.0.0.1",
             "--port", str(self.port), "--endpoints", str(self.workdir / "endpoints.yml"),
             "--credentials", str(self.workdir / "credentials.yml")], "rasa.log")
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.rasa_proc.poll() is not None:
                raise RuntimeError("rasa run exited:\n"
                                   + (self.workdir / "rasa.log").read_text()[-3000:])
            try:
                r = requests.post(f"{self.url}/webhooks/rest/webhook",
                                  json={"sender": "bench-start", "message": "hello"}, timeout=60)
                if r.ok and r.json():
                    self.start_seconds = time.monotonic() - t0
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no answer after {timeout}s:\n"
                           + (self.workdir / "rasa.log").read_text()[-3000:])

    def rss(self) -> Dict[str, Optional[float]]:
        return {"rasa": rss_mb(self.rasa_proc.pid if self.rasa_proc else None),
                "actions": rss_mb(self.action_proc.pid if self.action_proc else None)}


# ---------------------------------------------------------------------------
# Load

async def run_phase(url: str, sessions: List[dict], concurrency: int, max_messages: int,
                    max_seconds: float, tag: str) -> dict:
    """`concurrency` users, each playing whole sessions back to back (no think time),
    until `max_messages` were sent or `max_seconds` passed."""
    latencies: List[float] = []
    state = {"sent": 0, "errors": 0, "empty": 0, "dialog_errors": 0, "sessions": 0}
    samples: List[dict] = []  # the first unexpected replies, for debugging
    deadline = time.monotonic() + max_seconds
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def user(i: int, http: aiohttp.ClientSession) -> None:
        n = 0
        while True:
            session = sessions[(i + n * concurrency) % len(sessions)]
            sender = f"{tag}-u{i}-s{n}"
            n += 1
            state["sessions"] += 1
            for text, expect in session["turns"]:
                if state["sent"] >= max_messages or time.monotonic() >= deadline:
                    return
                state["sent"] += 1
                t0 = time.perf_counter()
                try:
                    async with http.post(f"{url}/webhooks/rest/webhook",
                                         json={"sender": sender, "message": text}) as r:
                        body = await r.json() if r.status == 200 else None
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    body = None
                latencies.append(time.perf_counter() - t0)
                reply = "\n".join(m.get("text", "") for m in body or [])
                if body is None:  # HTTP error or timeout
                    state["errors"] += 1
                elif not body:  # answered with silence (the starter bot does, at times)
                    state["empty"] += 1
                if body is not None and expect and expect not in reply:
                    state["dialog_errors"] += 1
                if (not body or expect and expect not in reply) and len(samples) < 5:
                    samples.append({"session": session["name"], "message": text,
                                    "expected": expect, "reply": reply[:200]})

    t_start = time.monotonic()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        await asyncio.gather(*(user(i, http) for i in range(concurrency)))
    elapsed = time.monotonic() - t_start
    return {"concurrency": concurrency, "messages": len(latencies), "seconds": elapsed,
            "latencies": latencies, "samples": samples, **state}


def summarize(latencies: List[float]) -> dict:
    xs = sorted(latencies)
    if not xs:
        return {}

    def pct(p: float) -> float:
        k = (len(xs) - 1) * p / 100
        lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
        return (xs[lo] + (xs[hi] - xs[lo]) * (k - lo)) * 1000

    return {"n": len(xs), "median_ms": round(pct(50), 1), "p95_ms": round(pct(95), 1),
            "p10_ms": round(pct(10), 1), "p90_ms": round(pct(90), 1),
            "p99_ms": round(pct(99), 1), "max_ms": round(xs[-1] * 1000, 1),
            "mean_ms": round(statistics.mean(xs) * 1000, 1)}


def load_round(stack: BenchStack, sessions: List[dict], phases, tag: str) -> dict:
    rss_start = stack.rss()
    # Warm-up, not measured: one pass of every session (TensorFlow traces its graphs
    # on first use, the tracker store creates its tables, ...).
    warm = asyncio.run(run_phase(stack.url, sessions, len(sessions),
                                 SESSION_LENGTH * len(sessions), 120, f"{tag}-warm"))
    results = {}
    for concurrency, budget, seconds in phases:
        results[concurrency] = asyncio.run(
            run_phase(stack.url, sessions, concurrency, budget, seconds, f"{tag}-c{concurrency}"))
    sent = warm["messages"] + sum(p["messages"] for p in results.values())
    if sent < RSS_AFTER_MESSAGES:  # not measured: only for the memory reading
        sent += asyncio.run(run_phase(stack.url, sessions, 8, RSS_AFTER_MESSAGES - sent, 600,
                                      f"{tag}-more"))["messages"]
    return {"phases": results, "rss_start": rss_start, "rss_1000": stack.rss(),
            "rss_after_messages": sent,
            "start_s": stack.start_seconds, "actions_start_s": stack.actions_start_seconds}


# ---------------------------------------------------------------------------
# Training

def timed(args: List[str], cwd: Path, env: Dict[str, str], log: Path) -> float:
    t0 = time.monotonic()
    with open(log, "ab") as out:
        result = subprocess.run(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - t0
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed, see {log}:\n{log.read_text()[-3000:]}")
    return elapsed


def train_project(tmp: Path, config: Path, env: Dict[str, str]) -> float:
    env = {**env, "RASA_CACHE_DIRECTORY": str(tmp / "project-cache")}
    return timed([RASA, "train", "--config", str(config), "--domain", "domain.yml",
                  "--data", "data", "--out", str(tmp / "project-model"),
                  "--fixed-model-name", "model"], ROOT, env, tmp / "train-project.log")


def train_starter(tmp: Path, env: Dict[str, str], first: bool) -> float:
    starter = tmp / "starter"
    env = {**env, "RASA_CACHE_DIRECTORY": str(tmp / "starter-cache")}
    if first:
        # `rasa init --no-prompt` creates the project and trains it (fresh cache): that is
        # the from-scratch training (copying the template takes milliseconds).
        starter.mkdir(parents=True, exist_ok=True)
        return timed([RASA, "init", "--no-prompt", "--init-dir", str(starter)], tmp, env,
                     tmp / "train-starter.log")
    return timed([RASA, "train", "--out", "models", "--fixed-model-name", "starter"],
                 starter, env, tmp / "train-starter.log")


def starter_model(starter_dir: Path) -> Path:
    models = sorted((starter_dir / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no trained model in {starter_dir / 'models'}")
    return models[-1]


# ---------------------------------------------------------------------------
# Report

def aggregate(rounds: List[dict]) -> dict:
    """Pools latencies over rounds; throughput = messages / seconds summed over rounds."""
    out = {"phases": {}}
    for c in rounds[0]["phases"]:
        ps = [r["phases"][c] for r in rounds]
        lat = [x for p in ps for x in p["latencies"]]
        msgs, secs = sum(p["messages"] for p in ps), sum(p["seconds"] for p in ps)
        out["phases"][str(c)] = {
            "latency": summarize(lat), "throughput_msg_s": round(msgs / secs, 2),
            "throughput_per_round": [round(p["messages"] / p["seconds"], 2) for p in ps],
            "messages": msgs, "errors": sum(p["errors"] for p in ps),
            "empty_replies": sum(p["empty"] for p in ps),
            "dialog_errors": sum(p["dialog_errors"] for p in ps),
            "error_samples": [x for p in ps for x in p["samples"]][:5]}
    out["start_s"] = round(statistics.median(r["start_s"] for r in rounds), 2)
    out["start_s_per_round"] = [round(r["start_s"], 2) for r in rounds]
    a = [r["actions_start_s"] for r in rounds if r["actions_start_s"]]
    out["actions_start_s"] = round(statistics.median(a), 2) if a else None
    out["rss_after_messages"] = min(r["rss_after_messages"] for r in rounds)
    for key in ("rss_start", "rss_1000"):
        out[key] = {k: max((r[key][k] for r in rounds if r[key][k]), default=None)
                    for k in ("rasa", "actions")}
    return out


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return round(a / b, 2) if a and b else None


ROWS = [
    # label, key path, unit, format
    ("training from scratch", ("train", "scratch_s"), "s", "{:.0f}"),
    ("training, nothing changed", ("train", "unchanged_s"), "s", "{:.1f}"),
    ("server start to first answer", ("start_s",), "s", "{:.1f}"),
    ("latency 1 user, median", ("phases", "1", "latency", "median_ms"), "ms", "{:.0f}"),
    ("latency 1 user, p95", ("phases", "1", "latency", "p95_ms"), "ms", "{:.0f}"),
    ("latency 1 user, p99", ("phases", "1", "latency", "p99_ms"), "ms", "{:.0f}"),
    ("latency 8 users, median", ("phases", "8", "latency", "median_ms"), "ms", "{:.0f}"),
    ("latency 8 users, p95", ("phases", "8", "latency", "p95_ms"), "ms", "{:.0f}"),
    ("throughput, 8 users", ("phases", "8", "throughput_msg_s"), "msg/s", "{:.1f}"),
    ("throughput, 32 users", ("phases", "32", "throughput_msg_s"), "msg/s", "{:.1f}"),
    ("RSS Rasa server, after start", ("rss_start", "rasa"), "MB", "{:.0f}"),
    ("RSS Rasa server, after 1,000 messages", ("rss_1000", "rasa"), "MB", "{:.0f}"),
    ("RSS action server, after start", ("rss_start", "actions"), "MB", "{:.0f}"),
    ("RSS action server, after 1,000 messages", ("rss_1000", "actions"), "MB", "{:.0f}"),
]


def dig(d: Optional[dict], path) -> Optional[float]:
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def table(results: dict, previous: Optional[dict]) -> str:
    fmt = lambda v, f: (f.format(v) if isinstance(v, (int, float)) else "-")  # noqa: E731
    head = ["metric", "unit", "project", "starter", "project/starter"]
    if previous:
        head.append("project, last run")
    lines = [head]
    for label, path, unit, f in ROWS:
        p, s = dig(results["project"], path), dig(results["starter"], path)
        row = [label, unit, fmt(p, f), fmt(s, f), fmt(ratio(p, s), "{:.2f}")]
        if previous:
            row.append(fmt(dig(previous.get("project"), path), f))
        lines.append(row)
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def plot(rounds: Dict[str, List[dict]], results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    data, labels, colors = [], [], []
    concurrencies = list(rounds["project"][0]["phases"])
    for c in concurrencies:
        for bot, color in (("project", "tab:blue"), ("starter", "tab:gray")):
            data.append([x * 1000 for r in rounds[bot] for x in r["phases"][c]["latencies"]])
            labels.append(f"{bot}\n{c} user{'s' if c > 1 else ''}")
            colors.append(color)
    box = ax1.boxplot(data, labels=labels, whis=(5, 95), showfliers=False, patch_artist=True)
    for patch, color in zip(box["boxes"], colors):
        patch.set_facecolor(color)
        patch.set_alpha(0.5)
    ax1.set_yscale("log")
    ax1.set_ylabel("latency per message (ms, log)")
    ax1.set_title("REST latency: box = p25-p75, line = median, whiskers = p5-p95", fontsize=9)
    ax1.tick_params(axis="x", labelsize=7)
    ax1.grid(axis="y", alpha=0.3)
    xs = [c for c in concurrencies if c > 1]
    width = 0.38
    for k, (bot, color) in enumerate((("project", "tab:blue"), ("starter", "tab:gray"))):
        ys = [results[bot]["phases"][str(c)]["throughput_msg_s"] for c in xs]
        bars = ax2.bar([i + (k - 0.5) * width for i in range(len(xs))], ys, width,
                       label=bot, color=color, alpha=0.7)
        ax2.bar_label(bars, fmt="%.1f", fontsize=8)
    ax2.set_xticks(range(len(xs)), [f"{c} users" for c in xs])
    ax2.set_ylabel("messages / s")
    ax2.set_title("throughput", fontsize=9)
    ax2.legend(fontsize=8)
    fig.suptitle(f"make bench, {results['run']['date']} ({results['run']['cpus']} CPUs, "
                 f"load {results['run']['loadavg_start']})", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)


def summary_for_history(results: dict) -> dict:
    keep = {"run": results["run"], "ratios": results["ratios"]}
    for bot in ("project", "starter"):
        keep[bot] = {label: dig(results[bot], path) for label, path, _, _ in ROWS}
    return keep


# ---------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short phases, one round")
    ap.add_argument("--rounds", type=int, default=None, help="load rounds per bot (default 2)")
    ap.add_argument("--config", default=str(ROOT / "config.yml"),
                    help="project config to train (a variant to measure)")
    ap.add_argument("--project-model", help="use this model, skip the project's training")
    ap.add_argument("--starter-dir", help="a trained `rasa init` directory, skip its training")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment of the project's Rasa server (e.g. SANIC_WORKERS=2)")
    ap.add_argument("--redis-lock-store", metavar="DB", type=int,
                    help="give the project a Redis lock store (127.0.0.1:6379, this db), "
                         "needed for SANIC_WORKERS > 1: stores/redis_lock.py, as "
                         "config/endpoints.py configures it")
    ap.add_argument("--stock-lock-store", action="store_true",
                    help="with --redis-lock-store: Rasa's RedisLockStore instead (issue 16)")
    ap.add_argument("--tracker", choices=["sqlite", "memory"], default="sqlite",
                    help="project tracker store (sqlite as `make run`)")
    ap.add_argument("--sqlite-wal", action="store_true",
                    help="create the project's SQLite tracker database in WAL journal mode")
    ap.add_argument("--project-only", action="store_true",
                    help="measure the project only (development; no ratios)")
    ap.add_argument("--label", default="", help="a note saved with the results")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--plot", default=str(PLOT))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)

    phases = QUICK_PHASES if args.quick else FULL_PHASES
    n_rounds = args.rounds or (1 if args.quick else 2)
    base_env = {k: v for k, v in os.environ.items() if k != "RASA_CACHE_DIRECTORY"}
    project_env = dict(base_env)
    for item in args.env:
        key, _, value = item.partition("=")
        project_env[key] = value
    tmp = Path(tempfile.mkdtemp(prefix="rasa-bench-"))
    bots = ["project"] if args.project_only else ["project", "starter"]
    print(f"bench: working in {tmp}", flush=True)
    run = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
           "loadavg_start": round(os.getloadavg()[0], 2), "python": platform.python_version(),
           "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip(),
           "config": os.path.relpath(args.config, ROOT), "env": args.env,
           "tracker": args.tracker, "sqlite_wal": args.sqlite_wal,
           "redis_lock_store": args.redis_lock_store,
           "lock_store_type": (None if args.redis_lock_store is None else
                               "redis" if args.stock_lock_store else LOCK_STORE),
           "phases": [{"users": c, "max_messages": m, "max_seconds": s} for c, m, s in phases],
           "rounds": n_rounds, "session_length": SESSION_LENGTH, "label": args.label}
    results: Dict[str, dict] = {b: {"train": {}} for b in bots}
    try:
        # --- training, alternated: P, S from scratch, then P, S with nothing changed
        project_model = Path(args.project_model) if args.project_model else None
        starter_dir = Path(args.starter_dir) if args.starter_dir else None
        train_p, train_s = project_model is None, "starter" in bots and starter_dir is None
        for step in ("scratch", "unchanged"):
            if train_p:
                t = train_project(tmp, Path(args.config), base_env)
                results["project"]["train"][f"{step}_s"] = round(t, 1)
                print(f"bench: project training ({step}): {t:.1f} s", flush=True)
                project_model = tmp / "project-model" / "model.tar.gz"
            if train_s:
                t = train_starter(tmp, base_env, first=step == "scratch")
                results["starter"]["train"][f"{step}_s"] = round(t, 1)
                print(f"bench: starter training ({step}): {t:.1f} s", flush=True)
                starter_dir = tmp / "starter"

        # --- servers and load, alternated: P,S then S,P, ...
        endpoints = ""
        if args.tracker == "memory" or args.redis_lock_store is not None:
            endpoints = 'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
            if args.tracker == "sqlite":
                endpoints += f"tracker_store:\n  type: {TRACKER_STORE}\n  dialect: sqlite\n" \
                             "  db: {workdir}/tracker.db\n"
            if args.redis_lock_store is not None:
                # Same keys as config/endpoints.py writes for REDIS_HOST.
                lock_type = "redis" if args.stock_lock_store else LOCK_STORE
                endpoints += (f"lock_store:\n  type: {lock_type}\n  url: \"127.0.0.1\"\n"
                              f"  port: 6379\n  db: {args.redis_lock_store}\n"
                              "  key_prefix: \"bench\"\n")
        rounds: Dict[str, List[dict]] = {b: [] for b in bots}
        for r in range(n_rounds):
            order = bots if r % 2 == 0 else bots[::-1]
            for bot in order:
                work = tmp / f"{bot}-round{r}"
                if bot == "project":
                    stack = BenchStack(work, project_model, True, endpoints, project_env,
                                       sqlite_wal=args.sqlite_wal and args.tracker == "sqlite")
                    sessions = PROJECT_SESSIONS
                else:
                    stack = BenchStack(work, starter_model(starter_dir), True,
                                       "# the starter bot's defaults\n", base_env,
                                       cwd=starter_dir)
                    sessions = STARTER_SESSIONS
                with stack:
                    print(f"bench: round {r + 1}/{n_rounds}, {bot}: up in "
                          f"{stack.start_seconds:.1f} s, loading", flush=True)
                    res = load_round(stack, sessions, phases, f"{bot}{r}")
                rounds[bot].append(res)
                for c, p in res["phases"].items():
                    s = summarize(p["latencies"])
                    print(f"bench:   {c:>2} users: {p['messages']} msgs in {p['seconds']:.1f} s "
                          f"= {p['messages'] / p['seconds']:.1f}/s, median {s['median_ms']} ms, "
                          f"p95 {s['p95_ms']} ms, errors {p['errors']}, empty {p['empty']}, "
                          f"dialog errors {p['dialog_errors']}", flush=True)
        for bot in bots:
            results[bot].update(aggregate(rounds[bot]))
        run["loadavg_end"] = round(os.getloadavg()[0], 2)
        results["run"] = run
        if "starter" in bots:
            p, s = results["project"], results["starter"]
            results["ratios"] = {label: ratio(dig(p, path), dig(s, path))
                                 for label, path, _, _ in ROWS}
            thr = results["ratios"]["throughput, 8 users"]
            med = results["ratios"]["latency 1 user, median"]
            p99 = results["ratios"]["latency 1 user, p99"]
            results["goals"] = {
                "throughput_8_ratio": thr, "throughput_8_goal": f">= {GOAL_THROUGHPUT_8}",
                "throughput_8_met": bool(thr and thr >= GOAL_THROUGHPUT_8),
                "median_1_ratio": med, "median_1_goal": f"<= {GOAL_MEDIAN_1}",
                "median_1_met": bool(med and med <= GOAL_MEDIAN_1),
                "p99_1_ratio": p99, "p99_1_goal": f"<= {GOAL_P99_1}",
                "p99_1_met": bool(p99 and p99 <= GOAL_P99_1)}
        else:
            results["starter"] = {}
            results["ratios"] = {}

        out = Path(args.out)
        previous, history = None, []
        if out.exists():
            try:
                old = json.loads(out.read_text())
                history = old.get("history", [])
                previous = summary_for_history(old) if "project" in old else None
            except (ValueError, KeyError):
                pass
        print()
        print(table(results, previous and {"project": _unflatten(previous["project"])}))
        if results.get("goals"):
            g = results["goals"]
            print("\ngoals, project/starter: " + "; ".join(
                f"{name} {g[key + '_ratio']} (goal {g[key + '_goal']}: "
                f"{'met' if g[key + '_met'] else 'NOT met'})"
                for name, key in (("throughput at 8 users", "throughput_8"),
                                  ("single-user median", "median_1"),
                                  ("single-user p99", "p99_1"))))
        print("RSS 'after 1,000 messages': read after " + ", ".join(
            f"{results[b]['rss_after_messages']:,} ({b})" for b in bots))
        # The project must never answer with silence; the starter bot sometimes does.
        errors = sum(v["errors"] + v["dialog_errors"] + (v["empty_replies"] if b == "project" else 0)
                     for b in bots for v in results[b]["phases"].values())
        if errors:
            print(f"WARNING: {errors} failed or unexpected replies (see the phases in {out})")
        if previous:
            history = ([previous] + history)[:HISTORY_KEPT]
        results["history"] = history
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n")
        if "starter" in bots:
            plot(rounds, results, Path(args.plot))
        print(f"\nbench: wrote {out}" + (f" and {args.plot}" if "starter" in bots else ""))
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _unflatten(flat: dict) -> dict:
    """A history summary (label -> value) back into the nested shape `table` reads."""
    nested: dict = {}
    for label, path, _, _ in ROWS:
        d = nested
        for k in path[:-1]:
            d = d.setdefault(k, {})
        d[path[-1]] = flat.get(label)
    return nested


if __name__ == "__main__":
    sys.exit(main())
