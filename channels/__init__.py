"""Thin fixes over Rasa 3.6.21's channel connectors.

Slack and Teams are referenced from credentials files as
`channels.slack.SlackConnector` and `channels.teams.TeamsConnector`; their webhook
paths stay Rasa's own (`/webhooks/slack/webhook`, `/webhooks/botframework/webhook`).
`APOLOGY` is shared by all channels (channels/rest.py imports it too).
"""
import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import OutputChannel, UserMessage

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."


class CountingOutput(OutputChannel):
    """Mixin for output channels: counts the bot messages of one turn."""

    sent = 0

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.sent += 1
        await super().send_response(recipient_id, message)


async def handle_turn(on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      message: UserMessage) -> None:
    """Runs one user turn and never leaves the user in silence.

    Stock Rasa logs a failing custom action (e.g. the action server is down) and
    sends nothing for that turn; a channel user then waits forever. If the turn
    produced no bot message, or failed, the user gets a short apology instead.
    """
    output = message.output_channel
    try:
        await on_new_message(message)
    except Exception:
        logger.exception("Handling a message from %s failed.", message.sender_id)
    if getattr(output, "sent", 0) == 0:
        logger.warning("No reply for a message from %s; sending an apology.",
                       message.sender_id)
        try:
            await output.send_text_message(message.sender_id, APOLOGY)
        except Exception:
            logger.exception("Could not send the apology to %s.", message.sender_id)
