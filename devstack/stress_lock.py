#!/usr/bin/env python3
"""Simultaneous messages of one conversation over several Rasa processes: are any lost?

    .venv/bin/python devstack/stress_lock.py [--lock-store atomic|stock] [--rounds 100]
        [--messages 6] [--parallel 2] [--replicas 2] [--workers 1]
    .venv/bin/python devstack/stress_lock.py --url http://127.0.0.1:5005 --db rasa_cluster

Each round is a new conversation whose questions (6 by default, all different) are sent
at the same moment through nginx (round robin over the replicas); `--parallel` rounds
run at once. Afterwards the PostgreSQL `events` table must hold every user message
exactly once, every reply must have a text, and the events must be in a valid order:
one session start, then each user message followed by its turn (a bot reply, ending
with `action_listen`) before the next user message.

Without --url it starts its own cluster (devstack/cluster.py: nginx, `--replicas` Rasa
servers with SANIC_WORKERS=`--workers` each, one action server) on free ports, with a
PostgreSQL database and a Redis key prefix of its own (dropped afterwards), and the
lock store `--lock-store`: "atomic" (stores/redis_lock.py) or "stock" (Rasa's
RedisLockStore, issue 16), and the tracker store `--tracker-store`: "cached"
(stores/cached_sql.py, as deployed) or "stock" (Rasa's SQLTrackerStore). Prints a report; exit status 1 if anything was lost.
tests/test_cluster.py runs `stress()` on its cluster.
"""
import argparse
import json
import secrets
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # when run as a file

# Questions the assistant answers with a text whatever was said before.
QUESTIONS = ["What is a SPOC?", "What is a COOC?", "How long does a MOOC last?",
             "Who is a SPOC for?", "What is a MOOC?", "How much does a COOC cost?",
             "who started the moocs?", "COOC, MOOC, SPOC: what are the differences?"]
SESSION_START = ("action", "action_session_start")


def pg(dbname: str = "postgres", host: str = "127.0.0.1", port: int = 5432,
       user: str = "postgres"):
    conn = psycopg2.connect(host=host, port=port, user=user, dbname=dbname)
    conn.autocommit = True
    return conn


def _send(url: str, sender: str, message: str, timeout: float) -> dict:
    start = time.monotonic()
    try:
        r = requests.post(f"{url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": message}, timeout=timeout)
        ok = r.status_code == 200
        text = "\n".join(m.get("text", "") for m in r.json()) if ok else ""
        return {"status": r.status_code, "text": text, "seconds": time.monotonic() - start}
    except (requests.RequestException, ValueError) as e:
        return {"status": None, "text": "", "error": repr(e),
                "seconds": time.monotonic() - start}


def check_order(rows: Sequence[tuple]) -> Optional[str]:
    """None if the conversation's (type_name, action_name) rows are in a valid order."""
    starts = [i for i, row in enumerate(rows) if row == SESSION_START]
    if len(starts) != 1:
        return f"{len(starts)} session starts"
    users = [i for i, (kind, _) in enumerate(rows) if kind == "user"]
    if users and users[0] < starts[0]:
        return "a user message before the session start"
    for start, end in zip(users, users[1:] + [len(rows)]):
        turn = rows[start:end]
        if not any(kind == "bot" for kind, _ in turn):
            return f"the turn at row {start} has no bot reply: {turn}"
        if turn[-1] != ("action", "action_listen"):
            return f"the turn at row {start} does not end listening: {turn}"
    return None


def stress(url: str, db: str, rounds: int = 100, messages: int = 6, parallel: int = 2,
           prefix: Optional[str] = None, timeout: float = 120,
           db_options: Optional[dict] = None, progress: bool = False) -> Dict:
    """Runs the rounds against `url` and checks the database `db`; returns a report."""
    questions = QUESTIONS[:messages]
    prefix = prefix or f"stress-{secrets.token_hex(3)}"
    senders = [f"{prefix}-{i}" for i in range(rounds)]
    replies: Dict[str, List[dict]] = {}

    def one_round(sender: str) -> None:
        with ThreadPoolExecutor(len(questions)) as pool:
            replies[sender] = list(pool.map(lambda q: _send(url, sender, q, timeout),
                                            questions))

    start = time.monotonic()
    with ThreadPoolExecutor(parallel) as rounds_pool:
        for done, _ in enumerate(rounds_pool.map(one_round, senders), 1):
            if progress and done % 20 == 0:
                print(f"stress: {done}/{rounds} rounds", file=sys.stderr, flush=True)
    seconds = time.monotonic() - start

    report = {"url": url, "rounds": rounds, "messages_per_round": len(questions),
              "sent": rounds * len(questions), "lost": 0, "lost_answered": 0, "duplicated": 0,
              "errors": 0, "empty_replies": 0, "bad_order": 0, "seconds": round(seconds, 1),
              "messages_per_second": round(rounds * len(questions) / seconds, 1),
              "max_reply_seconds": 0.0, "examples": []}
    conn = pg(db, **(db_options or {}))
    try:
        with conn.cursor() as cur:
            for sender in senders:
                cur.execute("SELECT type_name, action_name, data FROM events "
                            "WHERE sender_id = %s ORDER BY id", (sender,))
                rows = cur.fetchall()
                stored = [json.loads(data).get("text") for kind, _, data in rows
                          if kind == "user"]
                lost = [q for q in questions if q not in stored]
                report["lost"] += len(lost)
                # Lost although the request was answered (200): silent loss.
                report["lost_answered"] += sum(
                    1 for q, reply in zip(questions, replies[sender])
                    if q in lost and reply["status"] == 200)
                report["duplicated"] += len(stored) - len(set(stored))
                for reply in replies[sender]:
                    report["errors"] += reply["status"] != 200
                    report["empty_replies"] += reply["status"] == 200 and not reply["text"]
                    report["max_reply_seconds"] = round(
                        max(report["max_reply_seconds"], reply["seconds"]), 2)
                problem = check_order([(kind, action) for kind, action, _ in rows])
                report["bad_order"] += problem is not None
                if (lost or problem) and len(report["examples"]) < 5:
                    report["examples"].append({"sender": sender, "lost": lost,
                                               "order": problem})
    finally:
        conn.close()
    return report


def summary(report: Dict, label: str = "") -> str:
    return (f"{label}{report['lost']} of {report['sent']} user messages lost "
            f"({report['lost_answered']} of them answered with 200; "
            f"{report['rounds']} rounds x {report['messages_per_round']} simultaneous), "
            f"{report['duplicated']} duplicated, {report['bad_order']} conversations in a "
            f"bad order, {report['errors']} HTTP errors, {report['empty_replies']} empty "
            f"replies; {report['seconds']} s, {report['messages_per_second']} msg/s, "
            f"slowest reply {report['max_reply_seconds']} s")


def _free_ports(n: int) -> List[int]:
    ports = set()
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.add(s.getsockname()[1])
    return list(ports)


def cluster_env(db: str, lock_store: str, workers: int) -> Dict[str, str]:
    env = {"DB_HOST": "127.0.0.1", "DB_PORT": "5432", "DB_USER": "postgres", "DB_NAME": db,
           "DB_LOGIN_DB": "postgres", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379",
           "REDIS_DB": "0", "REDIS_KEY_PREFIX": f"stress{secrets.token_hex(4)}",
           "REDIS_LOCK_STORE": lock_store}
    if workers > 1:
        env["SANIC_WORKERS"] = str(workers)
    return env


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lock-store", choices=["atomic", "stock"], default="atomic")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--messages", type=int, default=6, help=f"per round, at most {len(QUESTIONS)}")
    ap.add_argument("--parallel", type=int, default=2, help="rounds at the same time")
    ap.add_argument("--tracker-store", choices=["cached", "stock"], default="cached",
                    help="stores/cached_sql.py (as deployed) or Rasa's SQLTrackerStore")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="SANIC_WORKERS of each replica")
    ap.add_argument("--url", help="an existing cluster (e.g. make run-cluster's) instead")
    ap.add_argument("--db", default="rasa_cluster", help="with --url: its PostgreSQL database")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    if args.url:
        report = stress(args.url, args.db, args.rounds, args.messages, args.parallel,
                        progress=True)
    else:
        from config import endpoints as make_endpoints
        from devstack.cluster import Cluster

        if args.tracker_store == "stock":
            make_endpoints.TRACKER_STORE = "SQL"  # read by render() when the cluster starts

        db = f"rasa_stress_{secrets.token_hex(4)}"
        ports = _free_ports(args.replicas + 3)
        work = Path(tempfile.mkdtemp(prefix="rasa-stress-"))
        cluster = Cluster(work, env=cluster_env(db, args.lock_store, args.workers),
                          rasa_ports=ports[:args.replicas],
                          action_ports=ports[args.replicas:args.replicas + 1],
                          port=ports[-2], action_port=ports[-1])
        print(f"stress: starting {args.replicas} replica(s) x {args.workers} worker(s), "
              f"lock store {args.lock_store}, logs in {work}", file=sys.stderr, flush=True)
        try:
            with cluster:
                report = stress(cluster.url, db, args.rounds, args.messages, args.parallel,
                                progress=True)
        finally:
            conn = pg()
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            conn.close()
        report.update(lock_store=args.lock_store, tracker_store=args.tracker_store,
                      replicas=args.replicas,
                      workers=args.workers, parallel=args.parallel)
    print(json.dumps(report, indent=1) if args.json else
          summary(report, f"[lock store {report['lock_store']}, tracker store "
                          f"{report['tracker_store']}] " if "lock_store" in report else ""))
    return 1 if report["lost"] or report["errors"] or report["empty_replies"] else 0


if __name__ == "__main__":
    sys.exit(main())
