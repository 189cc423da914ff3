"""Hand-off delivery (handoff/outbox.py): the outbox, the webhook and the
e-mail, against a fake webhook and an SMTP sink on 127.0.0.1."""
import logging
import subprocess
import sys
import threading
import time
import uuid

import psycopg2
import pytest

from handoff import outbox as handoff_outbox
from handoff.outbox import Outbox, configuration_problems, transports
from tests.handoff_fakes import FakeWebhook, SmtpSink, handoff_env
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
    box = Outbox(env["HANDOFF_OUTBOX_DB"], env)
    (row,) = box.add(CONTENT, ["webhook"])
    assert box.deliver(row) is False and box.status(row) == "pending"
    assert box.deliver_due() == 0  # not due before the backoff (1 s here)
    webhook.status = 200
    time.sleep(1.2)
    assert box.deliver_due() == 1
    assert box.deliver_due() == 0
    assert len(webhook.wait(1)) == 1 and box.status(row) == "sent"


def test_smtp_refusal_is_retried(fakes, env):
    webhook, sink = fakes
    sink.refuse = True
    box = Outbox(env["HANDOFF_OUTBOX_DB"], env)
    (row,) = box.add(CONTENT, ["email"])
    assert box.deliver(row) is False
    sink.refuse = False
    time.sleep(1.2)
    assert box.deliver_due() == 1 and len(sink.wait(1)) == 1


def test_a_restarted_process_sends_what_was_left_pending(fakes, env):
    """The first process fails to send and goes away; a new one's worker sends once."""
    webhook, sink = fakes
    webhook.status = 500
    first = Outbox(env["HANDOFF_OUTBOX_DB"], env)
    (row,) = first.add(CONTENT, ["webhook"])
    assert first.deliver(row) is False
    first.engine.dispose()
    webhook.status = 200
    restarted = Outbox(env["HANDOFF_OUTBOX_DB"], env)
    restarted.start_worker()
    webhook.wait(1, timeout=15)
    time.sleep(2.5)  # the worker keeps polling: still one
    assert len(webhook.posts) == 1 and restarted.status(row) == "sent"


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
    time.sleep(0.5)
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
    time.sleep(0.5)
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
