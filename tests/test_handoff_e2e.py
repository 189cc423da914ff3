"""The hand-off end to end, offline: the trained model, the action server and the
hand-off worker (handoff/worker.py), with a fake webhook and an SMTP sink on 127.0.0.1,
over REST (the web page's channel), Slack and Teams (their fakes from the channel tests).
Waits are for something to happen (a reply, a post, a row marked sent), never for time."""
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from actions.handoff import wording
from tests import test_channel_slack as slack_fakes
from tests import test_channel_teams as teams_fakes
from tests.dialog import Dialog
from tests.handoff_fakes import FakeWebhook, SmtpSink, handoff_env, outbox_rows
from tests.wording import answer, question, response, within
from devstack import ROOT, RasaStack, free_port, stop

pytestmark = pytest.mark.integration  # servers, services or the trained model

ARTIFACTS = ROOT / "artifacts" / "handoff"
# The start of each message (data/handoff.yml), before its first {placeholder}.
OFFER, ASK_EMAIL, INVALID_EMAIL, ASK_PROJECT, CONFIRM, SENT, RECORDED, CANCELLED = (
    wording()[key].split("{")[0] for key in ("offer", "ask_email", "invalid_email",
                                             "ask_project", "confirm", "sent", "recorded",
                                             "cancelled"))
SPOC = answer("spoc", "definition")


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    work = tmp_path_factory.mktemp("handoff")
    webhook, sink = FakeWebhook(), SmtpSink()
    slack_api = slack_fakes.FakeSlackApi()
    ms_port = free_port()
    ms = f"http://127.0.0.1:{ms_port}"
    microsoft = teams_fakes.FakeMicrosoft(ms_port)
    channels = {"SLACK_BOT_TOKEN": slack_fakes.TOKEN, "SLACK_SIGNING_SECRET": slack_fakes.SECRET,
                "SLACK_API_URL": slack_api.url + "/api/",
                "TEAMS_APP_ID": teams_fakes.APP_ID, "TEAMS_APP_PASSWORD": teams_fakes.APP_PASSWORD,
                "TEAMS_TENANT_ID": teams_fakes.TENANT, "TEAMS_OPENID_METADATA_URL": ms + "/openid",
                "TEAMS_TOKEN_URL": f"{ms}/{teams_fakes.TENANT}/oauth2/v2.0/token"}
    (work / "base.yml").write_text("rest:\n")
    subprocess.run([sys.executable, str(ROOT / "config" / "credentials.py"),
                    "--base", str(work / "base.yml"), "--out", str(work / "channels.yml")],
                   env={"PATH": "/usr/bin:/bin", **channels}, check=True)
    outbox_db = f"sqlite:///{work / 'stack' / 'tracker.db'}"
    env = {**channels, **handoff_env(webhook, sink, outbox_db)}
    (work / "stack").mkdir()
    with open(work / "stack" / "worker.log", "ab") as log:
        worker = subprocess.Popen([sys.executable, "-m", "handoff.worker"], cwd=ROOT,
                                  env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        with RasaStack(work / "stack", credentials=(work / "channels.yml").read_text(),
                       env=env) as stack:
            stack.webhook_fake, stack.sink, stack.outbox_db = webhook, sink, outbox_db
            stack.worker = worker
            stack.slack = SimpleNamespace(webhook=stack.url + "/webhooks/slack/webhook",
                                          api=slack_api)
            stack.teams = SimpleNamespace(webhook=stack.url + "/webhooks/botframework/webhook",
                                          service_url=ms + "/teams/emea/", ms=microsoft)
            yield stack
    finally:
        stop(worker)
    webhook.close()
    sink.close()
    slack_api.server.shutdown()
    microsoft.shutdown()
    microsoft.server_close()


def sent_count(bot):
    return len(bot.webhook_fake.posts), len(bot.sink.messages)


def save(name: str, text: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text(text)


def wait_until(condition, timeout: float = 30) -> None:
    """Polls `condition()` until it holds (a post arrived, a row is marked sent)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def statuses(bot, conversation: str) -> dict:
    """transport -> status of the conversation's rows in the outbox."""
    return {r["transport"]: r["status"] for r in outbox_rows(bot.outbox_db, conversation)}


def test_web_flow_asks_validates_confirms_and_sends(bot):
    before = sent_count(bot)
    d = Dialog(bot, "web-handoff")
    assert SPOC in d.say("What is a SPOC?")
    reply = d.say("can the training team contact me?")
    assert OFFER in reply and "the e-mail address you give me" in reply
    assert ASK_EMAIL in d.say("yes please")
    reply = d.say("jane@")
    assert INVALID_EMAIL in reply and ASK_EMAIL in d.last_message  # asked again
    assert ASK_PROJECT in d.say("it's jane.doe@acme.example")
    assert CONFIRM + "jane.doe@acme.example" in d.say(
        "Onboarding 300 new sales reps\nBcc: all@acme.example")
    assert f"{SENT}jane.doe@acme.example" in d.say("yes")
    assert "Small Private Online Course" in d.say("what is a SPOC?")  # the dialog goes on
    d.save(ARTIFACTS)

    post = bot.webhook_fake.wait(before[0] + 1)[-1]
    mail = bot.sink.wait(before[1] + 1)[-1]
    for text in (post["text"], mail.get_content()):
        assert "Contact: jane.doe@acme.example" in text
        assert "Channel: web page / REST" in text and "Conversation id: web-handoff" in text
        assert "- What is a SPOC?\n- can the training team contact me?" in text.replace("\r", "")
        assert "About the project: Onboarding 300 new sales reps Bcc: all@acme.example" in text
    assert mail["Reply-To"] == "jane.doe@acme.example" and mail["Bcc"] is None
    # "Sent" is said once the worker marked both rows sent: they are never sent again.
    assert statuses(bot, "web-handoff") == {"webhook": "sent", "email": "sent"}
    assert sent_count(bot) == (before[0] + 1, before[1] + 1)
    save("webhook.json", json.dumps(post, indent=2))
    save("email.eml", mail.as_string())


def test_an_address_given_to_the_offer_is_a_yes(bot):
    d = Dialog(bot, "web-offer-address")
    assert OFFER in d.say("I'd rather talk to someone")
    assert d.say("my email is bob@corp.example").startswith(ASK_PROJECT)
    assert CONFIRM + "bob@corp.example" in d.say("skip")
    assert CANCELLED in d.say("no")
    assert outbox_rows(bot.outbox_db, "web-offer-address") == []


def test_no_to_the_offer_or_the_summary_sends_nothing(bot):
    before = sent_count(bot)
    d = Dialog(bot, "web-no")
    assert OFFER in d.say("I'd rather talk to someone")
    assert CANCELLED in d.say("no")
    assert OFFER in d.say("human please")
    d.say("yes")
    d.say("jane@acme.example")
    d.say("/deny")  # the Skip button
    assert CANCELLED in d.say("no")
    assert "Small Private Online Course" in d.say("What is a SPOC?")
    # Nothing recorded, so nothing the worker could send later.
    assert outbox_rows(bot.outbox_db, "web-no") == []
    assert sent_count(bot) == before


def test_two_misunderstandings_in_a_row_bring_the_offer(bot):
    d = Dialog(bot, "web-misunderstood")
    first = d.say("xqzj vvkp blorf")
    assert first.startswith(response("utter_default")) and OFFER not in first
    second = d.say("What's the weather in London?")
    assert second.startswith(response("utter_out_of_scope")) and OFFER in second
    third = d.say("no thanks")
    assert CANCELLED in third
    assert OFFER not in d.say("xqzj vvkp blorf")  # one misunderstanding again


def test_hand_off_in_the_middle_of_the_dialog_then_it_resumes(bot):
    before = sent_count(bot)
    d = Dialog(bot, "web-midway")
    assert question("audience") in d.say("help me pick a training format")
    d.say("our employees")
    assert d.last_message == question("learners")
    assert OFFER in d.say("can I talk to a human?")
    d.say("yes")
    d.say("sam@acme.example")
    d.say("skip")
    reply = d.say("yes")
    assert SENT in reply and d.last_message == question("learners")
    # The pending question comes next instead of "anything else?".
    assert not within(wording()["sent_go_on"], reply)
    assert question("goal") in d.say("about 200")
    d.save(ARTIFACTS)
    text = bot.webhook_fake.wait(before[0] + 1)[-1]["text"]
    assert "Answers: your employees" in text


def complete_flow(d: Dialog, address: str) -> str:
    assert OFFER in d.say("can someone from the training team call me")
    d.say("yes")
    d.say(address)
    d.say("skip")
    return d.say("yes")


def test_webhook_down_then_back_is_delivered_once(bot):
    before = sent_count(bot)
    bot.webhook_fake.status = 503
    try:
        assert RECORDED in complete_flow(Dialog(bot, "web-down"), "kim@acme.example")
        assert len(bot.sink.wait(before[1] + 1)) == before[1] + 1  # the e-mail went through
        assert statuses(bot, "web-down")["webhook"] == "pending"
        assert len(bot.webhook_fake.posts) == before[0]
    finally:
        bot.webhook_fake.status = 200
    # The worker retries after the backoff (1 s here) and marks the row sent.
    assert "kim@acme.example" in bot.webhook_fake.wait(before[0] + 1)[-1]["text"]
    wait_until(lambda: statuses(bot, "web-down") == {"webhook": "sent", "email": "sent"})
    assert sent_count(bot) == (before[0] + 1, before[1] + 1)


def slack_say(bot, text: str, expect: str) -> str:
    """Says `text` to the bot in a Slack DM; its replies since, once one holds `expect`
    (Slack gets its replies after the webhook answered)."""
    channel = "D0HANDOFF"
    n = len(bot.slack.api.posts(channel))
    response = slack_fakes.post_event(bot.slack, slack_fakes.event(text, "U0AB12CD", channel))
    assert response.status_code == 200
    replies = lambda: "\n".join(p.get("text", "") for p in bot.slack.api.posts(channel)[n:])  # noqa: E731
    wait_until(lambda: expect in replies())
    return replies()


def test_slack_uses_the_users_identity_and_asks_no_address(bot):
    before = sent_count(bot)
    assert "your Slack user id" in slack_say(bot, "I'd rather talk to someone", OFFER)
    assert ASK_EMAIL not in slack_say(bot, "yes", ASK_PROJECT)
    slack_say(bot, "Compliance training for 40 engineers", CONFIRM + "Slack user U0AB12CD")
    slack_say(bot, "yes", SENT)
    text = bot.webhook_fake.wait(before[0] + 1)[-1]["text"]
    assert "Contact: Slack user U0AB12CD" in text and "Channel: Slack" in text
    assert "About the project: Compliance training for 40 engineers" in text
    assert bot.sink.wait(before[1] + 1)[-1]["Reply-To"] is None


def teams_say(bot, text: str, conversation: str, expect: str) -> str:
    """As slack_say, in Teams."""
    n = len(bot.teams.ms.replies(conversation))
    act = teams_fakes.activity(bot.teams, text, conversation)
    assert teams_fakes.send(bot.teams, act).status_code == 200

    def replies() -> str:
        texts = []
        for r in bot.teams.ms.replies(conversation)[n:]:
            activity = r["activity"]
            texts.append(activity.get("text") or "")
            texts += [a["content"].get("text", "") for a in activity.get("attachments", [])]
        return "\n".join(texts)
    wait_until(lambda: expect in replies())
    return replies()


def test_teams_uses_the_users_name_and_aad_id(bot):
    before = sent_count(bot)
    conv = "a:teams-handoff"
    assert "your Teams name" in teams_say(bot, "human please", conv, OFFER)
    teams_say(bot, "yes", conv, ASK_PROJECT)
    teams_say(bot, "skip", conv, CONFIRM + "Alice (Teams, AAD object id aad-alice)")
    teams_say(bot, "yes", conv, SENT)
    text = bot.webhook_fake.wait(before[0] + 1)[-1]["text"]
    assert "Contact: Alice (Teams, AAD object id aad-alice)" in text
    assert "Channel: Microsoft Teams" in text
