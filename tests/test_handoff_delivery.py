"""Hand-off delivery (handoff/outbox.py, handoff/worker.py): the outbox, the webhook and
the e-mail, against a fake webhook and an SMTP sink on 127.0.0.1; the worker process."""
import logging
import signal
import subprocess
import sys
import threading
import time
import uuid

import psycopg2
import pytest

from handoff import outbox as handoff_outbox
from handoff.outbox import Outbox, configuration_problems, transports
from tests.handoff_fakes import Clock, FakeWebhook, SmtpSink, handoff_env, outbox_rows
from devstack import ROOT

pytestmark = pytest.mark.integration  # servers, services or the trained model

CONTENT = {"text": "A user would like to talk to a person.\nContact: jane@acme.example",
           "webhook_text": "A user would like to talk to a person.\nContact: jane@acme.example",
           "reply_to": "jane@acme.example", "contact": "jane@acme.example",
           "channel": "rest", "conversation_id": "conv-1"}


@pytest.fixture
def fakes():
    webhook, sink = FakeWebhook(), SmtpSink()
    yield webhook, sink
    webhook.close()
    sink.close()


@pytest.fixture
def env(fakes, tmp_path):
    return handoff_env(*fakes, f"sqlite:///{tmp_path / 'tracker.db'}")


def test_both_transports_deliver_the_same_message_once(fakes, env):
    webhook, sink = fakes
    box = Outbox(env["HANDOFF_OUTBOX_DB"], env)
    ids = box.add(CONTENT, transports(env))
    assert [box.deliver(i) for i in ids] == [True, True]
    assert webhook.wait(1)[0]["text"] == CONTENT["webhook_text"]
    mail = sink.wait(1)[0]
    assert mail["Reply-To"] == "jane@acme.example"
    assert mail["To"] == "training@acme.example"
    assert mail.get_content().replace("\r\n", "\n").strip() == CONTENT["text"]
    assert box.deliver_due() == 0 and [box.deliver(i) for i in ids] == [True, True]
    assert len(webhook.posts) == 1 and len(sink.messages) == 1


def test_webhook_down_is_retried_with_backoff_and_delivered_once(fakes, env):
    webhook, sink = fakes
    webhook.status = 503
    clock = Clock()
    box = Outbox(env["HANDOFF_OUTBOX_DB"], env, clock)
    (row,) = box.add(CONTENT, ["webhook"])
    assert box.deliver(row) is False and box.status(row) == "pending"
    assert box.outcome([row]) is False  # what the action server tells the user
    clock.advance(0.9)
    assert box.deliver_due() == 0  # not due before the backoff (1 s here)
    webhook.status = 200
    clock.advance(0.2)
    assert box.deliver_due() == 1
    clock.advance(3600)
    assert box.deliver_due() == 0
    assert len(webhook.posts) == 1 and box.status(row) == "sent" and box.outcome([row]) is True


def test_the_backoff_doubles_after_each_failure(fakes, env):
    webhook, sink = fakes
    webhook.status = 500
    clock = Clock(start=0)
    box = Outbox(env["HANDOFF_OUTBOX_DB"], env, clock)
    box.add(CONTENT, ["webhook"])
    tried_at = []
    for tenth in range(76):  # 7.5 s, a worker's round every 0.1 s
        clock.now = tenth / 10
        box.deliver_due()
        if outbox_rows(env["HANDOFF_OUTBOX_DB"])[0]["attempts"] > len(tried_at):
            tried_at.append(clock.now)
    assert tried_at == [0, 1, 3, 7]  # HANDOFF_RETRY_SECONDS=1, then 2, then 4
    assert len(webhook.posts) == 0


def test_smtp_refusal_is_retried(fakes, env):
    webhook, sink = fakes
    sink.refuse = True
    clock = Clock()
    box = Outbox(env["HANDOFF_OUTBOX_DB"], env, clock)
    (row,) = box.add(CONTENT, ["email"])
    assert box.deliver(row) is False
    sink.refuse = False
    clock.advance(1)
    assert box.deliver_due() == 1 and len(sink.messages) == 1


def test_a_claim_lost_with_its_process_is_taken_over_after_it_expires(fakes, env):
    """A process claimed the row and died before sending: another sends it, once."""
    webhook, sink = fakes
    clock = Clock()
    died, other = (Outbox(env["HANDOFF_OUTBOX_DB"], env, clock) for _ in range(2))
    (row,) = died.add(CONTENT, ["webhook"])
    assert died._claim(row, clock()) and died.status(row) == "sending"
    assert other.deliver_due() == 0 and other.outcome([row]) is None  # claimed: not yet
    clock.advance(handoff_outbox.CLAIM_SECONDS + 1)
    assert other.deliver_due() == 1 and other.deliver_due() == 0
    assert len(webhook.posts) == 1


def worker_process(env, log):
    """`python -m handoff.worker`, as make run, Compose and Kubernetes start it."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "handoff.worker"], cwd=ROOT,
                                env={"PATH": "/usr/bin:/bin", **env}, stdout=out,
                                stderr=subprocess.STDOUT)


def test_the_worker_process_sends_what_was_left_pending_once_and_stops_on_sigterm(
        fakes, env, tmp_path):
    """A hand-off recorded whose first tries failed (its process went away): a worker
    started afterwards sends each transport once; SIGTERM stops it cleanly."""
    webhook, sink = fakes
    webhook.status, sink.refuse = 500, True
    first = Outbox(env["HANDOFF_OUTBOX_DB"], env, Clock(start=0))  # tried long ago
    rows = first.add(CONTENT, ["webhook", "email"])
    assert [first.deliver(row) for row in rows] == [False, False]
    first.engine.dispose()
    webhook.status, sink.refuse = 200, False
    worker = worker_process(env, tmp_path / "worker.log")
    try:
        assert webhook.wait(1)[0]["text"] == CONTENT["webhook_text"]
        assert sink.wait(1)[0]["Reply-To"] == "jane@acme.example"
        # Marked sent (after the sends above): never claimed, so never sent, again.
        wait_for(lambda: [r["status"] for r in outbox_rows(env["HANDOFF_OUTBOX_DB"])]
                 == ["sent", "sent"], worker, tmp_path / "worker.log")
        assert [r["attempts"] for r in outbox_rows(env["HANDOFF_OUTBOX_DB"])] == [2, 2]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert len(webhook.posts) == 1 and len(sink.messages) == 1
    assert "Stopped." in (tmp_path / "worker.log").read_text()


def test_the_worker_without_a_transport_waits_to_be_stopped(tmp_path):
    """Nothing to send, but it keeps running (an exit would be restarted in a loop by
    Compose and Kubernetes) until it is stopped."""
    log = tmp_path / "worker.log"
    worker = worker_process({}, log)
    try:
        wait_for(lambda: "nothing to send" in log.read_text(), worker, log)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


def wait_for(condition, proc, log, timeout: float = 30) -> None:
    """Polls `condition()`; fails with the log if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"timed out:\n{log.read_text()}"
        time.sleep(0.1)


def _race(boxes):
    barrier = threading.Barrier(len(boxes))

    def run(box):
        barrier.wait()
        for _ in range(3):
            box.deliver_due()
    threads = [threading.Thread(target=run, args=(box,)) for box in boxes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


def test_replicas_on_one_sqlite_database_send_each_row_once(fakes, env):
    webhook, sink = fakes
    boxes = [Outbox(env["HANDOFF_OUTBOX_DB"], env) for _ in range(4)]
    for _ in range(5):
        boxes[0].add(CONTENT, ["webhook", "email"])
    _race(boxes)
    assert len(webhook.posts) == 5 and len(sink.messages) == 5


@pytest.fixture
def postgres_url():
    name = f"handoff_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                                 connect_timeout=3)
    except psycopg2.OperationalError as e:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed for this test: {e}")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


def test_replicas_on_one_postgresql_database_send_each_row_once(fakes, env, postgres_url):
    webhook, sink = fakes
    boxes = [Outbox(postgres_url, env) for _ in range(4)]
    for _ in range(5):
        boxes[0].add(CONTENT, ["webhook", "email"])
    _race(boxes)
    assert len(webhook.posts) == 5 and len(sink.messages) == 5
    for box in boxes:
        box.engine.dispose()


def test_no_header_injection_from_a_crafted_address(env):
    crafted = dict(CONTENT, reply_to="jane@acme.example\r\nBcc: all@acme.example")
    with pytest.raises(ValueError):
        handoff_outbox.email_message(crafted, env)


def test_secrets_never_reach_the_logs(fakes, env, caplog):
    webhook, sink = fakes
    webhook.status = 500
    sink.refuse = True
    env = dict(env, HANDOFF_SMTP_USER="bot", HANDOFF_SMTP_PASSWORD="s3cr3t-pa55")
    box = Outbox(env["HANDOFF_OUTBOX_DB"], env)
    with caplog.at_level(logging.DEBUG):
        for row in box.add(CONTENT, ["webhook", "email"]):
            box.deliver(row)
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if not r.name.startswith("mail.log"))  # the sink's own logs aside
    assert "failed" in ours
    assert "secret-token" not in ours and "s3cr3t-pa55" not in ours


@pytest.mark.parametrize("variables,problem", [
    ({"HANDOFF_SMTP_HOST": "mail.acme.example"}, "HANDOFF_EMAIL_FROM, HANDOFF_EMAIL_TO missing"),
    ({"HANDOFF_SMTP_HOST": "mail", "HANDOFF_EMAIL_FROM": "a@acme.example",
      "HANDOFF_EMAIL_TO": "t@acme.example", "HANDOFF_SMTP_USER": "bot"},
     "HANDOFF_SMTP_USER and HANDOFF_SMTP_PASSWORD go together"),
    ({"HANDOFF_WEBHOOK_URL": "hooks.slack.com/x"}, "must be an http:// or https:// URL"),
    ({"HANDOFF_SMTP_HOST": "mail", "HANDOFF_EMAIL_FROM": "a@acme.example",
      "HANDOFF_EMAIL_TO": "training"}, "HANDOFF_EMAIL_TO is not an e-mail address"),
])
def test_make_run_refuses_a_half_configured_transport(variables, problem):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_handoff.py")],
                            env={"PATH": "/usr/bin:/bin", **variables},
                            capture_output=True, text=True)
    assert result.returncode == 2 and problem in result.stderr, result.stderr


def test_complete_or_absent_configuration_is_accepted(env):
    assert configuration_problems(env) == [] and transports(env) == ["webhook", "email"]
    assert configuration_problems({}) == [] and transports({}) == []
