"""Microsoft Teams (Bot Framework) end to end, offline: fake OpenID metadata, JWKS,
token endpoint and Bot Connector on a free port, JWTs signed with RSA keys made
here, activities posted to Rasa's /webhooks/botframework/webhook."""
import base64
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
from urllib.parse import parse_qs, unquote

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devstack import ROOT, RasaStack, free_port

pytestmark = pytest.mark.integration  # servers, services or the trained model

APP_ID = "6f1c6a1e-0000-4000-8000-00000000b07a"
APP_PASSWORD = "test~app.password$secret"
TENANT = "tenant-1"
ISSUER = "https://api.botframework.com"
SPOC = "Small Private Online Course"
MOOC = "Massive Open Online Course"
COOC = "Corporate Online Open Course"
APOLOGY = "Sorry, something went wrong on my side"
ids = count(1)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> Dict:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig",
            "endorsements": ["msteams", "webchat"]}


KEY, OTHER_KEY, ROTATED_KEY = new_key(), new_key(), new_key()


class FakeMicrosoft(ThreadingHTTPServer):
    """OpenID metadata, JWKS, token endpoint and Bot Connector, recording requests."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.keys = [jwk(KEY, "key-1")]
        self.requests: List[Dict] = []
        self.changed = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def reply(self, data: Dict, status: int = 200) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def record(self, **data) -> None:
                with fake.changed:
                    fake.requests.append({"path": self.path,
                                          "auth": self.headers.get("Authorization"), **data})
                    fake.changed.notify_all()

            def do_GET(self) -> None:
                self.record()
                if self.path == "/openid":
                    self.reply({"issuer": ISSUER, "jwks_uri": fake.url + "/keys",
                                "id_token_signing_alg_values_supported": ["RS256"]})
                elif self.path == "/keys":
                    self.reply({"keys": fake.keys})
                else:
                    self.reply({}, 404)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == f"/{TENANT}/oauth2/v2.0/token":
                    self.record(form={k: v[0] for k, v in parse_qs(body.decode()).items()})
                    self.reply({"token_type": "Bearer", "expires_in": 3599,
                                "ext_expires_in": 3599, "access_token": "bf-access-token"})
                elif "/v3/conversations/" in self.path:
                    conversation = unquote(self.path.split("/v3/conversations/")[1]
                                           .split("/")[0])
                    self.record(conversation=conversation, activity=json.loads(body))
                    self.reply({"id": f"reply-{next(ids)}"})
                else:
                    self.reply({}, 404)

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def count(self, path: str) -> int:
        with self.changed:
            return sum(r["path"] == path for r in self.requests)

    def replies(self, conversation: str) -> List[Dict]:
        with self.changed:
            return [r for r in self.requests if r.get("conversation") == conversation]

    def wait(self, conversation: str, n: int = 1, timeout: float = 40) -> List[Dict]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.replies(conversation)) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"only {self.replies(conversation)} for {conversation}"
                self.changed.wait(left)
            return self.replies(conversation)


@pytest.fixture(scope="module")
def teams(tmp_path_factory):
    work = tmp_path_factory.mktemp("teams")
    port = free_port()
    ms = f"http://127.0.0.1:{port}"
    env = {"TEAMS_APP_ID": APP_ID, "TEAMS_APP_PASSWORD": APP_PASSWORD,
           "TEAMS_TENANT_ID": TENANT, "TEAMS_OPENID_METADATA_URL": ms + "/openid",
           "TEAMS_TOKEN_URL": f"{ms}/{TENANT}/oauth2/v2.0/token"}
    (work / "base.yml").write_text("rest:\n")
    subprocess.run([sys.executable, str(ROOT / "config" / "credentials.py"),
                    "--base", str(work / "base.yml"), "--out", str(work / "channels.yml")],
                   env={"PATH": "/usr/bin:/bin", **env}, check=True)
    credentials = (work / "channels.yml").read_text()
    assert APP_PASSWORD not in credentials
    assert credentials.rstrip().endswith("token_url: ${TEAMS_TOKEN_URL}")
    # Tests rotate keys right after refusing unknown ones: no refresh rate limit.
    credentials += "  min_key_refresh_seconds: 0\n"
    # Microsoft's endpoints are down while the server starts: it must start anyway.
    stack = RasaStack(work / "stack", credentials=credentials, env=env,
                      rasa_args=["--enable-api"])
    with stack:
        fake = FakeMicrosoft(port)
        stack.ms = fake
        stack.service_url = ms + "/teams/emea/"
        stack.webhook = stack.url + "/webhooks/botframework/webhook"
        yield stack
        fake.shutdown()
        fake.server_close()


def token(stack, key=KEY, kid: Optional[str] = "key-1", alg: str = "RS256", **claims) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": APP_ID, "exp": now + 3600, "nbf": now - 60,
               "serviceurl": stack.service_url, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def activity(stack, text: Optional[str], conversation: str, user: str = "29:user-1",
             **extra) -> Dict:
    return {"type": "message", "id": f"act-{next(ids)}", "channelId": "msteams",
            "serviceUrl": stack.service_url, "timestamp": "2024-01-01T10:00:00.000Z",
            "from": {"id": user, "name": "Alice", "aadObjectId": "aad-alice"},
            "conversation": {"id": conversation, "conversationType": "personal",
                             "tenantId": TENANT},
            "recipient": {"id": f"28:{APP_ID}", "name": "Training Bot"},
            "text": text, "textFormat": "plain", "locale": "en-US",
            "channelData": {"tenant": {"id": TENANT}}, **extra}


def send(stack, act: Dict, auth: Optional[str] = "default") -> requests.Response:
    headers = {}
    if auth == "default":
        headers["Authorization"] = f"Bearer {token(stack)}"
    elif auth is not None:
        headers["Authorization"] = auth
    return requests.post(stack.webhook, json=act, headers=headers, timeout=20)


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


def assert_only(stack, conversation: str, n: int) -> List[Dict]:
    stack.ms.wait(conversation, n)
    time.sleep(1.0)
    replies = stack.ms.replies(conversation)
    assert len(replies) == n, replies
    return replies


def test_question_answered_end_to_end(teams):
    # Keys are fetched on first use, not at start-up.
    assert teams.ms.count("/openid") == 0
    act = activity(teams, "What is a SPOC?", "a:1conv-spoc", user="29:user-spoc")
    assert send(teams, act).status_code == 200
    (reply,) = assert_only(teams, "a:1conv-spoc", 1)
    assert reply["path"] == "/teams/emea/v3/conversations/a%3A1conv-spoc/activities"
    assert reply["auth"] == "Bearer bf-access-token"
    out = reply["activity"]
    assert out["type"] == "message" and SPOC in out["text"]
    assert out["replyToId"] == act["id"]
    assert out["from"] == act["recipient"] and out["recipient"]["id"] == "29:user-spoc"
    assert out["conversation"]["id"] == "a:1conv-spoc"
    (token_request,) = [r for r in teams.ms.requests if "form" in r]
    assert token_request["path"] == f"/{TENANT}/oauth2/v2.0/token"
    assert token_request["form"] == {"grant_type": "client_credentials", "client_id": APP_ID,
                                     "client_secret": APP_PASSWORD,
                                     "scope": "https://api.botframework.com/.default"}
    assert teams.ms.count("/openid") == 1 and teams.ms.count("/keys") == 1


def public_pem() -> bytes:
    return KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def hs256_with_public_key(stack) -> str:
    """The classic key-confusion forgery: HMAC keyed with the public key."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-1"}).encode())
    claims = b64(json.dumps({"iss": ISSUER, "aud": APP_ID, "exp": int(time.time()) + 600,
                             "serviceurl": stack.service_url}).encode())
    mac = hmac.new(public_pem(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(mac)}"


BAD_AUTH = {
    "no_header": lambda s: None,
    "not_bearer": lambda s: "Basic dXNlcjpwYXNz",
    "garbage": lambda s: "Bearer not.a.jwt",
    "alg_none": lambda s: "Bearer " + token(s, key=None, alg="none"),
    "alg_none_no_kid": lambda s: "Bearer " + token(s, key=None, kid=None, alg="none"),
    "hs256_with_public_key": lambda s: "Bearer " + hs256_with_public_key(s),
    "wrong_audience": lambda s: "Bearer " + token(s, aud="someone-else"),
    "wrong_issuer": lambda s: "Bearer " + token(s, iss="https://sts.windows.net/evil/"),
    "unknown_key": lambda s: "Bearer " + token(s, key=OTHER_KEY, kid="rogue"),
    "wrong_key_known_kid": lambda s: "Bearer " + token(s, key=OTHER_KEY),
    "expired": lambda s: "Bearer " + token(s, exp=int(time.time()) - 3600,
                                           nbf=int(time.time()) - 7200),
    "not_yet_valid": lambda s: "Bearer " + token(s, nbf=int(time.time()) + 3600),
    "no_expiry": lambda s: "Bearer " + token(s, exp=None),
    "no_serviceurl_claim": lambda s: "Bearer " + token(s, serviceurl=None),
    "other_serviceurl_claim": lambda s: "Bearer " + token(
        s, serviceurl="https://evil.example/"),
}


@pytest.mark.parametrize("case", sorted(BAD_AUTH) + ["activity_serviceurl_differs"])
def test_bad_tokens_are_refused_and_not_answered(teams, case):
    conversation = f"a:1conv-{case}"
    act = activity(teams, "What is a SPOC?", conversation, user=f"29:user-{case}")
    if case == "activity_serviceurl_differs":
        act["serviceUrl"] = "https://evil.example/"  # the token names the real one
        auth = "default"
    else:
        auth = BAD_AUTH[case](teams)
    assert send(teams, act, auth).status_code == 401
    canary = activity(teams, "hello", conversation, user=f"29:user-{case}")
    assert send(teams, canary).status_code == 200
    (reply,) = assert_only(teams, conversation, 1)
    assert reply["activity"]["replyToId"] == canary["id"]


def test_new_signing_key_fetched_when_unknown_kid_arrives(teams):
    keys_fetched = teams.ms.count("/keys")
    teams.ms.keys = [jwk(KEY, "key-1"), jwk(ROTATED_KEY, "key-2")]
    act = activity(teams, "What is a SPOC?", "a:1conv-rotated", user="29:user-rotated")
    auth = "Bearer " + token(teams, key=ROTATED_KEY, kid="key-2")
    assert send(teams, act, auth).status_code == 200
    (reply,) = teams.ms.wait("a:1conv-rotated")
    assert SPOC in reply["activity"]["text"]
    assert teams.ms.count("/keys") == keys_fetched + 1


def test_at_mention_stripped_in_channel_thread(teams):
    conversation = "19:general@thread.tacv2;messageid=1700000000000"
    act = activity(teams, "<at>Training Bot</at> What is a SPOC?", conversation,
                   user="29:user-mention",
                   entities=[{"type": "mention", "text": "<at>Training Bot</at>",
                              "mentioned": {"id": f"28:{APP_ID}", "name": "Training Bot"}}])
    act["conversation"]["conversationType"] = "channel"
    assert send(teams, act).status_code == 200
    (reply,) = assert_only(teams, conversation, 1)
    assert "%3B" in reply["path"]  # the conversation id is URL-encoded
    assert SPOC in reply["activity"]["text"]
    expected = "What is a SPOC?"
    assert last_user_text(teams, "29:user-mention", expected) == expected


def test_buttons_render_as_hero_card_and_clicks_reach_the_bot(teams):
    conversation, user = "a:1conv-buttons", "29:user-buttons"
    assert send(teams, activity(teams, "hello", conversation, user=user)).status_code == 200
    (greeting,) = teams.ms.wait(conversation)
    (card,) = greeting["activity"]["attachments"]
    assert card["contentType"] == "application/vnd.microsoft.card.hero"
    assert card["content"]["text"]
    buttons = card["content"]["buttons"]
    assert buttons and all(b["type"] == "messageBack" and b["title"] for b in buttons)
    mooc = next(b for b in buttons if "mooc" in b["value"]["payload"].lower())

    # messageBack: Teams sends the button's text and value.
    back = activity(teams, mooc["text"], conversation, user=user, value=mooc["value"])
    assert send(teams, back).status_code == 200
    _, answer = teams.ms.wait(conversation, 2)
    assert MOOC in answer["activity"]["text"]
    expected = mooc["value"]["payload"]
    assert last_user_text(teams, user, expected) == expected

    # imBack: the value arrives as the message text.
    im = activity(teams, '/ask_definition{"format":"cooc"}', conversation, user=user)
    assert send(teams, im).status_code == 200
    _, _, answer = assert_only(teams, conversation, 3)
    assert COOC in answer["activity"]["text"]


def test_non_message_activities_get_no_reply(teams):
    update = activity(teams, None, "a:1conv-update", user="29:user-update",
                      type="conversationUpdate", membersAdded=[{"id": f"28:{APP_ID}"}])
    assert send(teams, update).status_code == 200
    assert send(teams, activity(teams, "hello", "a:1conv-update",
                                user="29:user-update")).status_code == 200
    assert_only(teams, "a:1conv-update", 1)


def test_access_token_fetched_once_and_cached(teams):
    assert sum("form" in r for r in teams.ms.requests) == 1
    assert all(r["auth"] == "Bearer bf-access-token"
               for r in teams.ms.requests if "conversation" in r)


def test_apology_when_the_action_server_is_down(teams):
    teams.stop_actions()
    try:
        act = activity(teams, "What is a SPOC?", "a:1conv-down", user="29:user-down")
        assert send(teams, act).status_code == 200
        (reply,) = assert_only(teams, "a:1conv-down", 1)
        assert APOLOGY in reply["activity"]["text"]
        assert reply["activity"]["replyToId"] == act["id"]
    finally:
        teams.start_actions()


def test_token_url_uses_the_tenant_and_construction_is_offline():
    from channels.teams import TeamsConnector

    start = time.monotonic()
    single = TeamsConnector.from_credentials({
        "app_id": APP_ID, "app_password": APP_PASSWORD, "tenant_id": "contoso.onmicrosoft.com",
        "openid_metadata_url": f"http://127.0.0.1:{free_port()}/unreachable"})
    multi = TeamsConnector.from_credentials({"app_id": APP_ID, "app_password": APP_PASSWORD})
    assert time.monotonic() - start < 2
    assert single.token_url == \
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert multi.token_url == "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    assert multi.openid_metadata_url == \
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    assert single.name() == multi.name() == "botframework"
