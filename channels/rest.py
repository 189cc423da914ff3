"""REST channel: Rasa 3.6.21's `RestInput` with its defects fixed.

Referenced from credentials.yml as `channels.rest.RestInput`; the name stays
"rest", so the path stays `POST /webhooks/rest/webhook` and the contract is the
stock one: `{"sender": str, "message": str, "metadata"?: object}` in, a JSON list
of `{recipient_id, text?, buttons?, ...}` out.

Limits (README): a message has at most MAX_MESSAGE_CHARS characters
(longer: 413), a sender id at most MAX_SENDER_CHARS (longer: 400), a request body
at most MAX_BODY_BYTES (larger: 413). Errors are JSON objects shaped like the
HTTP API's: {"status": "failure", "code", "reason", "message"}.

The same limits guard the HTTP API (`--enable-api`): see `api_guard`.
"""
import asyncio
import json
import logging
import unicodedata
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import CountingOutput, handle_turn, webhook_blueprint
from patches import rasa36

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 5000
# The SQL tracker store keeps sender ids in a VARCHAR(255) column.
MAX_SENDER_CHARS = 128
MAX_BODY_BYTES = 128 * 1024
EMPTY_REPLY = ("I didn't get any text. What would you like to know about MOOCs, "
               "COOCs or SPOCs?")


class BadRequest(Exception):
    def __init__(self, message: Text, status: int = HTTPStatus.BAD_REQUEST,
                 reason: Text = "BadRequest") -> None:
        super().__init__(message)
        self.message, self.status, self.reason = message, int(status), reason


def error_response(status: int, reason: Text, message: Text,
                   headers: Optional[Dict[Text, Text]] = None) -> HTTPResponse:
    return response.json({"status": "failure", "code": int(status), "reason": reason,
                          "message": message}, status=int(status), headers=headers)


def _type_name(value: Any) -> Text:
    return {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
            str: "a string", list: "a list", dict: "an object"}.get(type(value),
                                                                    type(value).__name__)


def parse_json_body(request: Request, max_bytes: int = MAX_BODY_BYTES,
                    want_object: bool = True,
                    example: Text = '{"sender": "user-1", "message": "What is a SPOC?"}'
                    ) -> Any:
    """The request body as a JSON object, or BadRequest with a clear message."""
    body = request.body or b""
    if len(body) > max_bytes:
        raise BadRequest(f"The request body is larger than {max_bytes} bytes.",
                         HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLarge")
    if not body.strip():
        raise BadRequest(f"The request body is empty: send a JSON object such as "
                         f"{example}." if want_object else "The request body is empty.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8.")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise BadRequest(f"The request body is not valid JSON ({e}).")
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.")
    if want_object and not isinstance(data, dict):
        raise BadRequest(f"The request body must be a JSON object, not {_type_name(data)}.")
    return data


def clean_text(text: Text) -> Text:
    """Drops control characters (but newlines and tabs) and lone surrogates."""
    return "".join(ch for ch in text if ch in "\n\t"
                   or unicodedata.category(ch) not in ("Cc", "Cs"))


def check_message(value: Any, field: Text = "message") -> Text:
    if value is None:
        raise BadRequest(f'The "{field}" field is missing: it must be a string.')
    if not isinstance(value, str):
        raise BadRequest(f'The "{field}" field must be a string, not {_type_name(value)}.')
    if len(value) > MAX_MESSAGE_CHARS:
        raise BadRequest(f"The message is {len(value)} characters long; the limit is "
                         f"{MAX_MESSAGE_CHARS}.", HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                         "MessageTooLong")
    return clean_text(value)


def check_sender(value: Any, field: Text = "sender") -> Text:
    # bool is an int subclass: reject it explicitly.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        raise BadRequest(f'The "{field}" field is missing: it must be a non-empty string '
                         "identifying the conversation.")
    if not isinstance(value, str):
        raise BadRequest(f'The "{field}" field must be a string, not {_type_name(value)}.')
    if not value.strip():
        raise BadRequest(f'The "{field}" field must not be empty.')
    if len(value) > MAX_SENDER_CHARS:
        raise BadRequest(f'The "{field}" field is longer than {MAX_SENDER_CHARS} '
                         "characters.")
    if clean_text(value) != value or "\n" in value or "\t" in value:
        raise BadRequest(f'The "{field}" field must not contain control characters.')
    return value


def _store_errors() -> Tuple[type, ...]:
    """Exceptions meaning the tracker store or the lock store is unavailable (Rasa
    raises tracker store errors instead of forgetting the conversation: see
    patches/rasa36.py)."""
    import sqlalchemy.exc
    from rasa.core.lock_store import LockError
    from redis.exceptions import RedisError

    return sqlalchemy.exc.SQLAlchemyError, RedisError, LockError


class CollectingOutput(CountingOutput, CollectingOutputChannel):
    """Collects the turn's replies for the JSON answer, counting them."""


class StreamingOutput(CountingOutput, QueueOutputChannel):
    """Puts the turn's replies in a queue as they come (`?stream=true`), counting them."""


# --------------------------------------------------------------- the channel
class RestInput(InputChannel):
    """Stock REST contract, validated input, no silent failure."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        rasa36.apply()
        return cls()

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        data = request.ctx.payload
        metadata = data.get("metadata")
        # Defect: any JSON value was passed on as metadata; Rasa expects an object.
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest('The "metadata" field must be an object, not '
                             f"{_type_name(metadata)}.")
        return metadata

    def _parse(self, request: Request) -> Tuple[Text, Text, Optional[Dict[Text, Any]]]:
        # Defects of the stock channel (checked against Rasa 3.6.21) fixed here:
        # - an empty body or a JSON list/string: AttributeError, HTTP 500;
        # - invalid JSON or UTF-8: Sanic's generic HTML 400 page;
        # - a body of any size was parsed; now over MAX_BODY_BYTES is refused (413).
        request.ctx.payload = parse_json_body(request)
        data = request.ctx.payload
        # - "sender": null or missing fell back to the shared id "default", mixing
        #   every anonymous user into one conversation; now 400.
        # - a sender id longer than 255 characters cannot be saved by the SQL
        #   tracker store (VARCHAR(255) on PostgreSQL): the conversation was kept
        #   in memory only, silently; now 400.
        sender = check_sender(data.get("sender"))
        # - "message": 42 raised in UserMessage (text.strip()), caught, and the user
        #   got an empty 200 reply; now 400 with the reason.
        # - any length was accepted: a 1 MB message went through the NLU pipeline
        #   (CPU time) and into the tracker store; now 413 past the limit.
        # - NUL characters cannot be saved by PostgreSQL ("A string literal cannot
        #   contain NUL"), so the conversation was kept in memory only; lone
        #   surrogates cannot be encoded: control characters and surrogates are
        #   dropped (newlines and tabs kept).
        text = check_message(data.get("message"))
        return sender, text, self.get_metadata(request)

    async def _run_turn(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                        message: UserMessage) -> Optional[HTTPResponse]:
        """Runs one turn (with the channels' apology instead of silence); returns an
        error response when a store is unavailable."""
        try:
            await handle_turn(on_new_message, message, reraise=_store_errors())
        except _store_errors() as e:
            # Defect: stock Rasa logged this and answered 200 with no message.
            logger.error("Conversation store unavailable for %s: %s: %s",
                         message.sender_id, type(e).__name__, str(e).splitlines()[0][:200]
                         if str(e) else "")
            return error_response(
                HTTPStatus.SERVICE_UNAVAILABLE, "StoreUnavailable",
                "The conversation store is unavailable; your message was not "
                "processed. Please try again in a moment.", headers={"Retry-After": "5"})
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                  ) -> Blueprint:
        bp = webhook_blueprint(f"custom_webhook_{type(self).__module__.replace('.', '_')}_"
                               f"{type(self).__name__}", type(self).__module__)

        @bp.listener("before_server_start")
        async def install_api_guard(app: Any, _loop: Any) -> None:
            app.register_middleware(api_guard, "request")
            # Unknown routes and methods get JSON errors, not HTML pages.
            app.config.FALLBACK_ERROR_FORMAT = "json"

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, text, metadata = self._parse(request)
            except BadRequest as e:
                return error_response(e.status, e.reason, e.message)
            if not text.strip():
                # An empty message is answered without touching the conversation.
                return response.json([{"recipient_id": sender, "text": EMPTY_REPLY}])
            # Defect: the body's "input_channel" was trusted, so a client could
            # pose as another channel; the channel is always this one.
            if request.args.get("stream", "false").lower() == "true":
                return response.stream(self._stream(on_new_message, request, sender,
                                                    text, metadata),
                                       content_type="text/event-stream")
            collector = CollectingOutput()
            message = UserMessage(text, collector, sender, input_channel=self.name(),
                                  metadata=metadata)
            failure = await self._run_turn(on_new_message, message)
            return failure or response.json(collector.messages)

        return bp

    def _stream(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                request: Request, sender: Text, text: Text,
                metadata: Optional[Dict[Text, Any]]) -> Callable[[Any], Awaitable[None]]:
        async def stream(resp: Any) -> None:
            queue: asyncio.Queue = asyncio.Queue()
            collector = StreamingOutput(queue)
            message = UserMessage(text, collector, sender, input_channel=self.name(),
                                  metadata=metadata)

            async def run() -> None:
                failure = await self._run_turn(on_new_message, message)
                await queue.put(failure or "DONE")

            task = asyncio.ensure_future(run())
            while True:
                item = await queue.get()
                if isinstance(item, HTTPResponse):  # store unavailable
                    await resp.write(item.body.decode() + "\n")
                    break
                if item == "DONE":
                    break
                await resp.write(json.dumps(item) + "\n")
            await task

        return stream


# --------------------------------------------------------------- HTTP API guard
# Rasa's HTTP API answers some malformed requests with HTTP 500 (checked against
# 3.6.21): /model/parse turns invalid JSON and a non-string "text" into a 500
# (it wraps its own 400 in a 500); /conversations/<id>/messages raises on a
# non-string "text". This request middleware, installed on the whole app by the
# REST channel, refuses those requests first with a 4xx, and applies the REST
# channel's size limits to texts and conversation ids.
# It only looks at routes that exist (404s stay 404s).
_API_TEXT_ROUTES = {"parse": "text", "add_message": "text"}


async def api_guard(request: Request) -> Optional[HTTPResponse]:
    route = getattr(request, "route", None)
    if route is None or not route.name.startswith("rasa_server."):
        return None
    name = route.name.split(".", 1)[1]
    try:
        conversation_id = request.match_info.get("conversation_id")
        if conversation_id is not None:
            check_sender(conversation_id, "conversation_id")
        if name in _API_TEXT_ROUTES:
            field = _API_TEXT_ROUTES[name]
            data = parse_json_body(request, example=f'{{"{field}": "What is a SPOC?"}}')
            value = data.get(field)
            check_message(value, field)
            if clean_text(value) != value:
                raise BadRequest(f'The "{field}" field must not contain control '
                                 "characters.")
        elif request.method in ("POST", "PUT") and name in (
                "append_events", "replace_events", "execute_action", "trigger_intent",
                "predict", "tracker_predict"):
            if request.body:
                parse_json_body(request, 10 * 1024 * 1024, want_object=False)
    except BadRequest as e:
        return error_response(e.status, e.reason, e.message)
    return None
