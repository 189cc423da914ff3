"""The insights page in Debian's Chromium, on the tracker store of a real Rasa stack that
held conversations over REST (devstack/stack.py starts it, web/app.py reads its store)."""
import pytest
import requests
from playwright.sync_api import expect

from devstack import RasaStack, texts
from tests.test_insights_web import web_server
from devstack import SHOTS
from devstack.browser import chromium
from tests.wording import answer, opens, response

pytestmark = pytest.mark.integration  # servers, services or the trained model

GIBBERISH = "xqzj vvkp blorf"
NOT_SAID = "What is the history of the SPOC?"  # the article is silent on it


@pytest.fixture(scope="module")
def stack_with_conversations(tmp_path_factory):
    with RasaStack(tmp_path_factory.mktemp("insights-browser")) as rasa:
        web_sender = "web-" + "ab12" * 8  # as the chat page names its conversations
        assert texts(rasa.say(web_sender, "What is a SPOC?")) == answer("spoc", "definition")
        assert texts(rasa.say(web_sender, GIBBERISH)) == response("utter_default")
        assert opens(response("utter_article_silent"), texts(rasa.say(web_sender, NOT_SAID)))
        rasa.say("api-client-1", "/request_recommendation")  # the guided dialog starts
        assert answer("mooc", "definition") in texts(rasa.say("api-client-1", "What is a MOOC?"))
        yield rasa


def test_page_shows_the_conversations_held(stack_with_conversations):
    stack = stack_with_conversations
    with web_server(stack.workdir / "endpoints.yml") as url:
        data = requests.get(url + "/insights.json", timeout=30).json()
        assert data["conversations"] == 2 and data["user_messages"] == 5
        assert data["by_channel"] == {"web": {"conversations": 1, "user_messages": 3},
                                      "REST": {"conversations": 1, "user_messages": 2}}
        assert [(u["text"], u["kind"], u["count"]) for u in data["unanswered"]] == [
            (NOT_SAID, "not in the article", 1), (GIBBERISH, "fallback", 1)]  # latest first
        assert data["funnel"][0] == {"step": "started", "count": 1}
        assert data["asks"] == {"definition": {"MOOC": 1, "SPOC": 1}, "history": {"SPOC": 1}}

        with chromium() as browser:
            for width, name in ((1200, "insights-laptop.png"), (390, "insights-phone.png")):
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(url + "/insights")
                expect(page.locator("h1")).to_have_text("Assistant insights")
                expect(page.locator("#kpi-conversations b")).to_have_text("2")
                expect(page.locator("#kpi-user-messages b")).to_have_text("5")
                expect(page.locator("#kpi-unanswered b")).to_have_text("2")
                rows = page.locator("#unanswered-list tbody tr")
                expect(rows.locator("td:first-child")).to_have_text([NOT_SAID, GIBBERISH])
                expect(rows.locator("td:nth-child(2)")).to_have_text(
                    ["not in the article", "didn't understand"])
                expect(page.locator("#channels tbody tr td")).to_have_text(
                    ["REST", "1", "2", "web", "1", "3"])
                expect(page.locator("#conversations svg rect")).not_to_have_count(0)
                # Readable on a phone: nothing wider than the screen but the tables'
                # own scrolling boxes.
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(SHOTS / name), full_page=True)
                assert not errors
                page.close()
