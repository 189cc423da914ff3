"""The Rasa patches (patches/rasa36.py): the cached validation of custom action responses
accepts and refuses what Rasa's does, a tracker store error is no longer swallowed,
another Rasa version is refused, and the patches are applied when Rasa builds the tracker
store or a channel, never by an import."""
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from patches import rasa36

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def patched_rasa():
    """Rasa as this project's store and channels leave it (the patches stay applied)."""
    rasa36.apply()

VALID = {"events": [{"event": "slot", "name": "format", "value": "mooc"}],
         "responses": [{"text": "A MOOC is a Massive Open Online Course."}]}
INVALID = [
    {"events": "not a list", "responses": []},
    {"events": [{"event": "slot"}], "responses": [{"text": 3}]},
    {"events": [{"event": 42}], "responses": []},
]


def stock_accepts(response) -> bool:
    try:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
        return True
    except jsonschema.ValidationError:
        return False


def test_the_patches_are_installed_once_on_this_rasa_version():
    assert rasa36.apply() == list(rasa36.PATCHES)
    assert RemoteAction._validate_action_result is rasa36.validate_action_result


def test_another_rasa_version_is_refused_loudly(monkeypatch):
    monkeypatch.setattr(rasa36.rasa, "__version__", "3.7.0")
    with pytest.raises(RuntimeError, match="written for Rasa 3.6.21, this is Rasa 3.7.0"):
        rasa36.apply()


def test_a_valid_response_passes():
    action = RemoteAction("action_answer_question", None)
    assert stock_accepts(VALID)
    assert action._validate_action_result(VALID) is True


@pytest.mark.parametrize("response", INVALID)
def test_an_invalid_response_is_refused_as_stock_rasa_refuses_it(response):
    assert not stock_accepts(response)
    action = RemoteAction("action_answer_question", None)
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(response)


class BrokenStore(InMemoryTrackerStore):
    async def retrieve(self, sender_id):
        raise ConnectionError("database down")

    async def save(self, tracker):
        raise ConnectionError("database down")


def test_a_tracker_store_error_is_raised_not_replaced_by_an_empty_conversation():
    store = FailSafeTrackerStore(BrokenStore(Domain.empty()))
    with pytest.raises(ConnectionError):
        asyncio.run(store.retrieve("user-1"))
    tracker = InMemoryTrackerStore(Domain.empty()).init_tracker("user-1")
    with pytest.raises(ConnectionError):
        asyncio.run(store.save(tracker))
    assert asyncio.run(store.fallback_tracker_store.retrieve("user-1")) is None


def test_rasa_shell_hides_the_known_deprecation_warnings_only(monkeypatch):
    import warnings

    shown = []
    monkeypatch.setenv("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    monkeypatch.setattr(warnings, "showwarning", lambda message, *_a, **_k: shown.append(
        str(message)))
    rasa36.hide_known_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("pkg_resources is deprecated as an API. See ...", DeprecationWarning)
        warnings.warn("'setParseAction' deprecated - use 'set_parse_action'", UserWarning)
        warnings.warn("pkg_resources is deprecated as an API", UserWarning)  # other kind
        warnings.warn("Something new is deprecated", DeprecationWarning)
    assert shown == ["pkg_resources is deprecated as an API", "Something new is deprecated"]


# In a fresh interpreter: importing the store and the channels patches nothing; building
# them as Rasa does (the store's constructor, each connector's `from_credentials`) does.
HOOKS = """
import json
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from channels.rest import RestInput
from channels.slack import SlackConnector
from channels.teams import TeamsConnector
from patches import rasa36
from stores.cached_sql import CachedSQLTrackerStore

TARGETS = [(RemoteAction, "_validate_action_result"),
           (FailSafeTrackerStore, "on_tracker_store_error"),
           (FailSafeTrackerStore, "on_tracker_store_retrieve_error")]
stock = [vars(cls)[name] for cls, name in TARGETS]
HOOKS = {
    "store": lambda: CachedSQLTrackerStore(Domain.empty(), dialect="sqlite", db=":memory:"),
    "rest": lambda: RestInput.from_credentials(None),
    "slack": lambda: SlackConnector.from_credentials(
        {"slack_token": "xoxb-test", "slack_signing_secret": "secret"}),
    "teams": lambda: TeamsConnector.from_credentials({"app_id": "a", "app_password": "p"}),
}
patched = {"import": [vars(cls)[name] is not value for (cls, name), value in zip(TARGETS, stock)]}
for hook, build in HOOKS.items():
    for (cls, name), value in zip(TARGETS, stock):
        setattr(cls, name, value)
    rasa36._applied.clear()
    build()
    patched[hook] = [vars(cls)[name] is not value for (cls, name), value in zip(TARGETS, stock)]
print(json.dumps(patched))
"""


def test_the_store_and_the_channels_patch_rasa_when_rasa_builds_them_not_at_import():
    done = subprocess.run([sys.executable, "-c", HOOKS], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "import": [False] * 3, "store": [True] * 3, "rest": [True] * 3, "slack": [True] * 3,
        "teams": [True] * 3}
