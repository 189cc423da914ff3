"""Slack end to end, offline: a fake Slack Web API on a free port, signed Events API
and interactivity requests to Rasa's /webhooks/slack/webhook, the credentials
written by config/credentials.py from environment variables."""
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Dict, List, Optional
from urllib.parse import urlencode

import pytest
import requests

from devstack import ROOT, RasaStack, free_port

pytestmark = pytest.mark.integration  # servers, services or the trained model

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
BOT_USER = "UBOT0001"
SPOC = "Small Private Online Course"
MOOC = "Massive Open Online Course"
APOLOGY = "Sorry, something went wrong on my side"
ids = count(1)


class FakeSlackApi:
    """Slack's Web API, as far as chat.postMessage goes; records every call."""

    def __init__(self) -> None:
        self.calls: List[Dict] = []
        self.changed = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake.changed:
                    fake.calls.append({"path": self.path,
                                       "auth": self.headers.get("Authorization"),
                                       "body": json.loads(body or b"{}")})
                    fake.changed.notify_all()
                reply = json.dumps({"ok": True, "ts": f"{time.time():.6f}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posts(self, channel: str) -> List[Dict]:
        with self.changed:
            return [c["body"] for c in self.calls if c["body"].get("channel") == channel]

    def wait(self, channel: str, n: int = 1, timeout: float = 40) -> List[Dict]:
        """Waits for at least n posts to `channel`, then returns them all."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.posts(channel)) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"only {self.posts(channel)} posted to {channel}"
                self.changed.wait(left)
            return self.posts(channel)


@pytest.fixture(scope="module")
def slack(tmp_path_factory):
    api = FakeSlackApi()
    work = tmp_path_factory.mktemp("slack")
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": api.url + "/api/"}
    (work / "base.yml").write_text("rest:\n")
    subprocess.run([sys.executable, str(ROOT / "config" / "credentials.py"),
                    "--base", str(work / "base.yml"), "--out", str(work / "channels.yml")],
                   env={"PATH": "/usr/bin:/bin", **env}, check=True)
    credentials = (work / "channels.yml").read_text()
    assert SECRET not in credentials and TOKEN not in credentials  # only ${VAR}s
    with RasaStack(work / "stack", credentials=credentials, env=env,
                   rasa_args=["--enable-api"]) as stack:
        stack.api = api
        stack.webhook = stack.url + "/webhooks/slack/webhook"
        yield stack
    api.server.shutdown()


def sign(body: bytes, timestamp: Optional[int] = None, secret: str = SECRET) -> Dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def event(text: str, user: str, channel: str, kind: str = "message",
          channel_type: str = "im", thread_ts: Optional[str] = None, **extra) -> Dict:
    ev = {"type": kind, "user": user, "text": text, "channel": channel,
          "channel_type": channel_type, "ts": f"{time.time():.6f}", **extra}
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return {"token": "legacy", "team_id": "T0001", "api_app_id": "A0001",
            "type": "event_callback", "event_id": f"Ev{next(ids):08d}",
            "event_time": int(time.time()), "event": ev,
            "authorizations": [{"user_id": BOT_USER, "is_bot": True}]}


def post_event(stack, payload: Dict, content_type: str = "application/json",
               headers: Optional[Dict] = None, signed: bool = True,
               timestamp: Optional[int] = None) -> requests.Response:
    body = json.dumps(payload).encode()
    h = {"Content-Type": content_type, **(sign(body, timestamp) if signed else {}),
         **(headers or {})}
    return requests.post(stack.webhook, data=body, headers=h, timeout=10)


def click(stack, user: str, channel: str, value: str, signed: bool = True,
          thread_ts: Optional[str] = None) -> requests.Response:
    message = {"type": "message", "ts": "1700000000.000200", "text": "buttons"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T0001"},
               "channel": {"id": channel}, "trigger_id": f"trigger.{next(ids)}",
               "container": {"type": "message", "channel_id": channel,
                             "message_ts": message["ts"]},
               "message": message,
               "actions": [{"type": "button", "action_id": "rasa_button_0",
                            "block_id": "b1", "value": value,
                            "action_ts": f"{time.time():.6f}"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               **(sign(body) if signed else {})}
    return requests.post(stack.webhook, data=body, headers=headers, timeout=10)


def last_user_text(stack, sender: str, expected: str, timeout: float = 15) -> str:
    """The text of the sender's latest user event, once it equals `expected` (the
    tracker is saved after the replies are sent) or when `timeout` is over."""
    deadline = time.monotonic() + timeout
    while True:
        url = f"{stack.url}/conversations/{sender}/tracker"
        events = requests.get(url, timeout=10).json()["events"]
        text = [e for e in events if e["event"] == "user"][-1]["text"]
        if text == expected or time.monotonic() > deadline:
            return text
        time.sleep(0.3)


def assert_only(stack, channel: str, n: int) -> List[Dict]:
    """After the n-th expected reply arrived, checks that nothing else follows."""
    stack.api.wait(channel, n)
    time.sleep(1.0)
    posts = stack.api.posts(channel)
    assert len(posts) == n, posts
    return posts


def test_url_verification_answers_signed_challenge_only(slack):
    payload = {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMm",
               "type": "url_verification"}
    r = post_event(slack, payload, content_type="application/json; charset=utf-8")
    assert r.status_code == 200
    assert r.json() == {"challenge": payload["challenge"]}
    assert post_event(slack, payload, signed=False).status_code == 401


def test_dm_question_answered_end_to_end_with_charset_content_type(slack):
    r = post_event(slack, event("What is a SPOC?", "U_DM", "D_DM"),
                   content_type="application/json; charset=utf-8")
    assert r.status_code == 200
    (reply,) = assert_only(slack, "D_DM", 1)
    assert SPOC in reply["text"]
    assert "thread_ts" not in reply and "as_user" not in reply
    call = next(c for c in slack.api.calls if c["body"] is reply)
    assert call["path"] == "/api/chat.postMessage"
    assert call["auth"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("case", ["forged", "wrong_secret", "unsigned", "stale", "future"])
def test_bad_signatures_are_refused_and_not_answered(slack, case):
    user, channel = f"U_{case.upper()}", f"D_{case.upper()}"
    payload = event("What is a SPOC?", user, channel)
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign(body)}
    if case == "forged":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif case == "wrong_secret":
        headers.update(sign(body, secret="not-the-secret"))
    elif case == "unsigned":
        del headers["X-Slack-Signature"], headers["X-Slack-Request-Timestamp"]
    else:  # a correctly signed request replayed 10 minutes later (or too early)
        headers.update(sign(body, int(time.time()) + (-600 if case == "stale" else 600)))
    r = requests.post(slack.webhook, data=body, headers=headers, timeout=10)
    assert r.status_code in (400, 401)
    # A genuine message from the same user afterwards gets the only answer.
    assert post_event(slack, event("hello", user, channel)).status_code == 200
    assert_only(slack, channel, 1)


def test_slack_retries_are_not_answered_twice(slack):
    payload = event("What is a SPOC?", "U_RETRY", "D_RETRY")
    assert post_event(slack, payload).status_code == 200
    slack.api.wait("D_RETRY", 1)
    for n, reason in ((1, "http_timeout"), (2, "http_error"), (3, "unknown_error")):
        r = post_event(slack, payload, headers={"X-Slack-Retry-Num": str(n),
                                                "X-Slack-Retry-Reason": reason})
        assert r.status_code == 200
    # Same user, new event: answered, and the retries produced nothing before it.
    assert post_event(slack, event("What is a MOOC?", "U_RETRY", "D_RETRY")).status_code == 200
    first, second = assert_only(slack, "D_RETRY", 2)
    assert SPOC in first["text"] and MOOC in second["text"]


def test_retry_of_an_event_never_received_is_answered(slack):
    payload = event("What is a SPOC?", "U_LOST", "D_LOST")
    r = post_event(slack, payload, headers={"X-Slack-Retry-Num": "1",
                                            "X-Slack-Retry-Reason": "http_error"})
    assert r.status_code == 200
    (reply,) = assert_only(slack, "D_LOST", 1)
    assert SPOC in reply["text"]


def test_channel_mention_stripped_and_answered_once_in_channel(slack):
    text = f"<@{BOT_USER}> What is a SPOC?"
    # Slack sends both a message.channels event and an app_mention for one mention.
    assert post_event(slack, event(text, "U_MENTION", "C_MENTION",
                                   channel_type="channel")).status_code == 200
    assert post_event(slack, event(text, "U_MENTION", "C_MENTION", kind="app_mention",
                                   channel_type="channel")).status_code == 200
    (reply,) = assert_only(slack, "C_MENTION", 1)
    assert SPOC in reply["text"] and "thread_ts" not in reply
    expected = "What is a SPOC?"
    assert last_user_text(slack, "U_MENTION", expected) == expected


def test_question_in_thread_answered_in_thread(slack):
    thread = "1700000000.000100"
    payload = event(f"<@{BOT_USER}> what is a spoc", "U_THREAD", "C_THREAD",
                    kind="app_mention", channel_type="channel", thread_ts=thread)
    assert post_event(slack, payload).status_code == 200
    (reply,) = slack.api.wait("C_THREAD", 1)
    assert reply["thread_ts"] == thread and SPOC in reply["text"]


def test_bot_messages_and_other_channels_ignored(slack):
    own = event("What is a SPOC?", BOT_USER, "D_IGNORE", bot_id="B0001")
    edited = event("What is a SPOC?", "U_IGNORE", "D_IGNORE", subtype="message_changed")
    unmentioned = event("What is a SPOC?", "U_IGNORE", "D_IGNORE", channel_type="channel")
    for payload in (own, edited, unmentioned):
        assert post_event(slack, payload).status_code == 200
    assert post_event(slack, event("hello", "U_IGNORE", "D_IGNORE")).status_code == 200
    assert_only(slack, "D_IGNORE", 1)


def test_buttons_render_as_block_kit_and_clicks_reach_the_bot(slack):
    assert post_event(slack, event("hello", "U_BUTTON", "D_BUTTON")).status_code == 200
    (greeting,) = slack.api.wait("D_BUTTON", 1)
    section, actions = greeting["blocks"]
    assert section["type"] == "section" and greeting["text"]
    assert actions["type"] == "actions"
    buttons = actions["elements"]
    assert buttons and all(b["type"] == "button" and b["action_id"] for b in buttons)
    mooc = next(b for b in buttons if "mooc" in b["value"].lower())
    assert mooc["text"]["type"] == "plain_text" and mooc["text"]["text"]

    assert click(slack, "U_BUTTON", "D_BUTTON", mooc["value"], signed=False).status_code == 401
    assert click(slack, "U_BUTTON", "D_BUTTON", mooc["value"]).status_code == 200
    _, answer = assert_only(slack, "D_BUTTON", 2)
    assert MOOC in answer["text"]
    expected = mooc["value"]
    assert last_user_text(slack, "U_BUTTON", expected) == expected


def test_click_in_thread_answered_in_thread(slack):
    thread = "1700000000.000300"
    r = click(slack, "U_CLICKTHREAD", "C_CLICKTHREAD", '/ask_definition{"format":"spoc"}',
              thread_ts=thread)
    assert r.status_code == 200
    (reply,) = slack.api.wait("C_CLICKTHREAD", 1)
    assert reply["thread_ts"] == thread and SPOC in reply["text"]


def test_apology_when_the_action_server_is_down(slack):
    slack.stop_actions()
    try:
        thread = "1700000000.000400"
        payload = event(f"<@{BOT_USER}> What is a SPOC?", "U_DOWN", "C_DOWN",
                        kind="app_mention", channel_type="channel", thread_ts=thread)
        assert post_event(slack, payload).status_code == 200
        (reply,) = assert_only(slack, "C_DOWN", 1)
        assert APOLOGY in reply["text"] and reply["thread_ts"] == thread
    finally:
        slack.start_actions()
