"""The intranet chat page (web/) in a real browser: Debian's headless Chromium driven by
Playwright, against real servers (devstack/stack.py) and the page's own web server.

Screenshots go to artifacts/screenshots/ (gitignored).
"""
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from devstack import ROOT, SHOTS, RasaStack, free_port, serving
from devstack.browser import chromium
from tests.wording import response

pytestmark = pytest.mark.integration  # servers, services or the trained model

XSS = '<img src=x onerror="window.__xss=1">'

expect.set_options(timeout=10_000)


@contextmanager
def web_server(rasa_url: str, workdir: Path, port: int = 0, embedders=()):
    """web/app.py on a free port (or `port`), telling the page that Rasa is at rasa_url;
    `embedders` are other origins allowed to import the widget."""
    port = port or free_port()
    origin = f"http://127.0.0.1:{port}"
    with serving([sys.executable, str(ROOT / "web" / "app.py"), "--port", str(port)],
                 origin + "/", workdir / f"web-{port}.log",
                 env={**os.environ, "RASA_URL": rasa_url,
                      "CORS_ORIGINS": " ".join([origin, *embedders])}):
        yield origin


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Rasa allowing CORS from the chat page's origin only, so that port is chosen first."""
    workdir = tmp_path_factory.mktemp("widget")
    page_port = free_port()
    with RasaStack(workdir, rasa_args=["--cors", f"http://127.0.0.1:{page_port}"]) as rasa:
        rasa.page_port = page_port
        yield rasa


@pytest.fixture(scope="module")
def site(stack):
    """The chat page's web server, on the origin that Rasa allows."""
    with web_server(stack.url, stack.workdir, stack.page_port) as origin:
        yield origin


def fake_rasa(replies, site):
    """A Playwright route handler answering like Rasa (CORS preflight included)."""
    def handle(route):
        cors = {"Access-Control-Allow-Origin": site, "Access-Control-Allow-Headers": "content-type",
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS"}
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
        elif route.request.method == "POST":
            route.fulfill(status=200, json=replies, headers=cors)
        else:
            route.fulfill(status=200, body="Hello from Rasa", headers=cors)
    return handle


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A fresh browser profile (empty localStorage) that records what the page requests."""
    context = browser.new_context(viewport={"width": 1000, "height": 800}, service_workers="block")
    page = context.new_page()
    page.requests = []
    page.errors = []
    page.on("request", lambda r: page.requests.append(r))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()
    external = [r.url for r in page.requests
                if not r.url.startswith("data:") and urlsplit(r.url).hostname != "127.0.0.1"]
    assert not external, f"the page loaded something from outside: {external}"
    assert not page.errors, page.errors


# -- helpers ------------------------------------------------------------------------------------
def bubbles(page, role):
    """deep-chat's message bubbles of one role: "user", "ai" or "error", without the "typing"
    bubble (Playwright's CSS selectors reach into deep-chat's open shadow root)."""
    kind = "error-message" if role == "error" else f"{role}-message"
    return page.locator(f"deep-chat .message-bubble.{kind}:not(.deep-chat-loading-message-bubble)")


def wait_for_answer(page):
    """Until deep-chat's "typing" bubble is gone (the answer or an error arrived)."""
    expect(page.locator("deep-chat .deep-chat-loading-message-bubble")).to_have_count(0, timeout=30_000)


def send(page, text):
    box = page.locator("deep-chat #text-input")
    box.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def webhook_posts(page):
    return [json.loads(r.post_data) for r in page.requests
            if r.method == "POST" and r.url.endswith("/webhooks/rest/webhook")]


def sender_id(page):
    return page.evaluate("localStorage.getItem('training-assistant:sender')")


def shot(page, name):
    page.screenshot(path=str(SHOTS / name))


# -- tests --------------------------------------------------------------------------------------
def test_page_loads_everything_from_the_project(site):
    html = requests.get(site + "/", timeout=5)
    assert "script-src 'self'" in html.headers["Content-Security-Policy"]
    bundle = requests.get(site + "/vendor/deep-chat.js", timeout=5)
    assert bundle.ok and "customElements.define(\"deep-chat\"" in bundle.text
    assert requests.get(site + "/app.py", timeout=5).status_code == 404
    assert requests.get(site + "/vendor/../web/app.py", timeout=5).status_code == 404
    # Only the allowed origin may import the widget from another page.
    assert requests.get(site + "/widget.js", headers={"Origin": site}, timeout=5) \
        .headers.get("Access-Control-Allow-Origin") == site
    assert "Access-Control-Allow-Origin" not in requests.get(
        site + "/widget.js", headers={"Origin": "http://evil.example"}, timeout=5).headers


def test_answers_quick_replies_and_history_after_reload(page, site, stack):
    page.goto(site + "/")
    expect(page.locator(".ta-title")).to_have_text("Training Formats Assistant")
    expect(page.locator(".ta-status")).to_contain_text("Online")
    welcome = page.locator("deep-chat .ta-reply")
    expect(welcome).to_have_text(["What is a MOOC?", "Compare formats", "Recommend a format"])
    shot(page, "01-welcome.png")

    send(page, "What is a SPOC?")
    expect(bubbles(page, "ai").last).to_contain_text("Small Private Online Course", timeout=30_000)
    sender = sender_id(page)
    assert webhook_posts(page)[-1] == {"sender": sender, "message": "What is a SPOC?"}

    # A reload shows the conversation again and keeps talking to the same Rasa conversation.
    page.reload()
    expect(bubbles(page, "user").first).to_have_text("What is a SPOC?")
    expect(bubbles(page, "ai").filter(has_text="Small Private Online Course")).to_have_count(1)
    assert sender_id(page) == sender
    send(page, "and how many learners can it have?")  # a follow-up about the SPOC
    expect(bubbles(page, "ai").last).to_contain_text("50 learners", timeout=30_000)

    # A quick reply shows its title as the user's message and sends its payload.
    page.locator("deep-chat .ta-reply", has_text="Compare formats").first.click()
    expect(bubbles(page, "user").last).to_have_text("Compare formats")
    wait_for_answer(page)
    assert webhook_posts(page)[-1] == {"sender": sender, "message": "/compare_formats"}
    comparison = response("utter_comparison").split("{")[0].strip().rstrip(":")
    expect(bubbles(page, "ai").filter(has_text=comparison)).to_have_count(1)
    shot(page, "02-conversation.png")

    # Buttons sent by the bot work the same way.
    button = bubbles(page, "ai").last.locator(".ta-reply", has_text="Recommend")
    expect(button).to_have_count(1)
    title = button.inner_text()
    answers = bubbles(page, "ai").count()
    button.click()
    expect(bubbles(page, "user").last).to_have_text(title)
    wait_for_answer(page)
    assert webhook_posts(page)[-1] == {"sender": sender, "message": "/request_recommendation"}
    assert bubbles(page, "ai").count() > answers

    page.reload()
    users = bubbles(page, "user")
    expect(users).to_have_count(4)
    expect(users.nth(2)).to_have_text("Compare formats")
    expect(page.locator("deep-chat .ai-message .ta-reply", has_text="Recommend")).not_to_have_count(0)
    shot(page, "03-after-reload.png")

    # Buttons restored from the history still work (nth(0) is the welcome message's).
    page.locator("deep-chat .ta-reply", has_text=title).nth(1).click()
    expect(bubbles(page, "user")).to_have_count(5)
    wait_for_answer(page)
    assert webhook_posts(page)[-1] == {"sender": sender, "message": "/request_recommendation"}

    # "New conversation" forgets the history and the sender id.
    page.locator(".ta-reset").click()
    expect(bubbles(page, "user")).to_have_count(0)
    assert sender_id(page) != sender
    page.reload()
    expect(bubbles(page, "user")).to_have_count(0)
    expect(page.locator("deep-chat .ta-reply")).to_have_count(3)


def test_user_html_is_shown_literally_and_never_runs(page, site):
    page.goto(site + "/")
    expect(page.locator(".ta-status")).to_contain_text("Online")
    send(page, XSS)
    expect(bubbles(page, "user").last).to_have_text(XSS)
    wait_for_answer(page)
    send(page, "[docs](javascript:window.__xss=2)")
    link = page.locator("deep-chat .user-message a", has_text="docs")
    expect(link).to_have_count(1)
    assert link.get_attribute("href") is None  # deep-chat's Markdown would have kept javascript:
    link.click()  # nothing happens: the link has no target
    wait_for_answer(page)
    expect(bubbles(page, "user")).to_have_count(2)
    page.reload()  # and again when rendered from the stored history
    expect(bubbles(page, "user").first).to_have_text(XSS)
    assert page.evaluate("window.__xss") is None
    assert page.locator("deep-chat img[src=x]").count() == 0
    assert page.locator("deep-chat .user-message a", has_text="docs").get_attribute("href") is None
    shot(page, "04-html-as-text.png")


def test_bot_markup_is_shown_as_text(page, site, stack):
    """Whatever a reply contains (a compromised action, a bad response template), it is text."""
    evil = [{"recipient_id": "x", "text": f"{XSS} <b>bold?</b>\nsecond line",
             "buttons": [{"title": "<i>pick</i>", "payload": '/x"><img src=x onerror="window.__xss=5">'}]},
            {"recipient_id": "x", "image": "javascript:window.__xss=6"}]
    page.route(stack.url + "/webhooks/rest/webhook", fake_rasa(evil, site))
    page.goto(site + "/")
    send(page, "hello")
    reply = bubbles(page, "ai").last
    expect(reply).to_contain_text(f"{XSS} <b>bold?</b>")
    expect(reply.locator(".ta-reply")).to_have_text("<i>pick</i>")
    assert reply.locator("b, i, img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_keyboard_and_phone_width(page, site):
    page.set_viewport_size({"width": 390, "height": 760})
    page.goto(site + "/")
    expect(page.locator(".ta-status")).to_contain_text("Online")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Tab from the top of the page reaches the suggestions; Enter activates one.
    focused = None
    for _ in range(10):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
            const el = document.activeElement;
            const inner = el && el.shadowRoot ? el.shadowRoot.activeElement : null;
            return (inner || el).textContent.trim();
        }""")
        if focused == "What is a MOOC?":
            break
    assert focused == "What is a MOOC?"
    page.keyboard.press("Enter")
    expect(bubbles(page, "user").last).to_have_text("What is a MOOC?")
    expect(bubbles(page, "ai").last).to_contain_text("Massive Open Online Course", timeout=30_000)
    assert webhook_posts(page)[-1]["message"] == '/ask_definition{"format":"mooc"}'
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "05-phone.png")


def test_unreachable_slow_and_empty_servers_are_reported(page, tmp_path):
    # Nobody listens: the status says so at once, and so does a message. When a server comes
    # back, the status says so within seconds and the conversation goes on.
    rasa = f"http://127.0.0.1:{free_port()}"
    with web_server(rasa, tmp_path) as site:
        page.goto(site + "/")
        expect(page.locator(".ta-status")).to_contain_text("Offline", timeout=5_000)
        send(page, "What is a SPOC?")
        expect(bubbles(page, "error").last).to_contain_text("can't be reached", timeout=5_000)
        page.route(rasa + "/**", fake_rasa([{"text": "Back again: a SPOC is a Small Private Online Course."}], site))
        expect(page.locator(".ta-status")).to_contain_text("Online", timeout=8_000)
        send(page, "What is a SPOC?")
        expect(bubbles(page, "ai").last).to_contain_text("Back again")
        shot(page, "08-recovered.png")

    # Connections are accepted but never answered: the page gives up after about 8 s.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        with web_server(f"http://127.0.0.1:{hole.getsockname()[1]}", tmp_path) as site:
            page.goto(site + "/")
            started = time.monotonic()
            send(page, "What is a SPOC?")
            expect(bubbles(page, "error").last).to_contain_text("taking too long", timeout=12_000)
            assert 7 <= time.monotonic() - started <= 11
            expect(page.locator(".ta-status")).to_contain_text("Offline")
            shot(page, "06-timeout.png")

    # The server answers with nothing.
    with web_server("http://127.0.0.1:9", tmp_path) as site:
        page.route("http://127.0.0.1:9/**", fake_rasa([], site))
        page.goto(site + "/")
        send(page, "What is a SPOC?")
        expect(bubbles(page, "error").last).to_contain_text("had no answer", timeout=5_000)


@contextmanager
def intranet_page(html: str):
    """Another origin on this machine serving one page (a real server: Chromium's local network
    access rules treat a page that Playwright fakes as public, and would block the widget)."""
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_widget_embeds_in_another_intranet_page(page, tmp_path):
    """The snippet of README, on a page of another origin listed in CORS_ORIGINS."""
    rasa = f"http://127.0.0.1:{free_port()}"
    widget_port = free_port()
    widget = f"http://127.0.0.1:{widget_port}"
    with intranet_page(f"""<!doctype html><html lang="en"><head><title>Acme intranet</title></head>
            <body style="font-family: serif; background: #fafafa; padding: 20px">
              <h1>Acme intranet</h1><p>Planning next year's training? Ask our assistant.</p>
              <div id="training-assistant" style="max-width: 480px; height: 560px;"></div>
              <script type="module" src="{widget}/widget.js"></script>
            </body></html>""") as intranet, \
            web_server(rasa, tmp_path, port=widget_port, embedders=[intranet]):
        page.route(rasa + "/**", fake_rasa([{"text": "A SPOC is a Small Private Online Course."}], intranet))
        page.goto(intranet + "/news.html")
        expect(page.locator(".ta-status")).to_contain_text("Online")
        send(page, "What is a SPOC?")
        expect(bubbles(page, "ai").last).to_contain_text("Small Private Online Course")
        expect(page.locator("h1").first).to_have_text("Acme intranet")  # the host page keeps its own
        shot(page, "09-embedded.png")


def test_rasa_stopped_is_reported_within_seconds(page, site, stack):
    """The module's last use of its Rasa server: it stops it (coming back is tested above)."""
    page.goto(site + "/")
    send(page, "What is a SPOC?")
    expect(bubbles(page, "ai").last).to_contain_text("Small Private Online Course", timeout=30_000)
    stack.stop_rasa()
    started = time.monotonic()
    send(page, "and how long does it last?")
    expect(bubbles(page, "error").last).to_contain_text("can't be reached", timeout=5_000)
    expect(page.locator(".ta-status")).to_contain_text("Offline", timeout=5_000)
    assert time.monotonic() - started < 5
    shot(page, "07-rasa-down.png")
