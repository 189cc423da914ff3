"""Scale-out: two Rasa replicas, an action server, nginx, PostgreSQL, Redis.

Uses devstack/cluster.py (what `make run-cluster` runs) on free ports, with a
PostgreSQL database and a Redis key prefix of its own, dropped afterwards.
One conversation's messages alternate between the replicas, directly and
through nginx, in the middle of the recommendation form; the replies must be
those of the same conversation held on one replica, and the PostgreSQL events
table must hold every user message exactly once. Simultaneous messages of one
conversation (100 conversations x 6 messages at once, through nginx) lose nothing, over
two replicas and over two Sanic workers of one process (issue 16, devstack/stress_lock.py).
"""
import json
import secrets
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests

from devstack import texts, unique_ports
from devstack.stack import FORM_ANSWERS as ANSWERS
from devstack.stack import OPENING

from devstack.cluster import Cluster, nginx_binary
from devstack.stress_lock import stress, summary
from tests import test_channel_slack as slack
from tests import wording

pytestmark = pytest.mark.integration  # servers, services or the trained model

TOKEN = secrets.token_hex(16)


def pg(dbname="postgres"):
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=dbname)
    conn.autocommit = True
    return conn


# Clusters started by this module: one at a time (a second one closes the first), to
# keep the memory and CPU of the shared machine.
STARTED = []


def start_cluster(workdir, replicas=2, extra_env=None):
    try:
        nginx_binary()
    except RuntimeError as e:
        pytest.fail(str(e))
    for earlier in STARTED:
        earlier.close()
    db = f"rasa_test_{secrets.token_hex(4)}"
    env = {"DB_HOST": "127.0.0.1", "DB_PORT": "5432", "DB_USER": "postgres", "DB_NAME": db,
           "DB_LOGIN_DB": "postgres", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379",
           "REDIS_DB": "0", "REDIS_KEY_PREFIX": f"test{secrets.token_hex(4)}",
           "RASA_AUTH_TOKEN": TOKEN, **(extra_env or {})}
    ports = unique_ports(replicas + 3)
    c = Cluster(workdir, env=env, rasa_ports=ports[:replicas],
                action_ports=ports[replicas:replicas + 1], port=ports[-2],
                action_port=ports[-1])
    c.db = db
    STARTED.append(c)
    return c


def drop_database(db):
    conn = pg()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    conn.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two replicas, with the REST channel and Slack (a fake Slack API)."""
    api = slack.FakeSlackApi()
    c = start_cluster(tmp_path_factory.mktemp("cluster"), extra_env={
        "SLACK_BOT_TOKEN": slack.TOKEN, "SLACK_SIGNING_SECRET": slack.SECRET,
        "SLACK_API_URL": api.url + "/api/"})
    c.slack_api = api
    try:
        with c:
            yield c
    finally:
        drop_database(c.db)
        api.server.shutdown()


def say(url, sender, message):
    r = requests.post(f"{url}/webhooks/rest/webhook",
                      json={"sender": sender, "message": message}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def converse(urls, sender):
    """The opening, then the form's questions answered; each turn on the next URL."""
    turn = 0
    said, replies = [], []

    def send(message):
        nonlocal turn
        url = urls[turn % len(urls)]
        turn += 1
        said.append(message)
        replies.append(texts(say(url, sender, message)))

    for message in OPENING:
        send(message)
    for _ in range(len(ANSWERS) + 2):
        question = next((k for k in ANSWERS if k in replies[-1]), None)
        if question is None:
            break
        send(ANSWERS[question])
    return said, replies


def events(db, sender):
    conn = pg(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT type_name, intent_name, action_name, timestamp, data "
                        "FROM events WHERE sender_id = %s ORDER BY id", (sender,))
            return cur.fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def conversations(cluster):
    one = cluster.replica_urls[:1]
    return {
        "reference": converse(one, "cl-reference"),
        "alternating": converse(cluster.replica_urls, "cl-alternating"),
        "nginx": converse([cluster.url], "cl-nginx"),
    }


def test_dialog_is_coherent_across_replicas(conversations):
    said, replies = conversations["reference"]
    assert wording.answer("mooc", "definition") in replies[0]
    assert wording.question("audience") in replies[1]
    assert len(replies) >= 5, replies  # several questions answered
    assert not any(k in replies[-1] for k in ANSWERS), "the form did not finish"
    for name in ("alternating", "nginx"):
        assert conversations[name] == (said, replies), name


def test_every_event_is_stored_exactly_once(cluster, conversations):
    shapes = {}
    for name, sender in (("reference", "cl-reference"), ("alternating", "cl-alternating"),
                         ("nginx", "cl-nginx")):
        rows = events(cluster.db, sender)
        user_texts = [json.loads(data)["text"] for kind, _, _, _, data in rows
                      if kind == "user"]
        assert user_texts == conversations[name][0], name
        # A stored twice event is a row with the very same data (and timestamp).
        assert len({data for *_, data in rows}) == len(rows), f"{name}: duplicate events"
        shapes[name] = [(kind, intent, action) for kind, intent, action, _, _ in rows]
    assert shapes["alternating"] == shapes["reference"]
    assert shapes["nginx"] == shapes["reference"]


def test_simultaneous_messages_are_serialised_by_the_lock(cluster):
    sender = "cl-concurrent"
    messages = ["What is a SPOC?", "What is a COOC?", "How long does a MOOC last?",
                "Who is a SPOC for?"]
    with ThreadPoolExecutor(len(messages)) as pool:
        replies = list(pool.map(lambda im: say(cluster.replica_urls[im[0] % 2], sender, im[1]),
                                enumerate(messages)))
    assert all(texts(r) for r in replies)
    rows = events(cluster.db, sender)
    user_texts = [json.loads(d)["text"] for kind, _, _, _, d in rows if kind == "user"]
    assert sorted(user_texts) == sorted(messages)
    # Each turn is complete (answered, then back to listening) before the next starts.
    kinds = [(kind, action) for kind, _, action, _, _ in rows]
    starts = [i for i, (kind, _) in enumerate(kinds) if kind == "user"]
    for start, end in zip(starts, starts[1:] + [len(kinds)]):
        turn = kinds[start:end]
        assert ("bot", None) in turn, turn
        assert turn[-1] == ("action", "action_listen"), turn


def test_http_api_needs_the_token_and_logs_never_show_it(cluster, conversations):
    url = f"{cluster.url}/conversations/cl-reference/tracker"
    assert requests.get(url, timeout=30).status_code == 401
    tracker = requests.get(url, params={"token": TOKEN}, timeout=30).json()
    assert tracker["latest_message"]["text"] == conversations["reference"][0][-1]
    for log in cluster.workdir.glob("*.log"):
        assert TOKEN not in log.read_text(errors="replace"), log


def assert_nothing_lost(report):
    print(summary(report))
    assert report["sent"] >= 600
    assert report["lost"] == 0, report["examples"]
    assert report["duplicated"] == 0, report
    assert report["errors"] == 0 and report["empty_replies"] == 0, report
    assert report["bad_order"] == 0, report["examples"]


def test_simultaneous_messages_over_two_replicas_lose_nothing(cluster):
    """Issue 16: 100 conversations, each with 6 different questions sent at the same
    moment through nginx (2 conversations at a time). Rasa's RedisLockStore lost some
    (devstack/stress_lock.py --lock-store stock --tracker-store stock: see README)."""
    assert_nothing_lost(stress(cluster.url, cluster.db, rounds=100, messages=6, parallel=2,
                               prefix="cl-stress"))


def test_a_slack_retry_reaching_the_other_replica_is_not_answered_twice(cluster):
    """Slack retries an event it thinks was lost; behind a load balancer the retry may
    reach another replica, which must know (through Redis) that it was answered."""
    def post(url, payload, **headers):
        body = json.dumps(payload).encode()
        return requests.post(url + "/webhooks/slack/webhook", data=body, timeout=10, headers={
            "Content-Type": "application/json", **slack.sign(body), **headers})

    first, second = cluster.replica_urls
    question = slack.event("What is a SPOC?", "U_CLUSTER", "D_CLUSTER")
    assert post(first, question).status_code == 200
    cluster.slack_api.wait("D_CLUSTER", 1)
    retry = post(second, question, **{"X-Slack-Retry-Num": "1",
                                      "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    # A new question through the second replica is answered, after nothing else.
    assert post(second, slack.event("What is a MOOC?", "U_CLUSTER", "D_CLUSTER")).ok
    answers = cluster.slack_api.wait("D_CLUSTER", 2)
    assert len(answers) == 2, answers
    assert slack.SPOC in answers[0]["text"] and slack.MOOC in answers[1]["text"]


def test_nginx_routes_around_a_stopped_replica(cluster):
    cluster.stop("rasa-1")
    for i in range(4):
        assert wording.answer("spoc", "definition") in texts(say(cluster.url, "cl-failover",
                                                                 "What is a SPOC?"))


@pytest.fixture(scope="module")
def workers_cluster(tmp_path_factory):
    """One `rasa run` with SANIC_WORKERS=2 behind nginx (the two-replica cluster is
    closed first)."""
    c = start_cluster(tmp_path_factory.mktemp("workers"), replicas=1,
                      extra_env={"SANIC_WORKERS": "2"})
    try:
        with c:
            yield c
    finally:
        drop_database(c.db)


def test_simultaneous_messages_over_two_sanic_workers_lose_nothing(workers_cluster):
    assert_nothing_lost(stress(workers_cluster.url, workers_cluster.db, rounds=100,
                               messages=6, parallel=2, prefix="cl-workers"))
    log = (workers_cluster.workdir / "rasa-0.log").read_text(errors="replace")
    assert log.count("Rasa server is up and running.") == 2  # one per Sanic worker
