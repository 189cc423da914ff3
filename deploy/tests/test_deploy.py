"""The Compose deployment for real (issues 15 and 25): deploy/docker-compose.yml started
from the project image, with a fake hand-off webhook (docker-compose.test.yml), checked
through nginx, then stopped and removed with its volumes.

Run only by `make test-deploy` (scripts/test-deploy), which builds the images first and
passes their names in ASSISTANT_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE and NGINX_IMAGE.
The Kubernetes manifests cannot run here: they are validated offline and compared
with the Compose file (test_kubernetes.py).
"""
import html
import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from devstack import SHOTS, free_port
from devstack.browser import chromium
from devstack.stack import FORM_ANSWERS as ANSWERS
from devstack.stack import OPENING

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
TEST_FILE = ROOT / "deploy" / "tests" / "docker-compose.test.yml"  # the fake webhook
IMAGES = ("ASSISTANT_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE", "NGINX_IMAGE")
ROLES = {"rasa": 2, "actions": 2, "handoff-worker": 2, "web": 1, "postgres": 1, "redis": 1,
         "nginx": 1, "fake-webhook": 1}
ASSISTANT_ROLES = ("rasa", "actions", "handoff-worker", "web")
# The hand-off's messages (data/handoff.yml), up to their first {placeholder}.
HANDOFF = {key: text.split("{")[0] for key, text in
           yaml.safe_load((ROOT / "data" / "handoff.yml").read_text()).items()
           if isinstance(text, str)}
START_TIMEOUT = 600  # two Rasa replicas loading the model on a busy 2-core machine


missing = [name for name in IMAGES if not os.environ.get(name)]
if missing:
    pytest.fail(f"run through `make test-deploy` (scripts/test-deploy): {missing} not set",
                pytrace=False)


def run(*args, check=True, timeout=600) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Deployment:
    """One Compose project of its own (name, public port, passwords, volume)."""

    def __init__(self):
        self.project = f"tfa-deploy-test-{os.getpid()}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secrets = {"DB_PASSWORD": secrets.token_hex(16),
                        "REDIS_PASSWORD": secrets.token_hex(16),
                        "INSIGHTS_TOKEN": secrets.token_hex(16),
                        # A webhook's URL holds its token, as Slack's do.
                        "HANDOFF_WEBHOOK_URL": "http://fake-webhook:8000/hooks/T0001/"
                                               + secrets.token_hex(8)}
        self.env = {**{k: v for k, v in os.environ.items()
                       if not k.startswith(("HANDOFF_", "INSIGHTS_", "SLACK_", "TEAMS_"))},
                    **self.secrets, "PUBLIC_PORT": str(self.port),
                    "PUBLIC_BIND": "127.0.0.1",  # published on this machine only
                    "RASA_AUTH_TOKEN": "", "PUBLIC_URL": ""}

    def command(self, *args) -> list:
        return [os.environ.get("COMPOSE", "docker-compose"), "-p", self.project,
                "-f", str(COMPOSE_FILE), "-f", str(TEST_FILE), *args]

    def compose(self, *args, timeout=START_TIMEOUT) -> str:
        done = subprocess.run(self.command(*args), env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"compose {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n"
                               f"{self.logs()}")
        return done.stdout

    def logs(self) -> str:
        done = subprocess.run(self.command("logs", "--no-color", "--tail", "40"),
                              env=self.env, capture_output=True, text=True, timeout=60)
        return done.stdout[-8000:]

    def psql(self, query: str) -> str:
        return self.compose("exec", "-T", "postgres", "psql", "-U", "rasa", "-d", "rasa",
                            "-tAc", query, timeout=60).strip()

    def containers(self) -> dict:
        """service name -> list of `docker inspect` documents, for this project."""
        ids = run("docker", "ps", "-aq", "--filter",
                  f"label=com.docker.compose.project={self.project}").split()
        found = {}
        for doc in json.loads(run("docker", "inspect", *ids)) if ids else []:
            found.setdefault(doc["Config"]["Labels"]["com.docker.compose.service"], []).append(doc)
        return found

    def wait_healthy(self, timeout=START_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            found = self.containers()
            states = {doc["Name"]: doc["State"].get("Health", {}).get("Status", doc["State"]["Status"])
                      for docs in found.values() for doc in docs}
            counts = {service: len(docs) for service, docs in found.items()}
            if counts == ROLES and all(s in ("healthy", "running") for s in states.values()):
                return found
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout}s: {states}\n{self.logs()}")
            time.sleep(3)

    def rasa_urls(self) -> list:
        """Each Rasa replica's own address on the Compose network (to alternate them)."""
        return [f"http://{ip}:5005" for ip in self.rasa_ips()]

    def rasa_ips(self) -> list:
        return self.ips("rasa")

    def ips(self, service: str) -> list:
        return sorted(next(iter(doc["NetworkSettings"]["Networks"].values()))["IPAddress"]
                      for doc in self.containers()[service])

    def webhook_posts(self) -> list:
        """What the fake webhook received, read on its address on the Compose network."""
        (ip,) = self.ips("fake-webhook")
        return [p["json"] for p in requests.get(f"http://{ip}:8000/posts", timeout=10).json()]


@pytest.fixture(scope="module")
def deployment():
    d = Deployment()
    try:
        d.compose("up", "-d", "--no-build")
        d.wait_healthy()
        yield d
    finally:
        subprocess.run(d.command("down", "-v", "--remove-orphans", "-t", "20"),
                       env=d.env, capture_output=True, timeout=300)


def say(url, sender, message):
    r = requests.post(f"{url}/webhooks/rest/webhook",
                      json={"sender": sender, "message": message}, timeout=120)
    assert r.status_code == 200, r.text
    return " ".join(m.get("text", "") for m in r.json())


class Conversation:
    """The opening, then the form's questions answered; each turn on the next URL."""

    def __init__(self, sender):
        self.sender, self.said, self.replies = sender, [], []

    def turn(self, url, message):
        self.said.append(message)
        self.replies.append(say(url, self.sender, message))

    def next_message(self):
        if len(self.said) < len(OPENING):
            return OPENING[len(self.said)]
        return next((a for q, a in ANSWERS.items() if q in self.replies[-1]), None)

    def run(self, urls, turns=99):
        for _ in range(turns):
            message = self.next_message()
            if message is None:
                break
            self.turn(urls[len(self.said) % len(urls)], message)
        return self


# -- the stack ----------------------------------------------------------------------------------
def test_every_service_runs_healthy_with_its_replicas(deployment):
    found = deployment.wait_healthy(timeout=60)
    for service in ("rasa", "actions", "web", "postgres", "redis"):
        for doc in found[service]:
            assert doc["State"]["Health"]["Status"] == "healthy", (service, doc["State"])
    for doc in found["handoff-worker"]:  # no health check: it serves nothing
        assert doc["State"]["Status"] == "running" and doc["RestartCount"] == 0, doc["State"]


def test_every_role_of_the_image_gets_the_database(deployment):
    """One PostgreSQL for the tracker store, the outbox and the insights."""
    for service in ASSISTANT_ROLES:
        for doc in deployment.containers()[service]:
            env = dict(e.split("=", 1) for e in doc["Config"]["Env"])
            assert (env["DB_HOST"], env["DB_NAME"]) == ("postgres", "rasa"), service


def test_containers_run_as_non_root_users(deployment):
    for service, docs in deployment.containers().items():
        if service in ("nginx", "fake-webhook"):  # nginx: like the official image, root
            continue                                # master, unprivileged workers
        for doc in docs:
            status = run("docker", "exec", doc["Id"], "cat", "/proc/1/status")
            uid = re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)
            assert uid != "0", f"{service}: the main process runs as root"
            if service in ASSISTANT_ROLES:
                assert uid == "1001" and doc["Config"]["User"] == "1001", service


def test_image_holds_no_secret(deployment):
    image = os.environ["ASSISTANT_IMAGE"]
    history = run("docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    config = json.loads(run("docker", "image", "inspect", image))[0]["Config"]
    for value in deployment.secrets.values():
        assert value not in history and value not in json.dumps(config)
    names = [e.split("=", 1)[0] for e in config["Env"]]
    assert not [n for n in names if re.search("PASSWORD|TOKEN|SECRET|KEY", n)], names
    assert not re.search(r"PASSWORD|TOKEN|SECRET", history), history
    files = run("docker", "run", "--rm", "--network", "none", "--entrypoint", "find", image,
                "/app", "-type", "f", "(", "-name", ".env", "-o", "-name", "*.env", "-o",
                "-name", "*.db", ")")
    assert files.strip() == ""


# -- through nginx ------------------------------------------------------------------------------
def test_rest_answer_through_nginx(deployment):
    assert "Small Private Online Course" in say(deployment.url, "rest-1", "What is a SPOC?")


def test_nginx_serves_only_the_page_and_the_webhooks(deployment):
    page = requests.get(deployment.url + "/", timeout=10)
    assert page.ok and "text/html" in page.headers["Content-Type"]
    assert requests.get(deployment.url + "/vendor/deep-chat.js", timeout=10).ok
    # The HTTP API, the action server and socket.io are not reachable from outside.
    for path in ("/conversations/rest-1/tracker", "/model", "/status", "/webhook",
                 "/socket.io/?EIO=4&transport=polling"):
        r = requests.get(deployment.url + path, timeout=10)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert requests.post(deployment.url + "/", timeout=10).status_code == 403
    # The insights: GET, and POST on the sign-in form alone.
    for path in ("/insights", "/insights.json", "/insights.csv?table=channels"):
        assert requests.get(deployment.url + path, timeout=10).status_code == 401, path
        assert requests.post(deployment.url + path, timeout=10).status_code == 403, path
    assert requests.get(deployment.url + "/insights/sign-in", timeout=10).status_code == 403
    assert requests.post(deployment.url + "/insights/sign-in", data={"token": "wrong"},
                         timeout=10).status_code == 401


def test_nginx_balances_the_rasa_replicas(deployment):
    before = len(nginx_upstreams(deployment))
    for i in range(20):
        say(deployment.url, f"balance-{i}", "What is a COOC?")
    used = set(nginx_upstreams(deployment)[before:])
    assert used == {f"{ip}:5005" for ip in deployment.rasa_ips()}


def nginx_upstreams(deployment):
    """The replica of each webhook request, from nginx's access log (its stdout)."""
    log = deployment.compose("logs", "--no-color", "nginx", timeout=60)
    return re.findall(r'"POST /webhooks/rest/webhook HTTP/1.1" 200 \d+ [\d.]+ ([\d.:]+)', log)


def test_guided_dialog_across_replicas_survives_a_restart(deployment):
    reference = Conversation("dialog-reference").run(deployment.rasa_urls()[:1])
    assert "Who are the learners?" in reference.replies[1]
    assert len(reference.replies) >= 5 and reference.next_message() is None, reference.replies

    # Every turn on the other replica: the conversation lives in PostgreSQL, not in one of them.
    alternating = Conversation("dialog-alternating").run(deployment.rasa_urls())
    assert (alternating.said, alternating.replies) == (reference.said, reference.replies)

    # Half of it through nginx, both Rasa replicas restarted, the rest through nginx.
    restarted = Conversation("dialog-restart").run([deployment.url], turns=4)
    deployment.compose("restart", "rasa")
    deployment.wait_healthy()
    restarted.run([deployment.url])
    assert (restarted.said, restarted.replies) == (reference.said, reference.replies)

    stored = deployment.compose(
        "exec", "-T", "postgres", "psql", "-U", "rasa", "-d", "rasa", "-tAc",
        "SELECT count(*) FROM events WHERE sender_id = 'dialog-restart' AND type_name = 'user'")
    assert int(stored.strip()) == len(reference.said)


def test_chat_page_loads_and_answers_in_chromium(deployment):
    from playwright.sync_api import expect
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        requested, errors = [], []
        page.on("request", lambda r: requested.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(deployment.url + "/")
        expect(page.locator(".ta-title")).to_have_text("Training Formats Assistant")
        expect(page.locator(".ta-status")).to_contain_text("Online", timeout=15_000)
        page.locator("deep-chat #text-input").click()
        page.keyboard.type("What is a SPOC?")
        page.keyboard.press("Enter")
        answers = page.locator("deep-chat .message-bubble.ai-message")
        expect(answers.last).to_contain_text("Small Private Online Course", timeout=60_000)
        page.screenshot(path=str(SHOTS / "deploy-chat-page.png"))
    assert not errors, errors
    outside = [u for u in requested if not u.startswith("data:")
               and urlsplit(u).netloc != f"127.0.0.1:{deployment.port}"]
    assert not outside, f"the page reached past nginx: {outside}"
    assert any(u == deployment.url + "/webhooks/rest/webhook" for u in requested)


# -- the hand-off and the insights through nginx ------------------------------------------------
def report(title, lines):
    """What the check saw, in the pytest report (`make test-deploy` shows it)."""
    print(f"{title}:\n" + "\n".join(f"  {line}" for line in lines))


def test_handoff_over_rest_reaches_the_webhook_once_with_replicas_restarted(deployment):
    """Both action servers and both workers up; one of each restarted mid-way: the
    form's state and the outbox are in PostgreSQL, so nothing is lost and nothing sent
    twice."""
    url, sender = deployment.url, "deploy-handoff"
    assert HANDOFF["offer"] in say(url, sender, "I'd rather talk to someone")
    assert HANDOFF["ask_email"] in say(url, sender, "yes")
    restarted = [deployment.containers()[s][0]["Name"].lstrip("/")
                 for s in ("actions", "handoff-worker")]
    run("docker", "restart", "-t", "20", *restarted)
    deployment.wait_healthy()
    assert HANDOFF["ask_project"] in say(url, sender, "jane@acme.example")
    assert HANDOFF["confirm"] + "jane@acme.example" in say(url, sender, "skip")
    reply = say(url, sender, "yes")
    assert HANDOFF["sent_go_on"] + "jane@acme.example" in reply

    # "Sent" is said once a worker marked the row sent: it is never claimed again.
    rows = deployment.psql("SELECT transport, status, attempts FROM handoff_outbox WHERE "
                           f"content LIKE '%\"conversation_id\": \"{sender}\"%'")
    assert rows == "webhook|sent|1"
    posts = [p for p in deployment.webhook_posts() if p["conversation_id"] == sender]
    assert len(posts) == 1
    assert "Contact: jane@acme.example" in posts[0]["text"]
    assert "- I'd rather talk to someone" in posts[0]["text"]
    report("hand-off through nginx", [
        f"restarted mid-way: {', '.join(restarted)}",
        f"reply: {reply}",
        f"outbox row (transport|status|attempts): {rows}",
        f"webhook posts for {sender}: {len(posts)}", *posts[0]["text"].splitlines()])


def insights_figures(session, **kwargs):
    """/insights.json once its summary has caught up with the tracker store."""
    deadline = time.monotonic() + 60
    while True:
        r = session.get(f"{kwargs['url']}/insights.json", headers=kwargs.get("headers"),
                        timeout=30)
        assert r.status_code == 200, r.text
        if r.json()["up_to_date"] or time.monotonic() > deadline:
            return r.json()
        time.sleep(0.5)


def test_insights_sign_in_with_the_token_and_show_the_conversations_just_made(deployment):
    url, token = deployment.url, deployment.secrets["INSIGHTS_TOKEN"]
    bearer = {"Authorization": f"Bearer {token}"}
    before = insights_figures(requests.Session(), url=url, headers=bearer)["conversations"]
    unanswered = "What's the weather in London?"  # off-subject (tests/test_handoff_e2e.py)
    say(url, "deploy-insights-1", "What is a SPOC?")
    say(url, "deploy-insights-2", unanswered)

    browser = requests.Session()
    sign_in = browser.get(url + "/insights", timeout=30)
    assert sign_in.status_code == 401 and 'action="/insights/sign-in"' in sign_in.text
    wrong = browser.post(url + "/insights/sign-in", data={"token": "not-the-token"}, timeout=30)
    assert wrong.status_code == 401 and not browser.cookies
    signed = browser.post(url + "/insights/sign-in", data={"token": token}, timeout=30)
    assert signed.status_code == 200 and signed.url == url + "/insights", signed.history
    assert browser.cookies and token not in str(browser.cookies.values())

    figures = insights_figures(browser, url=url)
    assert figures["conversations"] == before + 2
    assert unanswered in [row["text"] for row in figures["unanswered"]]
    page = browser.get(url + "/insights", timeout=30)
    assert page.status_code == 200
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.text))
    assert unanswered in text and str(before + 2) in text.split()
    report("insights through nginx", [
        f"GET /insights without the token: {sign_in.status_code} (sign-in form)",
        f"sign-in with a wrong token: {wrong.status_code}; with the token: "
        f"{signed.history[0].status_code} -> {signed.status_code} {urlsplit(signed.url).path}",
        f"conversations: {before} before, {figures['conversations']} after two new ones",
        f"unanswered on the page: {unanswered!r} "
        f"({next(r['kind'] for r in figures['unanswered'] if r['text'] == unanswered)})"])


def test_insights_refuse_any_request_without_the_token(deployment):
    url = deployment.url
    statuses = {path: requests.get(url + path, timeout=30).status_code
                for path in ("/insights", "/insights.json", "/insights.csv?table=unanswered")}
    forged = requests.get(url + "/insights.json", timeout=30,
                          headers={"Authorization": "Bearer not-the-token",
                                   "Cookie": "insights_session=forged"}).status_code
    assert set(statuses.values()) == {401} and forged == 401, (statuses, forged)
    report("insights without the token", [f"GET {p}: {s}" for p, s in statuses.items()]
           + [f"GET /insights.json with a wrong bearer token and cookie: {forged}"])


def test_lone_containers_answer_with_their_sqlite_store():
    """The image without Compose, as its header shows: Rasa with the default SQLite tracker
    store (no DB_HOST), next to an action server, on a network of their own."""
    image, tag = os.environ["ASSISTANT_IMAGE"], f"tfa-lone-{os.getpid()}"
    run("docker", "network", "create", tag)
    try:
        run("docker", "run", "-d", "--name", f"{tag}-actions", "--network", tag,
            "--network-alias", "actions", image, "actions")
        run("docker", "run", "-d", "--name", f"{tag}-rasa", "--network", tag,
            "-e", "ACTION_ENDPOINT_URL=http://actions:5055/webhook", image)
        doc = json.loads(run("docker", "inspect", f"{tag}-rasa"))[0]
        url = f"http://{doc['NetworkSettings']['Networks'][tag]['IPAddress']}:5005"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(url + "/", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            state = json.loads(run("docker", "inspect", f"{tag}-rasa"))[0]["State"]
            if not state["Running"] or time.monotonic() > deadline:
                pytest.fail(run("docker", "logs", "--tail", "40", f"{tag}-rasa", check=False))
            time.sleep(2)
        assert "Small Private Online Course" in say(url, "lone-1", "What is a SPOC?")
        stored = run("docker", "exec", f"{tag}-rasa", "ls", "/var/lib/assistant")
        assert "rasa_tracker.db" in stored.split()
    finally:
        run("docker", "rm", "-f", f"{tag}-rasa", f"{tag}-actions", check=False)
        run("docker", "network", "rm", tag, check=False)
