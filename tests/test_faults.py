"""Faults: the database, Redis, the Rasa server and the action server going away.

One stack for the module: a Rasa server (REST channel of channels/rest.py, HTTP
API with a token, --debug logs) using a PostgreSQL tracker store and a Redis lock
store, each reached through a TCP forwarder this test starts and stops (the
machine's PostgreSQL and Redis are never touched). The database is the test's
own, dropped afterwards. Tests run in file order and share conversations' state.
"""
import os
import secrets
import socket
import subprocess
import threading
import time
from pathlib import Path

import psycopg2
import pytest
import requests

from channels import APOLOGY
from devstack import BIN, ROOT, START_TIMEOUT, RasaStack, texts

from config import endpoints as make_endpoints
from tests.wording import answer, question

pytestmark = pytest.mark.integration  # servers, services or the trained model

TOKEN = secrets.token_hex(16)
DB_PASSWORD = "pw-" + secrets.token_hex(12)  # trust auth ignores it; the logs must too


class Forwarder:
    """A TCP forwarder on a fixed local port that can be stopped and restarted.

    Stopping closes the listening socket and every open connection, like a
    database server going down.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._listener = None
        self._conns = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
                client.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            listener.close()
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            self._close(sock)


@pytest.fixture(scope="module")
def env():
    db = f"rasa_test_{secrets.token_hex(4)}"
    pg_fw, redis_fw = Forwarder(5432), Forwarder(6379)
    redis_fw.start()
    values = {"DB_HOST": "127.0.0.1", "DB_PORT": str(pg_fw.port), "DB_USER": "postgres",
              "DB_PASSWORD": DB_PASSWORD, "DB_NAME": db, "DB_LOGIN_DB": "postgres",
              "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_fw.port), "REDIS_DB": "0",
              "REDIS_KEY_PREFIX": f"test{secrets.token_hex(4)}"}
    yield {"values": values, "pg": pg_fw, "redis": redis_fw, "db": db}
    pg_fw.stop()
    redis_fw.stop()
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    conn.close()


@pytest.fixture(scope="module")
def stack(env, tmp_path_factory):
    s = RasaStack(tmp_path_factory.mktemp("faults"), credentials="channels.rest.RestInput:\n",
                  env=env["values"], rasa_args=["--debug", "--enable-api", "--auth-token", TOKEN])
    s.endpoints = make_endpoints.render(
        {**env["values"], "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{s.action_port}/webhook"})
    s.started = False
    yield s
    s.__exit__()


def started(stack, env):
    if not stack.started:
        env["pg"].start()
        stack.start_actions()
        stack.start_rasa()
        stack.started = True
    return stack


def post(stack, sender, message):
    return requests.post(f"{stack.url}/webhooks/rest/webhook",
                         json={"sender": sender, "message": message}, timeout=60)


def user_texts(stack, sender):
    r = requests.get(f"{stack.url}/conversations/{sender}/tracker",
                     params={"token": TOKEN}, timeout=30)
    assert r.status_code == 200, r.text
    return [e["text"] for e in r.json()["events"] if e["event"] == "user"]


def test_database_down_at_start_up_is_reported_then_waited_for(stack, env):
    # scripts/run's pre-flight check says clearly what is missing.
    check = subprocess.run([str(BIN / "python"), "-m", "config.endpoints", "--out",
                            str(stack.workdir / "checked.yml"), "--check"],
                           cwd=ROOT, env={**os.environ, **env["values"]},
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 2
    assert f"PostgreSQL at 127.0.0.1:{env['pg'].port}" in check.stderr
    assert "is not reachable" in check.stderr and DB_PASSWORD not in check.stderr
    # Rasa itself keeps retrying, logging why, and starts once the database is back.
    stack.start_actions()
    failures = []

    def start():
        try:
            stack.start_rasa()
        except Exception as e:  # reported below
            failures.append(e)

    starter = threading.Thread(target=start)
    starter.start()
    log = stack.workdir / "rasa.log"
    deadline = time.monotonic() + START_TIMEOUT
    while "Connection refused" not in (log.read_text(errors="replace") if log.exists() else ""):
        assert time.monotonic() < deadline, "no database error in the Rasa log"
        time.sleep(1)
    assert starter.is_alive()
    env["pg"].start()
    starter.join(timeout=START_TIMEOUT + 60)
    assert not starter.is_alive() and not failures, failures
    stack.started = True
    assert answer("spoc", "definition") in texts(stack.say("f-start", "What is a SPOC?"))


def test_rasa_restarted_in_the_middle_of_the_form_resumes_it(stack, env):
    started(stack, env)
    assert question("audience") in texts(stack.say("f-restart",
                                                      "which format should I choose?"))
    assert question("learners") in texts(stack.say("f-restart", "our employees"))
    stack.stop_rasa()
    stack.start_rasa()
    assert question("goal") in texts(stack.say("f-restart", "about 200"))


def test_action_server_down_gets_an_apology_then_the_form_goes_on(stack, env):
    started(stack, env)
    assert question("audience") in texts(stack.say("f-actions",
                                                      "which format should I choose?"))
    stack.action_proc.kill()
    stack.action_proc.wait()
    r = post(stack, "f-actions", "our employees")
    assert r.status_code == 200
    assert [m.get("text") for m in r.json()] == [APOLOGY]
    stack.start_actions()
    reply = texts(stack.say("f-actions", "our employees"))
    assert question("learners") in reply, reply


@pytest.mark.parametrize("service", ["pg", "redis"])
def test_store_outage_gives_a_clear_error_and_loses_nothing(stack, env, service):
    started(stack, env)
    sender = f"f-outage-{service}"
    assert question("audience") in texts(stack.say(sender, "which format should I choose?"))
    env[service].stop()
    try:
        for who in (sender, f"{sender}-new"):
            r = post(stack, who, "our employees")
            assert r.status_code == 503, r.text
            assert "try again" in r.json()["message"]
    finally:
        env[service].start()
    reply = texts(stack.say(sender, "our employees"))
    assert question("learners") in reply, reply
    assert user_texts(stack, sender) == ["which format should I choose?", "our employees"]
    assert stack.rasa_proc.poll() is None


def test_logs_and_files_hold_no_secret(stack, env):
    started(stack, env)
    for path in Path(stack.workdir).iterdir():
        if path.is_file():
            content = path.read_text(errors="replace")
            assert DB_PASSWORD not in content, path
            assert TOKEN not in content, path
    assert "${DB_PASSWORD}" in (stack.workdir / "endpoints.yml").read_text()
