"""Microsoft Teams (Bot Framework) connector: Rasa 3.6.21's `BotFrameworkInput`
with its defects fixed.

Credentials (see config/credentials.py, README):

    channels.teams.TeamsConnector:
      app_id: ${TEAMS_APP_ID}
      app_password: ${TEAMS_APP_PASSWORD}
      tenant_id: ${TEAMS_TENANT_ID}                     # optional (single-tenant bot)
      openid_metadata_url: ${TEAMS_OPENID_METADATA_URL} # optional override
      token_url: ${TEAMS_TOKEN_URL}                     # optional override
"""
import asyncio
import json
import logging
import re
import time
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text
from urllib.parse import quote

import aiohttp
import jwt
import yarl
from rasa.core.channels.botframework import BotFramework, BotFrameworkInput
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import CountingOutput, handle_turn, webhook_blueprint
from patches import rasa36

logger = logging.getLogger(__name__)

OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
DEFAULT_TENANT = "botframework.com"
TOKEN_SCOPE = "https://api.botframework.com/.default"
ISSUER = "https://api.botframework.com"
ALGORITHMS = ["RS256", "RS384", "RS512"]
CLOCK_SKEW_SECONDS = 300       # as Microsoft's Bot Framework SDKs
KEYS_MAX_AGE_SECONDS = 86400   # refresh the signing keys daily
FAILED_FETCH_RETRY_SECONDS = 10  # while we have no (fresh) keys
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15)
BEARER = re.compile(r"Bearer\s+(\S+)\s*$", re.IGNORECASE)
AT_MENTION = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)


class Unauthorized(Exception):
    """The request's token is missing or invalid."""


class SigningKeys:
    """Bot Framework's token signing keys, fetched lazily (async) and cached.

    Refreshed when older than a day, and when a token names an unknown key id
    (at most once every `min_refresh_seconds`, so forged kids can't make us
    hammer Microsoft's endpoint).
    """

    def __init__(self, metadata_url: Text, http: Callable[[], aiohttp.ClientSession],
                 min_refresh_seconds: float) -> None:
        self.metadata_url = metadata_url
        self.http = http
        self.min_refresh_seconds = min_refresh_seconds
        self.keys: Dict[Text, Dict[Text, Any]] = {}
        self.fetched_at: Optional[float] = None
        self.attempted_at: Optional[float] = None
        self.lock = asyncio.Lock()

    async def get(self, kid: Text) -> Optional[Dict[Text, Any]]:
        now = time.monotonic()
        since_attempt = float("inf") if self.attempted_at is None else now - self.attempted_at
        too_old = self.fetched_at is None or now - self.fetched_at > KEYS_MAX_AGE_SECONDS
        if (too_old and since_attempt >= FAILED_FETCH_RETRY_SECONDS) or \
                (kid not in self.keys and since_attempt >= self.min_refresh_seconds):
            await self.refresh(self.attempted_at)
        return self.keys.get(kid)

    async def refresh(self, seen_attempt: Optional[float]) -> None:
        async with self.lock:
            if self.attempted_at != seen_attempt:
                return  # refreshed by a concurrent request meanwhile
            self.attempted_at = time.monotonic()
            try:
                async with self.http().get(self.metadata_url) as r:
                    r.raise_for_status()
                    jwks_uri = (await r.json(content_type=None))["jwks_uri"]
                async with self.http().get(jwks_uri) as r:
                    r.raise_for_status()
                    keys = (await r.json(content_type=None))["keys"]
                self.keys = {k["kid"]: k for k in keys if "kid" in k}
                self.fetched_at = time.monotonic()
                logger.debug("Fetched %d Bot Framework signing keys.", len(self.keys))
            except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, TypeError,
                    ValueError) as e:
                logger.warning("Could not fetch Bot Framework signing keys from %s: %s",
                               self.metadata_url, e)


class AccessToken:
    """The bot's outbound OAuth token (client credentials), cached until expiry."""

    def __init__(self, token_url: Text, app_id: Text, app_password: Text,
                 http: Callable[[], aiohttp.ClientSession]) -> None:
        self.token_url = token_url
        self.app_id = app_id
        self.app_password = app_password
        self.http = http
        self.token: Optional[Text] = None
        self.expires_at = 0.0
        self.lock = asyncio.Lock()

    def _valid(self) -> bool:
        return self.token is not None and time.monotonic() < self.expires_at - 60

    async def get(self) -> Optional[Text]:
        if self._valid():
            return self.token
        async with self.lock:
            if self._valid():
                return self.token
            form = {"grant_type": "client_credentials", "client_id": self.app_id,
                    "client_secret": self.app_password, "scope": TOKEN_SCOPE}
            try:
                async with self.http().post(self.token_url, data=form) as r:
                    if r.status != 200:
                        logger.error("Bot Framework token request failed (%s): %s",
                                     r.status, (await r.text())[:500])
                        return None
                    data = await r.json(content_type=None)
                self.token = data["access_token"]
                self.expires_at = time.monotonic() + int(data.get("expires_in", 3600))
                return self.token
            except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, TypeError,
                    ValueError) as e:
                logger.error("Bot Framework token request to %s failed: %s",
                             self.token_url, e)
                return None

    def invalidate(self) -> None:
        self.token = None


class TeamsOutput(CountingOutput, BotFramework):
    """Replies to one activity, with aiohttp and the connector's cached token.

    Fixes over stock `BotFramework`: blocking `requests` calls (token and every
    reply) in the event loop; a token cache shared by all bots in the process and
    fetched from the hard-coded `botframework.com` tenant; buttons passed to Teams
    as Rasa dicts (`title`/`payload`, no action `type` or `value`), which Teams
    cannot render; replies that are not threaded to the question (`replyToId`).
    """

    def __init__(self, connector: "TeamsConnector", activity: Dict[Text, Any]) -> None:
        BotFramework.__init__(self, connector.app_id, connector.app_password,
                              activity["conversation"], activity.get("recipient") or {},
                              activity["serviceUrl"])
        self.connector = connector
        self.user = activity.get("from") or {}
        self.reply_to = activity.get("id")

    def prepare_message(self, recipient_id: Text,
                        message_data: Dict[Text, Any]) -> Dict[Text, Any]:
        data: Dict[Text, Any] = {
            "type": "message",
            "from": self.bot,
            "recipient": self.user or {"id": recipient_id},
            "conversation": {"id": self.conversation["id"]},
            "text": "",
        }
        if self.reply_to:
            data["replyToId"] = self.reply_to
        data.update(message_data)
        return data

    async def send(self, message_data: Dict[Text, Any]) -> None:
        url = "{}conversations/{}/activities".format(
            self.global_uri, quote(str(self.conversation["id"]), safe=""))
        for attempt in (1, 2):
            token = await self.connector.access_token.get()
            if token is None:
                logger.error("No Bot Framework token: reply to %s not sent.", url)
                return
            headers = {"Authorization": f"Bearer {token}"}
            try:
                # encoded=True: keep the conversation id percent-encoded as the
                # Bot Framework SDKs send it (yarl would decode ':', ';', '@').
                async with self.connector.http().post(yarl.URL(url, encoded=True),
                                                      json=message_data,
                                                      headers=headers) as r:
                    if r.status == 401 and attempt == 1:
                        self.connector.access_token.invalidate()
                        continue
                    if r.status >= 300:
                        logger.error("Bot Framework refused a reply (%s): %s",
                                     r.status, (await r.text())[:500])
                    return
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                logger.error("Could not post a reply to %s: %s", url, e)
                return

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send(self.prepare_message(
            recipient_id, {"text": text.strip(), "textFormat": "markdown"}))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        actions = [
            {
                "type": "messageBack",
                "title": b.get("title", ""),
                "text": b.get("title", ""),
                "displayText": b.get("title", ""),
                "value": {"payload": b.get("payload", b.get("title", ""))},
            }
            for b in buttons
        ]
        card = {"contentType": "application/vnd.microsoft.card.hero",
                "content": {"text": text, "buttons": actions}}
        await self.send(self.prepare_message(recipient_id, {"attachments": [card]}))


class TeamsConnector(InputChannel):
    """Bot Framework input on Rasa's `/webhooks/botframework/webhook`.

    A sibling of stock `BotFrameworkInput` (same name, so the same webhook path), not a
    subclass: its constructor downloads keys with blocking `requests` (below).

    Fixes over stock `BotFrameworkInput`:
    - the constructor downloads the OpenID metadata and keys with blocking
      `requests`, so the server cannot start when Microsoft is unreachable and
      later refreshes block the event loop: keys are fetched lazily with aiohttp;
    - a token signed by a key that appeared since the last download is refused
      until the daily refresh: an unknown `kid` triggers a (rate-limited) refresh;
    - the algorithm is taken from the token's own header and the issuer and the
      `serviceurl` claim are not checked: only RS256/384/512, issuer
      `https://api.botframework.com`, audience = app id, exp/nbf, and the
      service URL claim must equal the activity's `serviceUrl` (else a valid
      token could make the bot send its own access token to any URL);
    - the outbound token URL hard-codes the `botframework.com` tenant (rasa issue
      11787): `tenant_id` or `token_url` selects it;
    - `<at>…</at>` mentions reach NLU: stripped; messageBack/imBack values
      (button clicks) are ignored: the button's payload becomes the message;
    - the whole turn runs before the HTTP answer (Bot Framework times out after
      15 s): it runs in the background, and a silent turn gets an apology.
    """

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        rasa36.apply()
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(
            app_id=credentials.get("app_id"),
            app_password=credentials.get("app_password"),
            tenant_id=credentials.get("tenant_id"),
            openid_metadata_url=credentials.get("openid_metadata_url"),
            token_url=credentials.get("token_url"),
            min_key_refresh_seconds=float(credentials.get("min_key_refresh_seconds", 300)),
        )

    def __init__(self, app_id: Text, app_password: Text, tenant_id: Optional[Text] = None,
                 openid_metadata_url: Optional[Text] = None, token_url: Optional[Text] = None,
                 min_key_refresh_seconds: float = 300) -> None:
        if not app_id or not app_password:
            self.raise_missing_credentials_exception()
        self.app_id = str(app_id)
        self.app_password = str(app_password)
        self.tenant_id = tenant_id or None
        self.openid_metadata_url = openid_metadata_url or OPENID_METADATA_URL
        self.token_url = token_url or TOKEN_URL.format(tenant=self.tenant_id or DEFAULT_TENANT)
        self._session: Optional[aiohttp.ClientSession] = None
        self.signing_keys = SigningKeys(self.openid_metadata_url, self.http,
                                        min_key_refresh_seconds)
        self.access_token = AccessToken(self.token_url, self.app_id, self.app_password,
                                        self.http)
        self._tasks: Set[asyncio.Task] = set()

    @classmethod
    def name(cls) -> Text:
        return BotFrameworkInput.name()

    def http(self) -> aiohttp.ClientSession:
        """One client session per connector, created in the server's event loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        return self._session

    async def authenticate(self, auth_header: Optional[Text],
                           activity: Dict[Text, Any]) -> Dict[Text, Any]:
        """Returns the token's claims, or raises `Unauthorized`."""
        match = BEARER.match(auth_header or "")
        if not match:
            raise Unauthorized("no bearer token")
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise Unauthorized(f"malformed token: {e}")
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized(f"algorithm {header.get('alg')!r} not allowed")
        kid = header.get("kid")
        jwk = await self.signing_keys.get(kid) if kid else None
        if jwk is None:
            raise Unauthorized(f"unknown signing key {kid!r}")
        channel_id = activity.get("channelId")
        endorsements = jwk.get("endorsements")
        if channel_id and isinstance(endorsements, list) and channel_id not in endorsements:
            raise Unauthorized(f"key {kid!r} is not endorsed for channel {channel_id!r}")
        try:
            claims = jwt.decode(
                token, key=jwt.PyJWK(jwk).key, algorithms=ALGORITHMS,
                audience=self.app_id, issuer=ISSUER, leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]})
        except (jwt.PyJWTError, ValueError, TypeError) as e:
            raise Unauthorized(f"invalid token: {e}")
        claimed = claims.get("serviceurl") or claims.get("serviceUrl")
        actual = activity.get("serviceUrl")
        if not claimed or not isinstance(actual, str) \
                or str(claimed).rstrip("/") != actual.rstrip("/"):
            raise Unauthorized(f"serviceUrl {actual!r} does not match the token's "
                               f"{claimed!r}")
        return claims

    @staticmethod
    def text_of(activity: Dict[Text, Any]) -> Text:
        """The text for NLU: a clicked button's payload, else the mention-free text."""
        value = activity.get("value")
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if isinstance(value, dict) and isinstance(value.get("payload"), str):
            return value["payload"].strip()
        if isinstance(value, str) and value.strip():
            return value.strip()
        text = AT_MENTION.sub(" ", activity.get("text") or "")
        return re.sub(r"\s+", " ", text.replace("&nbsp;", " ")).strip()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        botframework_webhook = webhook_blueprint("botframework_webhook", __name__)

        @botframework_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                activity = json.loads(request.body)
                if not isinstance(activity, dict):
                    raise ValueError("not an object")
            except ValueError:
                activity = None
            try:
                await self.authenticate(request.headers.get("Authorization"), activity or {})
            except Unauthorized as e:
                logger.warning("Refused a Bot Framework request: %s.", e)
                return response.text("Unauthorized.", status=HTTPStatus.UNAUTHORIZED)
            if activity is None:
                return response.text("Malformed activity.", status=HTTPStatus.BAD_REQUEST)

            if activity.get("type") == "message":
                text = self.text_of(activity)
                if text and activity.get("conversation") and activity.get("from"):
                    metadata = BotFrameworkInput.add_attachments_to_metadata(activity, {
                        "conversation_id": activity["conversation"].get("id"),
                        "channel_id": activity.get("channelId"),
                        "tenant_id": (activity.get("channelData") or {})
                        .get("tenant", {}).get("id"),
                        # Who is writing, for a hand-off to the training team.
                        "user": {"id": activity["from"].get("id"),
                                 "name": activity["from"].get("name"),
                                 "aad_object_id": activity["from"].get("aadObjectId")},
                    })
                    message = UserMessage(text, TeamsOutput(self, activity),
                                          activity["from"].get("id"),
                                          input_channel=self.name(), metadata=metadata)
                    # Bot Framework gives up after 15 s: reply in the background.
                    task = asyncio.create_task(handle_turn(on_new_message, message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            return response.json({}, status=HTTPStatus.OK)

        @botframework_webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            if self._session is not None:
                await self._session.close()

        return botframework_webhook
