"""The hand-off end to end, offline: the trained model and the action server, with a
fake webhook and an SMTP sink on 127.0.0.1, over REST (the web page's channel), Slack
and Teams (their fakes from the channel tests)."""
import json
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from actions.handoff import wording
from tests import test_channel_slack as slack_fakes
from tests import test_channel_teams as teams_fakes
from tests.dialog import Dialog
from tests.handoff_fakes import FakeWebhook, SmtpSink, handoff_env
from tests.wording import answer, question, response, within
from devstack import ROOT, RasaStack, free_port

pytestmark = pytest.mark.integration  # servers, services or the trained model

ARTIFACTS = ROOT / "artifacts" / "handoff"
# The hand-off's wording (data/handoff.yml): the offer and the reports up to their
# first placeholder ({what}, {contact}).
OFFER, SENT, RECORDED = (wording()[key].split("{")[0] for key in ("offer", "sent", "recorded"))
CANCELLED = wording()["cancelled"]
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
    env = {**channels, **handoff_env(webhook, sink, f"sqlite:///{work / 'stack' / 'tracker.db'}")}
    with RasaStack(work / "stack", credentials=(work / "channels.yml").read_text(),
                   env=env) as stack:
        stack.webhook_fake, stack.sink = webhook, sink
        stack.slack = SimpleNamespace(webhook=stack.url + "/webhooks/slack/webhook", api=slack_api)
        stack.teams = SimpleNamespace(webhook=stack.url + "/webhooks/botframework/webhook",
                                      service_url=ms + "/teams/emea/", ms=microsoft)
        yield stack
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


def test_web_flow_asks_validates_confirms_and_sends(bot):
    before = sent_count(bot)
    d = Dialog(bot, "web-handoff")
    assert SPOC in d.say("What is a SPOC?")
    reply = d.say("can the training team contact me?")
    assert OFFER in reply and "the e-mail address you give me" in reply
    assert wording()["ask_email"] in d.say("yes please")
    reply = d.say("jane@")
    assert wording()["invalid_email"] in reply and d.last_message == wording()["ask_email"]
    assert wording()["ask_project"] in d.say("it's jane.doe@acme.example")
    assert "jane.doe@acme.example" in d.say("Onboarding 300 new sales reps\nBcc: all@acme.example")
    assert wording()["sent_go_on"].format(contact="jane.doe@acme.example") in d.say("yes")
    assert SPOC in d.say("what is a SPOC?")  # the dialog goes on
    d.save(ARTIFACTS)

    post = bot.webhook_fake.wait(before[0] + 1)[-1]
    mail = bot.sink.wait(before[1] + 1)[-1]
    for text in (post["text"], mail.get_content()):
        assert "Contact: jane.doe@acme.example" in text
        assert "Channel: web page / REST" in text and "Conversation id: web-handoff" in text
        assert "- What is a SPOC?\n- can the training team contact me?" in text.replace("\r", "")
        assert "About the project: Onboarding 300 new sales reps Bcc: all@acme.example" in text
    assert mail["Reply-To"] == "jane.doe@acme.example" and mail["Bcc"] is None
    assert sent_count(bot) == (before[0] + 1, before[1] + 1)
    save("webhook.json", json.dumps(post, indent=2))
    save("email.eml", mail.as_string())


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
    assert SPOC in d.say("What is a SPOC?")
    time.sleep(2)
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


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_webhook_down_then_back_is_delivered_once(bot):
    before = sent_count(bot)
    bot.webhook_fake.status = 503
    try:
        assert RECORDED in complete_flow(Dialog(bot, "web-down"), "kim@acme.example")
        assert len(bot.sink.wait(before[1] + 1)) == before[1] + 1  # the e-mail went through
        time.sleep(1.5)
        assert len(bot.webhook_fake.posts) == before[0]
    finally:
        bot.webhook_fake.status = 200
    wait_until(lambda: len(bot.webhook_fake.posts) > before[0])
    time.sleep(6)  # several more polls of the worker
    assert sent_count(bot) == (before[0] + 1, before[1] + 1)
    assert "kim@acme.example" in bot.webhook_fake.posts[-1]["text"]


def test_pending_hand_off_survives_a_restart_and_is_sent_once(bot):
    before = sent_count(bot)
    bot.webhook_fake.status = 503
    bot.sink.refuse = True
    try:
        assert RECORDED in complete_flow(Dialog(bot, "web-restart"), "lee@acme.example")
        bot.stop_rasa()
        bot.stop_actions()
    finally:
        bot.webhook_fake.status = 200
        bot.sink.refuse = False
    time.sleep(2)
    assert sent_count(bot) == before  # nobody left to send it
    bot.start_actions()
    bot.start_rasa()
    wait_until(lambda: sent_count(bot) == (before[0] + 1, before[1] + 1))
    time.sleep(6)
    assert sent_count(bot) == (before[0] + 1, before[1] + 1)
    assert "lee@acme.example" in bot.sink.messages[-1]["Reply-To"]


def slack_say(bot, text: str, n: int) -> str:
    user, channel = "U0AB12CD", "D0HANDOFF"
    response = slack_fakes.post_event(bot.slack, slack_fakes.event(text, user, channel))
    assert response.status_code == 200
    bot.slack.api.wait(channel, n)
    time.sleep(0.5)
    return "\n".join(p.get("text", "") for p in bot.slack.api.posts(channel)[n - 1:])


def test_slack_uses_the_users_identity_and_asks_no_address(bot):
    before = sent_count(bot)
    reply = slack_say(bot, "I'd rather talk to someone", 1)
    assert OFFER in reply and "your Slack user id" in reply
    posts = len(bot.slack.api.posts("D0HANDOFF"))
    reply = slack_say(bot, "yes", posts + 1)
    assert wording()["ask_project"] in reply and wording()["ask_email"] not in reply
    posts = len(bot.slack.api.posts("D0HANDOFF"))
    assert "Slack user U0AB12CD" in slack_say(bot, "Compliance training for 40 engineers", posts + 1)
    posts = len(bot.slack.api.posts("D0HANDOFF"))
    assert SENT in slack_say(bot, "yes", posts + 1)
    text = bot.webhook_fake.wait(before[0] + 1)[-1]["text"]
    assert "Contact: Slack user U0AB12CD" in text and "Channel: Slack" in text
    assert "About the project: Compliance training for 40 engineers" in text
    assert bot.sink.wait(before[1] + 1)[-1]["Reply-To"] is None


def teams_say(bot, text: str, conversation: str, n: int) -> str:
    act = teams_fakes.activity(bot.teams, text, conversation)
    assert teams_fakes.send(bot.teams, act).status_code == 200
    bot.teams.ms.wait(conversation, n)
    time.sleep(0.5)
    texts = []
    for r in bot.teams.ms.replies(conversation)[n - 1:]:
        activity = r["activity"]
        texts.append(activity.get("text") or "")
        texts += [a["content"].get("text", "") for a in activity.get("attachments", [])]
    return "\n".join(texts)


def test_teams_uses_the_users_name_and_aad_id(bot):
    before = sent_count(bot)
    conv = "a:teams-handoff"
    assert "your Teams name" in teams_say(bot, "human please", conv, 1)
    n = len(bot.teams.ms.replies(conv))
    assert wording()["ask_project"] in teams_say(bot, "yes", conv, n + 1)
    n = len(bot.teams.ms.replies(conv))
    assert "Alice (Teams, AAD object id aad-alice)" in teams_say(bot, "skip", conv, n + 1)
    n = len(bot.teams.ms.replies(conv))
    assert SENT in teams_say(bot, "yes", conv, n + 1)
    text = bot.webhook_fake.wait(before[0] + 1)[-1]["text"]
    assert "Contact: Alice (Teams, AAD object id aad-alice)" in text
    assert "Channel: Microsoft Teams" in text
