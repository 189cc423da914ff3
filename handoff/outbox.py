"""Delivers hand-off requests to the training team (docs/handoff.md).

A hand-off is written to an outbox table in the tracker store's database, one row per
transport (webhook, e-mail), and sent from there: at once by the action that records
it, and by a background worker that retries failed sends with backoff and picks up
rows left pending by a restart. A row is sent by whoever claims it with one atomic
UPDATE (`... WHERE status = 'pending'`), so with several action servers on one database
each row is sent once. Only a process that dies between sending and marking the row
sent (a window of milliseconds) can cause a second send, after the claim expires.

Configuration, from the environment:
    HANDOFF_WEBHOOK_URL      POST of JSON {"text": ...}; 2xx is success
    HANDOFF_SMTP_HOST, HANDOFF_SMTP_PORT (default 25), HANDOFF_EMAIL_FROM,
    HANDOFF_EMAIL_TO (comma-separated), optional HANDOFF_SMTP_USER,
    HANDOFF_SMTP_PASSWORD, HANDOFF_SMTP_STARTTLS (true/false)
    HANDOFF_CONTACT          whom to contact when neither transport is set
    HANDOFF_OUTBOX_DB        SQLAlchemy URL of the outbox; default: PostgreSQL from
                             DB_* (as config/endpoints.py), else sqlite:///rasa_tracker.db
    HANDOFF_RETRY_SECONDS    first retry delay (default 30, doubled up to an hour)
"""
import json
import logging
import os
import smtplib
import threading
import time
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import quote, urlsplit

import requests
import sqlalchemy as sa

logger = logging.getLogger(__name__)
# urllib3 logs each request's path at DEBUG, and a webhook's path is its secret token.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

WEBHOOK, EMAIL = "webhook", "email"
SEND_TIMEOUT_SECONDS = 5
CLAIM_SECONDS = 120  # longer than any send; a claim older than this was lost with its process
MAX_RETRY_SECONDS = 3600
TRUE = {"1", "true", "yes", "on"}
SMTP_REQUIRED = ("HANDOFF_SMTP_HOST", "HANDOFF_EMAIL_FROM", "HANDOFF_EMAIL_TO")


class SendError(Exception):
    """A send that failed and should be retried; the message never holds a secret."""


def configuration_problems(env: Mapping[str, str]) -> List[str]:
    """One clear sentence per half-configured transport (used by `make run`)."""
    problems = []
    present = [var for var in SMTP_REQUIRED if env.get(var)]
    optional = [var for var in ("HANDOFF_SMTP_PORT", "HANDOFF_SMTP_USER", "HANDOFF_SMTP_PASSWORD",
                                "HANDOFF_SMTP_STARTTLS") if env.get(var)]
    if (present or optional) and len(present) < len(SMTP_REQUIRED):
        missing = [var for var in SMTP_REQUIRED if not env.get(var)]
        problems.append(f"hand-off e-mail: {', '.join(present + optional)} set but "
                        f"{', '.join(missing)} missing")
    if env.get("HANDOFF_SMTP_PORT") and not env["HANDOFF_SMTP_PORT"].isdigit():
        problems.append("HANDOFF_SMTP_PORT must be a number")
    if bool(env.get("HANDOFF_SMTP_USER")) != bool(env.get("HANDOFF_SMTP_PASSWORD")):
        problems.append("hand-off e-mail: HANDOFF_SMTP_USER and HANDOFF_SMTP_PASSWORD go together")
    for var in ("HANDOFF_EMAIL_FROM", "HANDOFF_EMAIL_TO"):
        for address in (env.get(var) or "").split(","):
            if address.strip() and not _is_plain_address(address.strip()):
                problems.append(f"{var} is not an e-mail address: {address.strip()!r}")
    url = env.get("HANDOFF_WEBHOOK_URL")
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
        problems.append("HANDOFF_WEBHOOK_URL must be an http:// or https:// URL")
    return problems


def _is_plain_address(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    return bool(local and domain) and not any(c in address for c in " \r\n<>,;\"")


def transports(env: Mapping[str, str] = os.environ) -> List[str]:
    """The transports fully configured in `env`."""
    found = []
    if env.get("HANDOFF_WEBHOOK_URL"):
        found.append(WEBHOOK)
    if all(env.get(var) for var in SMTP_REQUIRED):
        found.append(EMAIL)
    return found


def database_url(env: Mapping[str, str] = os.environ) -> str:
    if env.get("HANDOFF_OUTBOX_DB"):
        return env["HANDOFF_OUTBOX_DB"]
    if env.get("DB_HOST"):
        password = env.get("DB_PASSWORD")
        user = quote(env.get("DB_USER") or "postgres") + (f":{quote(password)}" if password else "")
        return (f"postgresql+psycopg2://{user}@{env['DB_HOST']}:{env.get('DB_PORT') or 5432}/"
                f"{env.get('DB_NAME') or 'rasa'}")
    return "sqlite:///rasa_tracker.db"


# -- the two transports ---------------------------------------------------------

def send_webhook(content: Dict[str, Any], env: Mapping[str, str] = os.environ) -> None:
    url = env["HANDOFF_WEBHOOK_URL"]
    host = urlsplit(url).hostname  # the URL's path may hold a token: never logged
    try:
        response = requests.post(url, json={"text": content["webhook_text"],
                                            "conversation_id": content["conversation_id"],
                                            "channel": content["channel"],
                                            "contact": content["contact"]},
                                 timeout=SEND_TIMEOUT_SECONDS)
    except requests.RequestException as e:
        raise SendError(f"webhook at {host}: {type(e).__name__}")
    if not 200 <= response.status_code < 300:
        raise SendError(f"webhook at {host} answered {response.status_code}")


def email_message(content: Dict[str, Any], env: Mapping[str, str]) -> EmailMessage:
    """The e-mail; user text only in the body, the reply address as a parsed Address
    (the strict policy refuses a header with a line break, so nothing is injected)."""
    message = EmailMessage()
    message["Subject"] = "Hand-off request from the training formats assistant"
    message["From"] = env["HANDOFF_EMAIL_FROM"]
    message["To"] = ", ".join(a.strip() for a in env["HANDOFF_EMAIL_TO"].split(",") if a.strip())
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=env["HANDOFF_EMAIL_FROM"].rpartition("@")[2])
    if content.get("reply_to"):
        local, _, domain = content["reply_to"].rpartition("@")
        message["Reply-To"] = Address(addr_spec=f"{local}@{domain}")
    message.set_content(content["text"])
    return message


def send_email(content: Dict[str, Any], env: Mapping[str, str] = os.environ) -> None:
    host, port = env["HANDOFF_SMTP_HOST"], int(env.get("HANDOFF_SMTP_PORT") or 25)
    try:
        message = email_message(content, env)
        with smtplib.SMTP(host, port, timeout=SEND_TIMEOUT_SECONDS) as smtp:
            if (env.get("HANDOFF_SMTP_STARTTLS") or "").lower() in TRUE:
                smtp.starttls()
            if env.get("HANDOFF_SMTP_USER"):
                smtp.login(env["HANDOFF_SMTP_USER"], env.get("HANDOFF_SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except smtplib.SMTPResponseException as e:
        raise SendError(f"SMTP server {host}:{port} refused: {e.smtp_code}")
    except (smtplib.SMTPException, OSError, ValueError) as e:
        raise SendError(f"SMTP server {host}:{port}: {type(e).__name__}")


SENDERS = {WEBHOOK: send_webhook, EMAIL: send_email}


# -- the outbox -----------------------------------------------------------------

metadata = sa.MetaData()
outbox_table = sa.Table(
    "handoff_outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.String(64), nullable=False),
    sa.Column("transport", sa.String(16), nullable=False),
    sa.Column("content", sa.Text, nullable=False),  # JSON; never a secret
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_try", sa.Float, nullable=False),
    sa.Column("claimed_until", sa.Float, nullable=False, default=0.0),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("handoff_id", "transport"),
)


class Outbox:
    def __init__(self, url: str, env: Mapping[str, str] = os.environ) -> None:
        self.env = env
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        metadata.create_all(self.engine)
        self._wake = threading.Event()
        self._worker: Optional[threading.Thread] = None

    def add(self, content: Dict[str, Any], names: List[str]) -> List[int]:
        """Records one hand-off for each transport; returns the rows' ids."""
        handoff_id, now = uuid.uuid4().hex, time.time()
        ids = []
        with self.engine.begin() as db:
            for name in names:
                result = db.execute(outbox_table.insert().values(
                    handoff_id=handoff_id, transport=name, content=json.dumps(content),
                    status="pending", attempts=0, next_try=now, claimed_until=0.0, created=now))
                ids.append(result.inserted_primary_key[0])
        return ids

    def _claim(self, row_id: int, now: float) -> bool:
        t = outbox_table.c
        due = sa.or_(sa.and_(t.status == "pending", t.next_try <= now),
                     sa.and_(t.status == "sending", t.claimed_until < now))
        with self.engine.begin() as db:
            result = db.execute(outbox_table.update().where(t.id == row_id).where(due).values(
                status="sending", claimed_until=now + CLAIM_SECONDS, attempts=t.attempts + 1))
        return result.rowcount == 1

    def deliver(self, row_id: int) -> bool:
        """Claims and sends one row. True if it is sent (by this call or before)."""
        now = time.time()
        if not self._claim(row_id, now):
            return self.status(row_id) == "sent"
        with self.engine.connect() as db:
            row = db.execute(sa.select(outbox_table).where(outbox_table.c.id == row_id)).one()
        t = outbox_table.c
        try:
            SENDERS[row.transport](json.loads(row.content), self.env)
        except (SendError, KeyError) as e:
            delay = min(self.retry_seconds() * 2 ** (row.attempts - 1), MAX_RETRY_SECONDS)
            logger.warning("Hand-off %s by %s failed (attempt %d), retrying in %.0f s: %s",
                           row.handoff_id, row.transport, row.attempts, delay, e)
            with self.engine.begin() as db:
                db.execute(outbox_table.update().where(t.id == row_id).values(
                    status="pending", next_try=time.time() + delay, claimed_until=0.0,
                    last_error=str(e)))
            return False
        with self.engine.begin() as db:
            db.execute(outbox_table.update().where(t.id == row_id).values(
                status="sent", sent_at=time.time(), last_error=None))
        logger.info("Hand-off %s sent by %s.", row.handoff_id, row.transport)
        return True

    def deliver_due(self) -> int:
        """Sends every row that is due; returns how many were sent."""
        t, now = outbox_table.c, time.time()
        with self.engine.connect() as db:
            ids = [r.id for r in db.execute(sa.select(t.id).where(sa.or_(
                sa.and_(t.status == "pending", t.next_try <= now),
                sa.and_(t.status == "sending", t.claimed_until < now)))).all()]
        return sum(self.deliver(row_id) for row_id in ids)

    def status(self, row_id: int) -> Optional[str]:
        with self.engine.connect() as db:
            return db.execute(sa.select(outbox_table.c.status)
                              .where(outbox_table.c.id == row_id)).scalar()

    def retry_seconds(self) -> float:
        return float(self.env.get("HANDOFF_RETRY_SECONDS") or 30)

    def start_worker(self) -> None:
        """Retries in the background, checking every few seconds (and at once on wake)."""
        if self._worker is not None:
            return
        self._worker = threading.Thread(target=self._run, name="handoff-outbox", daemon=True)
        self._worker.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        poll = min(self.retry_seconds(), 5.0)
        while True:
            try:
                self.deliver_due()
            except Exception:  # noqa: BLE001 - the worker must outlive a database hiccup
                logger.exception("The hand-off outbox worker failed; trying again shortly.")
            self._wake.wait(poll)
            self._wake.clear()
