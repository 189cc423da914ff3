"""/insights, /insights.json and /insights.csv served by web/app.py: who may open them,
and what bad requests get. The server runs as `make run` runs it, on a hand-made store."""
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from web.app import access, session_value
from devstack.insights_events import create_events_table, insert
from devstack import ROOT, free_port, serving
from tests.test_insights import hand_made_conversations, rows_in_id_order

pytestmark = pytest.mark.integration  # servers, services or the trained model

TOKEN = "correct horse battery staple"


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("insights-web")
    engine = sa.create_engine(f"sqlite:///{folder / 'tracker.db'}")
    create_events_table(engine)
    insert(engine, rows_in_id_order(hand_made_conversations()))
    path = folder / "endpoints.yml"
    path.write_text("tracker_store:\n  type: stores.cached_sql.CachedSQLTrackerStore\n"
                    f"  dialect: sqlite\n  db: {folder / 'tracker.db'}\n")
    return path


@contextmanager
def web_server(endpoints: Path, host: str = "127.0.0.1", **env):
    port = free_port()
    log = endpoints.parent / f"web-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_")}
    environment.update({"INSIGHTS_ENDPOINTS": str(endpoints), **env})
    url = f"http://127.0.0.1:{port}"
    with serving([sys.executable, str(ROOT / "web" / "app.py"), "--host", host,
                  "--port", str(port)], url + "/", log, env=environment,
                 ready=lambda r: True):  # any answer: the page may want a token
        yield url
    assert "Traceback" not in log.read_text(), log.read_text()


def outward_address() -> str:
    """This machine's address on its network (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))
        address = s.getsockname()[0]
    assert not address.startswith("127."), "this test needs a network interface"
    return address


def test_without_token_the_machine_itself_sees_the_figures(endpoints):
    with web_server(endpoints) as url:
        data = requests.get(url + "/insights.json", timeout=30).json()
        assert data["conversations"] == 7 and data["user_messages"] == 30
        assert data["recommendations"] == {"SPOC (blended)": 1, "internal COOC": 1}
        assert data["unanswered"][0]["text"] == "Who won the World Cup?"
        page = requests.get(url + "/insights", timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert "Who won the World Cup?" in page.text and "<svg" in page.text
        assert "script" not in page.headers["Content-Security-Policy"].replace("default-src", "")
        assert requests.get(url + "/insights.json?days=90", timeout=30).json()["conversations"] == 8

        csv = requests.get(url + "/insights.csv?table=recommendations&days=30", timeout=30)
        assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
        assert csv.text.splitlines() == ["format,count", "SPOC (blended),1", "internal COOC,1"]

        # A proxy on this machine relays requests of anyone: refused without a token.
        relayed = requests.get(url + "/insights.json", headers={"X-Forwarded-For": "10.1.2.3"},
                               timeout=30)
        assert relayed.status_code == 403 and "INSIGHTS_TOKEN" in relayed.json()["error"]


def test_without_token_other_machines_are_refused(endpoints):
    with web_server(endpoints, host="0.0.0.0") as url:
        remote = url.replace("127.0.0.1", outward_address())
        answer = requests.get(remote + "/insights.json", timeout=30)
        assert answer.status_code == 403 and "own machine" in answer.json()["error"]
        page = requests.get(remote + "/insights", timeout=30)
        assert page.status_code == 403 and "INSIGHTS_TOKEN" in page.text
        assert "World Cup" not in page.text
        assert requests.get(remote + "/", timeout=30).status_code == 200  # the chat still works


def test_with_a_token(endpoints):
    with web_server(endpoints, host="0.0.0.0", INSIGHTS_TOKEN=TOKEN) as url:
        remote = url.replace("127.0.0.1", outward_address())
        for base in (url, remote):  # the token is needed even on the machine itself
            refused = requests.get(base + "/insights.json", timeout=30)
            assert refused.status_code == 401 and "Bearer" in refused.headers["WWW-Authenticate"]
            wrong = requests.get(base + "/insights.json", timeout=30,
                                 headers={"Authorization": "Bearer guess"})
            assert wrong.status_code == 401 and "conversations" not in wrong.text
            right = requests.get(base + "/insights.json", timeout=30,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
            assert right.status_code == 200 and right.json()["conversations"] == 7

        # In a browser: a sign-in form, a cookie that is not the token itself.
        browser = requests.Session()
        form = browser.get(remote + "/insights", timeout=30)
        assert form.status_code == 401 and 'name="token"' in form.text
        assert "World Cup" not in form.text
        bad = browser.post(remote + "/insights/sign-in", data={"token": "guess"}, timeout=30)
        assert bad.status_code == 401 and "not right" in bad.text and not browser.cookies
        good = browser.post(remote + "/insights/sign-in", data={"token": TOKEN}, timeout=30)
        assert good.status_code == 200 and "Who won the World Cup?" in good.text
        assert TOKEN not in str(browser.cookies.values())
        assert "HttpOnly" in good.history[0].headers["Set-Cookie"]
        assert browser.get(remote + "/insights.csv?table=funnel", timeout=30).status_code == 200
        forged = requests.get(remote + "/insights", timeout=30,
                              cookies={"insights_session": session_value("guess")})
        assert forged.status_code == 401


def test_bad_requests_get_clear_answers(endpoints, tmp_path):
    with web_server(endpoints, INSIGHTS_DAYS_KEPT="60") as url:
        for days in ("abc", "0", "61", "-3", "1e3"):
            answer = requests.get(url + f"/insights.json?days={days}", timeout=30)
            assert answer.status_code == 400 and "1 to 60" in answer.json()["error"]
        page = requests.get(url + "/insights?days=abc", timeout=30)
        assert page.status_code == 400 and "1 to 60" in page.text
        missing = requests.get(url + "/insights.csv?table=nope", timeout=30)
        assert missing.status_code == 404 and "unanswered" in missing.json()["error"]
        assert requests.get(url + "/insights/sign-in", timeout=30).status_code == 405
        assert requests.post(url + "/index.html", data="x", timeout=30).status_code == 405

    with web_server(endpoints, INSIGHTS_DAYS_KEPT="7") as url:  # the default window shrinks
        assert requests.get(url + "/insights.json", timeout=30).json()["days"] == 7

    empty = tmp_path / "endpoints.yml"  # Rasa has not written anything yet
    empty.write_text("tracker_store:\n  type: stores.cached_sql.CachedSQLTrackerStore\n"
                     f"  dialect: sqlite\n  db: {tmp_path / 'empty.db'}\n")
    with web_server(empty) as url:
        answer = requests.get(url + "/insights.json", timeout=30)
        assert answer.status_code == 503 and "talk to the assistant" in answer.json()["error"]
        assert "talk to the assistant" in requests.get(url + "/insights", timeout=30).text
        assert requests.get(url + "/", timeout=30).status_code == 200


def test_access_rule():
    assert access("127.0.0.1", {}, {}, None) is None
    assert access("::1", {}, {}, None) is None
    assert access("10.0.0.5", {}, {}, None) == 403
    assert access("127.0.0.1", {"Forwarded": "for=10.0.0.5"}, {}, None) == 403
    assert access("127.0.0.1", {}, {}, "t") == 401
    assert access("10.0.0.5", {"Authorization": "Bearer t"}, {}, "t") is None
    assert access("10.0.0.5", {}, {"insights_session": session_value("t")}, "t") is None
