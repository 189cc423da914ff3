"""Thin fixes over Rasa 3.6.21's channel connectors, and the one "never leave the user in
silence" guard that every channel uses (`handle_turn`).

Slack and Teams are referenced from credentials files as
`channels.slack.SlackConnector` and `channels.teams.TeamsConnector`; their webhook
paths stay Rasa's own (`/webhooks/slack/webhook`, `/webhooks/botframework/webhook`).
Each connector's `from_credentials` (how Rasa loads a channel from the credentials file)
applies the Rasa patches (patches/rasa36.py); importing a module here changes nothing.
"""
import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Text, Tuple, Type

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
# Messages that legitimately get no reply (Rasa's restart / new-session commands).
SILENT_COMMANDS = ("/restart", "/session_start")


class CountingOutput(OutputChannel):
    """Mixin for output channels: counts the bot messages of one turn."""

    sent = 0

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.sent += 1
        await super().send_response(recipient_id, message)


async def handle_turn(on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      message: UserMessage,
                      reraise: Tuple[Type[BaseException], ...] = ()) -> bool:
    """Runs one user turn and never leaves the user in silence; True if it apologised.

    Stock Rasa logs a failing custom action (e.g. the action server is down) and sends
    nothing for that turn; a channel user then waits forever (RasaHQ/rasa#5588, #7630).
    If the turn failed, or produced no bot message (but for SILENT_COMMANDS), the user
    gets a short apology through the turn's output channel, which must count its
    messages (`CountingOutput`). Exceptions in `reraise` propagate without an apology
    (the REST channel answers 503 for an unavailable store).
    """
    output = message.output_channel
    failed = False
    try:
        await on_new_message(message)
    except reraise:
        raise
    except asyncio.CancelledError:
        logger.error("A message from %s timed out.", message.sender_id)
        failed = True
    except Exception:
        logger.exception("Handling a message from %s failed.", message.sender_id)
        failed = True
    if getattr(output, "sent", 0) > 0:
        return False
    if not failed and (message.text or "").startswith(SILENT_COMMANDS):
        return False
    logger.warning("No reply for a message from %s; sending an apology.", message.sender_id)
    try:
        await output.send_text_message(message.sender_id, APOLOGY)
    except Exception:
        logger.exception("Could not send the apology to %s.", message.sender_id)
    return True


def webhook_blueprint(name: Text, import_name: Text) -> Blueprint:
    """A channel's blueprint with Rasa's health route (`GET /webhooks/<channel>/`)."""
    bp = Blueprint(name, import_name)

    @bp.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    return bp
