"""Starts and stops the action server and the Rasa server (tests, benches).

Each stack gets free ports and its own SQLite tracker store in a temporary
folder, so tests never collide with `make run` or with each other.
"""
import os
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import requests

from devstack.procs import BIN, MODEL, ROOT, free_port, stop, wait_until
from config.endpoints import TRACKER_STORE  # the store `make run` uses

__all__ = ["FORM_ANSWERS", "OPENING", "RasaStack", "texts", "TRACKER_STORE"]

# A guided dialog (tests/test_cluster.py, deploy/tests/test_deploy.py): the opening
# messages, then the answers to the recommendation form's questions, by a fragment of
# the question.
OPENING = ["What is a MOOC?", "which format should I choose?"]
FORM_ANSWERS = {
    "Who are the learners?": "our employees",
    "How many learners": "about 200",
    "main goal": "upskilling staff",
    "coaching": "/deny",
    "face-to-face": "/deny",
    "resources to build": "/affirm",
    "private to your organisation": "/deny",
}


class RasaStack:
    """An action server plus a Rasa server, configured by YAML snippets."""

    def __init__(self, workdir: Path, credentials: str = "rest:\n", endpoints: str = "",
                 env: Optional[Dict[str, str]] = None, rasa_args: List[str] = ()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.credentials = credentials
        self.endpoints = endpoints
        self.env = {**os.environ, **(env or {})}
        self.rasa_args = list(rasa_args)
        self.action_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.action_proc: Optional[subprocess.Popen] = None
        self.rasa_proc: Optional[subprocess.Popen] = None

    def endpoints_yaml(self) -> str:
        return self.endpoints or (
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f"tracker_store:\n  type: {TRACKER_STORE}\n  dialect: sqlite\n  db: {self.workdir / 'tracker.db'}\n")

    def _spawn(self, args: List[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "ab")
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_actions(self) -> None:
        self.action_proc = self._spawn(
            [str(BIN / "rasa"), "run", "actions", "--port", str(self.action_port)], "actions.log")
        wait_until(f"http://127.0.0.1:{self.action_port}/health", self.action_proc,
                   self.workdir / "actions.log")

    def stop_actions(self) -> None:
        stop(self.action_proc)
        self.action_proc = None

    def start_rasa(self) -> None:
        (self.workdir / "endpoints.yml").write_text(self.endpoints_yaml())
        (self.workdir / "credentials.yml").write_text(self.credentials)
        self.rasa_proc = self._spawn(
            [str(BIN / "rasa"), "run", "--model", str(MODEL), "--interface", "127.0.0.1",
             "--port", str(self.port), "--endpoints", str(self.workdir / "endpoints.yml"),
             "--credentials", str(self.workdir / "credentials.yml"), *self.rasa_args],
            "rasa.log")
        wait_until(self.url + "/", self.rasa_proc, self.workdir / "rasa.log")

    def stop_rasa(self) -> None:
        stop(self.rasa_proc)
        self.rasa_proc = None

    def __enter__(self) -> "RasaStack":
        try:
            self.start_actions()
            self.start_rasa()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop_rasa()
        self.stop_actions()

    def say(self, sender: str, message: str, timeout: float = 30) -> List[dict]:
        """Sends one message over the REST channel and returns the bot's replies."""
        response = requests.post(f"{self.url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": message}, timeout=timeout)
        response.raise_for_status()
        return response.json()


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)
