"""A fake webhook, an SMTP sink on 127.0.0.1 and a clock for the hand-off tests."""
import json
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from devstack import free_port
from handoff.outbox import outbox_table


class FakeWebhook:
    """Records JSON POSTs; answers `status` (set it to 503 to play a broken webhook)."""

    def __init__(self) -> None:
        self.posts: List[Dict] = []
        self.status = 200
        self.changed = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = fake.status
                if status < 300:
                    with fake.changed:
                        fake.posts.append(json.loads(body))
                        fake.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0001/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int = 1, timeout: float = 30) -> List[Dict]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.posts) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"only {len(self.posts)} webhook posts: {self.posts}"
                self.changed.wait(left)
            return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """An SMTP server that keeps what it receives; `refuse` makes it answer 451."""

    def __init__(self) -> None:
        self.messages: List[EmailMessage] = []
        self.envelopes: List[Dict] = []
        self.refuse = False
        self.changed = threading.Condition()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                if sink.refuse:
                    return "451 Requested action aborted: try again later"
                with sink.changed:
                    sink.envelopes.append({"from": envelope.mail_from,
                                           "to": list(envelope.rcpt_tos)})
                    sink.messages.append(message_from_bytes(envelope.content,
                                                            policy=policy.default))
                    sink.changed.notify_all()
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait(self, n: int = 1, timeout: float = 30) -> List[EmailMessage]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"only {len(self.messages)} e-mails"
                self.changed.wait(left)
            return list(self.messages)

    def close(self) -> None:
        self.controller.stop()


def handoff_env(webhook: FakeWebhook, sink: SmtpSink, db_url: str) -> Dict[str, str]:
    return {"HANDOFF_WEBHOOK_URL": webhook.url, "HANDOFF_SMTP_HOST": "127.0.0.1",
            "HANDOFF_SMTP_PORT": str(sink.port), "HANDOFF_EMAIL_FROM": "assistant@acme.example",
            "HANDOFF_EMAIL_TO": "training@acme.example", "HANDOFF_OUTBOX_DB": db_url,
            "HANDOFF_RETRY_SECONDS": "1"}


class Clock:
    """The outbox's time, moved on by the test instead of waiting."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def outbox_rows(db_url: str, conversation_id: Optional[str] = None) -> List[Dict]:
    """The outbox's rows (of one conversation), oldest first."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as db:
            if not sa.inspect(db).has_table(outbox_table.name):
                return []
            rows = [dict(r._mapping) for r in
                    db.execute(sa.select(outbox_table).order_by(outbox_table.c.id))]
    finally:
        engine.dispose()
    return [r for r in rows if conversation_id in (None, json.loads(r["content"])["conversation_id"])]
