"""Slack connector: Rasa 3.6.21's `SlackInput` with its defects fixed.

Credentials (see config/credentials.py, README):

    channels.slack.SlackConnector:
      slack_token: ${SLACK_BOT_TOKEN}
      slack_signing_secret: ${SLACK_SIGNING_SECRET}
      slack_api_url: https://slack.com/api/     # optional
"""
import asyncio
import json
import logging
import re
import time
from collections import OrderedDict
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.core.lock_store import LockStore, RedisLockStore
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from channels import CountingOutput, handle_turn, webhook_blueprint
from patches import rasa36

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
# Slack retries an event 3 times within about 5 minutes; remember ids for longer.
SEEN_TTL_SECONDS = 3600
SEEN_MAX = 10000
MAX_BUTTONS = 25  # Slack's limit for elements in one "actions" block
# User mentions (<@U123>, <@W123|name>) and special mentions (<!here>, <!channel>).
MENTION = re.compile(r"<[@!][^>]*>")
# Links as Slack formats them: <https://example.com|example.com>, <mailto:a@b.c|a@b.c>.
LINK = re.compile(r"<(?:https?://|mailto:)[^>|]*\|([^>]*)>")
# Values of the interactive elements this bot may receive (Slack's payload formats).
CLICKED_VALUE = {
    "button": lambda a: a.get("value"),
    "static_select": lambda a: (a.get("selected_option") or {}).get("value"),
    "overflow": lambda a: (a.get("selected_option") or {}).get("value"),
}
# Message subtypes that still carry a user's question.
USER_SUBTYPES = {None, "thread_broadcast", "file_share"}


def media_type(request: Request) -> Text:
    """The Content-Type without parameters, e.g. `application/json`.

    Fixes: stock `SlackInput` compares the header to exactly `application/json`,
    so `application/json; charset=utf-8` is answered 200 and the message dropped.
    """
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class SlackOutput(CountingOutput, SlackBot):
    """Posts replies with slack_sdk, to a configurable API base URL.

    Fixes: stock `SlackBot` builds `AsyncWebClient(token)` with no way to set the
    base URL; it sends the deprecated `as_user` (rejected for modern bot tokens:
    classic apps only); it caps buttons at 5 (Slack allows 25) and gives them no
    `action_id`; and it splits a reply into one Slack message per paragraph.
    """

    def __init__(self, token: Text, channel: Optional[Text], thread_id: Optional[Text],
                 proxy: Optional[Text] = None, api_url: Text = DEFAULT_API_URL) -> None:
        OutputChannel.__init__(self)
        self.slack_channel = channel
        self.thread_id = thread_id
        self.proxy = proxy
        self.client = AsyncWebClient(token, base_url=api_url, proxy=proxy)

    async def _post(self, recipient_id: Text, **kwargs: Any) -> None:
        if self.thread_id:
            kwargs["thread_ts"] = self.thread_id
        await self.client.chat_postMessage(channel=self.slack_channel or recipient_id,
                                           **kwargs)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._post(recipient_id, text=text.strip())

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._post(recipient_id, text=image,
                         blocks=[{"type": "image", "image_url": image, "alt_text": image}])

    async def send_attachment(self, recipient_id: Text, attachment: Any,  # type: ignore
                              **kwargs: Any) -> None:
        if isinstance(attachment, dict):
            await self._post(recipient_id, attachments=[attachment])
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        elements = [
            {
                "type": "button",
                "action_id": f"rasa_button_{i}",
                "text": {"type": "plain_text", "text": str(b.get("title", ""))[:75] or " ",
                         "emoji": True},
                "value": str(b.get("payload", b.get("title", "")))[:2000],
            }
            for i, b in enumerate(buttons[:MAX_BUTTONS])
        ]
        blocks: List[Dict[Text, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}}]
        if elements:
            blocks.append({"type": "actions", "elements": elements})
        await self._post(recipient_id, text=text, blocks=blocks)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        message = dict(json_message)
        channel = message.pop("channel", None)
        if channel:
            await self.client.chat_postMessage(channel=channel, **message)
        else:
            await self._post(recipient_id, **message)


class SlackConnector(SlackInput):
    """Slack Events API + interactivity, on Rasa's `/webhooks/slack/webhook`.

    Fixes over stock `SlackInput` (besides those in `media_type` and `SlackOutput`):
    - a retried event is processed again unless its retry reason is listed in
      `errors_ignore_retry`, so users get the same answer twice: events are
      de-duplicated on `event_id` (interactive payloads on `trigger_id`), in Redis
      when the lock store is Redis (REDIS_*), so that a retry reaching another
      replica is not answered twice either;
    - the url_verification challenge is answered as a bare JSON string: it is
      answered as `{"challenge": ...}` (still only when signed);
    - forged or stale (replayed) signatures get 400 from stock; here 401;
    - only the bot's own `<@U…>` mention (from `authorizations`/`authed_users`) is
      stripped; here every user/special mention is stripped before NLU;
    - with `use_threads` off, a question asked in a thread is answered in the
      channel; with it on, every answer starts a thread. Here the answer goes to
      where the question was asked: the DM, the channel, or the thread;
    - the form-encoded interactive payload is read only for the exact
      Content-Type, and a button click in a thread is answered outside it;
    - a turn without any bot message (e.g. action server down) stays silent:
      here it gets an apology (see `channels.handle_turn`).
    """

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        rasa36.apply()
        if not credentials or not credentials.get("slack_token"):
            cls.raise_missing_credentials_exception()
        return cls(
            slack_token=credentials.get("slack_token"),
            slack_signing_secret=credentials.get("slack_signing_secret", ""),
            slack_api_url=credentials.get("slack_api_url") or DEFAULT_API_URL,
            slack_channel=credentials.get("slack_channel"),
            proxy=credentials.get("proxy"),
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
        )

    def __init__(self, slack_token: Text, slack_signing_secret: Text = "",
                 slack_api_url: Text = DEFAULT_API_URL, slack_channel: Optional[Text] = None,
                 proxy: Optional[Text] = None,
                 conversation_granularity: Optional[Text] = "sender") -> None:
        super().__init__(slack_token, slack_channel=slack_channel, proxy=proxy,
                         slack_signing_secret=slack_signing_secret,
                         conversation_granularity=conversation_granularity)
        self.slack_api_url = slack_api_url if slack_api_url.endswith("/") else slack_api_url + "/"
        self._seen: "OrderedDict[Text, float]" = OrderedDict()
        self._lock_store: Optional[LockStore] = None  # the agent's, set per request
        self._tasks: Set[asyncio.Task] = set()

    # -- helpers -------------------------------------------------------------

    def get_output_channel(self, channel: Optional[Text] = None,
                           thread_id: Optional[Text] = None) -> OutputChannel:
        return SlackOutput(self.slack_token, channel or self.slack_channel, thread_id,
                           self.proxy, self.slack_api_url)

    def _already_seen(self, key: Optional[Text]) -> bool:
        """Remembers `key`; True if it was seen within the last hour: by any replica
        when the lock store is Redis, else by this process."""
        if not key:
            return False
        store = self._lock_store
        if isinstance(store, RedisLockStore):
            # Rasa's key prefix is "[<REDIS_KEY_PREFIX>:]lock:"; ours "[...:]slack_seen:".
            name = f"{store.key_prefix[:-len('lock:')]}slack_seen:{key}"
            try:
                return not store.red.set(name, 1, nx=True, ex=SEEN_TTL_SECONDS)
            except RedisError as e:
                logger.warning("Redis unavailable for Slack retry de-duplication "
                               "(this process only meanwhile): %s", e)
        now = time.monotonic()
        while self._seen and (len(self._seen) > SEEN_MAX
                              or next(iter(self._seen.values())) < now - SEEN_TTL_SECONDS):
            self._seen.popitem(last=False)
        if key in self._seen:
            return True
        self._seen[key] = now
        return False

    @staticmethod
    def strip_mentions(text: Text) -> Text:
        """The text for NLU: without mentions, links as their visible text."""
        text = LINK.sub(r"\1", MENTION.sub(" ", text))
        return re.sub(r"[ \t]{2,}", " ", text).strip()

    def conversation_id(self, user: Text, channel: Optional[Text],
                        thread_ts: Optional[Text]) -> Text:
        """One conversation per user, or per user and channel / thread, as configured
        (`conversation_granularity`, as stock Rasa)."""
        if self.conversation_granularity == "channel" and channel:
            return f"{user}_{channel}"
        if self.conversation_granularity == "thread" and channel and thread_ts:
            return f"{user}_{channel}_{thread_ts}"
        return user

    def _is_question(self, event: Dict[Text, Any]) -> bool:
        if event.get("type") not in ("message", "app_mention"):
            return False
        if event.get("bot_id") or not event.get("user") or not event.get("text"):
            return False
        if event.get("type") == "message" and event.get("subtype") not in USER_SUBTYPES:
            return False
        if event.get("type") == "app_mention" or event.get("channel_type") == "im":
            return True
        # A plain channel message (no mention) only in the configured channel; a
        # mention in a channel arrives as app_mention too and is answered once.
        return bool(self.slack_channel) and event.get("channel") == self.slack_channel \
            and not MENTION.search(event.get("text", ""))

    def _start_turn(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    text: Text, user: Text, channel: Optional[Text],
                    thread_ts: Optional[Text], metadata: Dict[Text, Any]) -> None:
        message = UserMessage(
            text,
            self.get_output_channel(channel, thread_ts),
            self.conversation_id(user, channel, thread_ts),
            input_channel=self.name(),
            metadata=metadata,
        )
        # Slack wants an answer within 3 seconds: reply in the background.
        task = asyncio.create_task(handle_turn(on_new_message, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- webhook -------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = webhook_blueprint("slack_webhook", __name__)

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            self._lock_store = getattr(getattr(request.app.ctx, "agent", None),
                                       "lock_store", None)
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Refused a Slack request with a missing, wrong or stale "
                               "signature.")
                return response.text("Invalid or stale X-Slack-Signature.",
                                     status=HTTPStatus.UNAUTHORIZED)
            kind = media_type(request)
            try:
                if kind == "application/json":
                    return self._on_event(json.loads(request.body), on_new_message)
                if kind == "application/x-www-form-urlencoded":
                    form = parse_qs(request.body.decode("utf-8"))
                    return self._on_interaction(json.loads(form["payload"][0]),
                                                on_new_message)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                logger.warning("Could not read a Slack request.", exc_info=True)
                return response.text("Malformed request.", status=HTTPStatus.BAD_REQUEST)
            return response.text("Unsupported content type.",
                                 status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)

        return slack_webhook

    def _on_event(self, data: Dict[Text, Any],
                  on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if data.get("type") == "url_verification":
            return response.json({"challenge": data.get("challenge", "")})
        if data.get("type") != "event_callback":
            return response.text("")
        if self._already_seen(data.get("event_id")):
            logger.info("Ignored Slack retry of event %s.", data.get("event_id"))
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        event = data.get("event") or {}
        if not self._is_question(event):
            return response.text("")
        text = self.strip_mentions(event["text"])
        if not text:
            return response.text("")
        channel = event.get("channel")
        thread_ts = event.get("thread_ts")
        metadata = {"out_channel": channel, "thread_id": thread_ts,
                    "event_id": data.get("event_id"), "team_id": data.get("team_id"),
                    "users": [event.get("user")]}
        self._start_turn(on_new_message, text, event["user"], channel, thread_ts, metadata)
        return response.text("")

    def _on_interaction(self, payload: Dict[Text, Any],
                        on_new_message: Callable[[UserMessage], Awaitable[Any]]
                        ) -> HTTPResponse:
        action = (payload.get("actions") or [{}])[0]
        value = CLICKED_VALUE.get(action.get("type"), lambda _: None)(action)
        if not value:  # e.g. a link button or another element: nothing to tell the bot
            return response.text("")
        key = payload.get("trigger_id") or \
            f"{payload.get('user', {}).get('id')}:{action.get('action_ts')}"
        if self._already_seen(key):
            return response.text("")
        user = payload["user"]["id"]
        channel = (payload.get("channel") or {}).get("id") \
            or (payload.get("container") or {}).get("channel_id")
        message = payload.get("message") or {}
        thread_ts = message.get("thread_ts") or (payload.get("container") or {}).get("thread_ts")
        metadata = {"out_channel": channel, "thread_id": thread_ts, "users": [user],
                    "team_id": (payload.get("team") or {}).get("id")}
        self._start_turn(on_new_message, value, user, channel, thread_ts, metadata)
        return response.text("")
