"""The hand-off outbox (docs/handoff.md): hand-off requests the action server records, and
their delivery to the training team by the worker process (handoff/worker.py).

The action server writes one row per transport (webhook, e-mail) to the table
`handoff_outbox` in the tracker store's database and sends nothing itself; the worker
sends due rows, retries failed ones with backoff and picks up rows left behind by a
process that died. A row is sent by whoever claims it with one atomic UPDATE
(`... WHERE status = 'pending'`), so with several workers on one database each row is
sent once. Only a process that dies between sending and marking the row sent (a window
of milliseconds) can cause a second send, after the claim expires.

Nothing here connects or starts anything at import: an Outbox opens its database on
first use and creates the table then.

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
import time
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa

from config import endpoints

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


def database_url(env: Mapping[str, str] = os.environ) -> sa.engine.URL:
    """HANDOFF_OUTBOX_DB, else the tracker store's PostgreSQL (DB_*), else SQLite."""
    if env.get("HANDOFF_OUTBOX_DB"):
        return sa.engine.make_url(env["HANDOFF_OUTBOX_DB"])
    pg = endpoints.postgres_settings(dict(env))
    if pg:
        return sa.engine.URL.create("postgresql+psycopg2", username=pg["user"],
                                    password=env.get("DB_PASSWORD") or None, host=pg["host"],
                                    port=pg["port"], database=pg["db"])
    return sa.engine.make_url("sqlite:///rasa_tracker.db")


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
    """The outbox table in one database. `clock` gives the time (tests move it on)."""

    def __init__(self, url: Any, env: Mapping[str, str] = os.environ,
                 clock: Callable[[], float] = time.time) -> None:
        self.env, self.clock = env, clock
        url = sa.engine.make_url(url)
        # SQLite: wait for another process's write rather than fail; PostgreSQL: fail fast.
        connect_args = {"timeout": 30} if url.get_backend_name() == "sqlite" \
            else {"connect_timeout": 5}
        self.engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        self._table_ready = False

    def _db(self) -> sa.engine.Engine:
        """The engine, once the table exists (created by whichever process comes first)."""
        if not self._table_ready:
            try:
                metadata.create_all(self.engine)
            except sa.exc.DBAPIError:
                # Another process created it at the same moment (PostgreSQL refuses the
                # second CREATE TABLE); anything else fails again here.
                if not sa.inspect(self.engine).has_table(outbox_table.name):
                    raise
            self._table_ready = True
        return self.engine

    def add(self, content: Dict[str, Any], names: List[str]) -> List[int]:
        """Records one hand-off for each transport; returns the rows' ids."""
        handoff_id, now = uuid.uuid4().hex, self.clock()
        ids = []
        with self._db().begin() as db:
            for name in names:
                result = db.execute(outbox_table.insert().values(
                    handoff_id=handoff_id, transport=name, content=json.dumps(content),
                    status="pending", attempts=0, next_try=now, claimed_until=0.0, created=now))
                ids.append(result.inserted_primary_key[0])
        return ids

    @staticmethod
    def _due(now: float) -> Any:
        t = outbox_table.c
        return sa.or_(sa.and_(t.status == "pending", t.next_try <= now),
                      sa.and_(t.status == "sending", t.claimed_until < now))

    def _claim(self, row_id: int, now: float) -> bool:
        t = outbox_table.c
        with self._db().begin() as db:
            result = db.execute(outbox_table.update().where(t.id == row_id)
                                .where(self._due(now)).values(
                status="sending", claimed_until=now + CLAIM_SECONDS, attempts=t.attempts + 1))
        return result.rowcount == 1

    def deliver(self, row_id: int) -> bool:
        """Claims and sends one row. True if it is sent (by this call or before)."""
        if not self._claim(row_id, self.clock()):
            return self.status(row_id) == "sent"
        t = outbox_table.c
        with self.engine.connect() as db:
            row = db.execute(sa.select(outbox_table).where(t.id == row_id)).one()
        try:
            SENDERS[row.transport](json.loads(row.content), self.env)
        except (SendError, KeyError) as e:
            delay = min(self.retry_seconds() * 2 ** (row.attempts - 1), MAX_RETRY_SECONDS)
            logger.warning("Hand-off %s by %s failed (attempt %d), retrying in %.0f s: %s",
                           row.handoff_id, row.transport, row.attempts, delay, e)
            with self.engine.begin() as db:
                db.execute(outbox_table.update().where(t.id == row_id).values(
                    status="pending", next_try=self.clock() + delay, claimed_until=0.0,
                    last_error=str(e)))
            return False
        with self.engine.begin() as db:
            db.execute(outbox_table.update().where(t.id == row_id).values(
                status="sent", sent_at=self.clock(), last_error=None))
        logger.info("Hand-off %s sent by %s.", row.handoff_id, row.transport)
        return True

    def deliver_due(self) -> int:
        """Sends every row that is due; returns how many were sent."""
        with self._db().connect() as db:
            ids = [r.id for r in db.execute(
                sa.select(outbox_table.c.id).where(self._due(self.clock()))
                .order_by(outbox_table.c.id)).all()]
        return sum(self.deliver(row_id) for row_id in ids)

    def status(self, row_id: int) -> Optional[str]:
        with self._db().connect() as db:
            return db.execute(sa.select(outbox_table.c.status)
                              .where(outbox_table.c.id == row_id)).scalar()

    def outcome(self, ids: Iterable[int]) -> Optional[bool]:
        """True once every row is sent, False once one has failed a try, None while
        the worker has not tried them all yet."""
        t = outbox_table.c
        with self._db().connect() as db:
            rows = db.execute(sa.select(t.status, t.attempts).where(t.id.in_(list(ids)))).all()
        if all(r.status == "sent" for r in rows):
            return True
        if any(r.status == "pending" and r.attempts > 0 for r in rows):
            return False
        return None

    def retry_seconds(self) -> float:
        return float(self.env.get("HANDOFF_RETRY_SECONDS") or 30)
