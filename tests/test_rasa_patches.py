"""The Rasa patches (patches/rasa36.py): the cached validation of custom action responses
accepts and refuses what Rasa's does, an endpoint keeps one connection while it is busy,
a tracker store error is no longer swallowed,
another Rasa version is refused, and the patches are applied when Rasa builds the tracker
store or a channel, never by an import."""
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.exceptions import RasaException
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from patches import rasa36

ROOT = Path(__file__).resolve().parents[1]
STOCK_RUN = DaskGraphRunner.run  # imported before any patch is applied
STOCK_STATES = Domain.states_for_tracker_history


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


def rasa_events():
    """One event of each kind Rasa 3.6 serialises, as an action server sends them."""
    from rasa.shared.core import events

    return [event.as_dict() for event in [
        events.UserUttered("hi", {"name": "greet", "confidence": 0.9},
                           [{"entity": "format", "value": "mooc", "start": 0, "end": 4}]),
        events.ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0),
        events.SlotSet("format", "mooc"), events.SlotSet("learners", None),
        events.EntitiesAdded([{"entity": "format", "value": "spoc"}]),
        events.ActiveLoop("recommendation_form"), events.ActiveLoop(None),
        events.BotUttered("Hello!", {"buttons": []}), events.FollowupAction("action_recommend"),
        events.AllSlotsReset(), events.Restarted(), events.UserUtteranceReverted(),
        events.ActionReverted(), events.SessionStarted(), events.LoopInterrupted(True),
        events.ActionExecutionRejected("action_recommend"), events.ConversationPaused(),
        events.ConversationResumed(), events.StoryExported(), events.AgentUttered("hi"),
        events.ReminderScheduled("greet", __import__("datetime").datetime(2026, 12, 6)),
        events.ReminderCancelled(name="r"),
    ]]


def response_variants():
    """Valid responses, and each way of breaking one that the schema can see."""
    good = rasa_events()
    broken = [{"event": "slot"}, {"event": "slot", "name": 3, "value": 1},
              {"event": "user", "text": 5}, {"event": "action", "confidence": "high"},
              {"event": "entities"}, {"event": "no such event"}, {"event": 42},
              {"event": ["slot"]}, {"name": "format"}, {"event": "bot", "timestamp": "now"},
              {"event": "slot", "name": "x", "value": 1, "metadata": []}, "slot", None, 7]
    yield {"events": good, "responses": [{"text": "ok"}]}
    yield {}
    yield {"events": [], "responses": []}
    for event in good + broken:
        yield {"events": [event], "responses": []}
    for event in broken:
        yield {"events": good + [event]}
    yield from [{"events": None}, {"events": {}}, {"responses": [1]}, {"responses": "x"},
                [], "events", None]


def test_the_quick_check_accepts_exactly_what_rasas_schema_accepts():
    variants = list(response_variants())
    verdicts = [(rasa36.is_valid_action_result(r), stock_accepts(r)) for r in variants]
    assert [quick for quick, _ in verdicts] == [stock for _, stock in verdicts]
    assert sum(stock for _, stock in verdicts) == 1 + 2 + len(rasa_events())  # both kinds seen


async def requests_through_an_endpoint(count: int, pause: float = 0.0):
    """`count` requests through one Rasa endpoint to a local server; the client address
    of each request as the server saw it."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    peers = []

    async def webhook(request):
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    try:
        for _ in range(count):
            assert await endpoint.request(json={"next_action": "action_x"}) == {"events": []}
            await asyncio.sleep(pause)
        async with endpoint.session() as session:
            assert not session.closed  # the requests left it open
    finally:
        async with endpoint.session() as session:
            await session.close()
        await runner.cleanup()
    return peers


def test_an_endpoint_sends_its_requests_on_one_connection():
    peers = asyncio.run(requests_through_an_endpoint(3))
    assert len(peers) == 3 and len(set(peers)) == 1


def test_an_idle_connection_is_closed_by_the_client_and_the_next_request_opens_one(monkeypatch):
    monkeypatch.setattr(rasa36, "KEEPALIVE_S", 0.2)
    peers = asyncio.run(requests_through_an_endpoint(2, pause=0.6))
    assert len(peers) == 2 and len(set(peers)) == 2


class Step(GraphComponent):
    """A graph node that records its call and joins what it was given."""
    calls: list = []

    def __init__(self, name):
        self.name = name

    @classmethod
    def create(cls, config, model_storage, resource, execution_context):
        return cls(config["name"])

    def run(self, **given):
        Step.calls.append(self.name)
        if given.get("fail"):
            raise given["fail"]
        return [self.name] + [given[key] for key in sorted(given)]


def step_graph():
    """A diamond (d needs b and c, which need a), a node needing an input placeholder, one
    needing a name that is neither, one that raises what it is given, one no target needs."""
    def node(name, **needs):
        return SchemaNode(needs=needs, uses=Step, constructor_name="create", fn="run",
                          config={"name": name}, eager=False)
    return GraphSchema({"d": node("d", x="b", y="c"), "b": node("b", x="a"),
                        "c": node("c", x="a", y="__input__"), "a": node("a"),
                        "e": node("e", x="a", y="__nowhere__"), "f": node("f", fail="__error__"),
                        "unused": node("unused")})


def outcome(runner_run, **kwargs):
    """What a run gives (or raises), and the nodes it called."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    Step.calls = []
    schema = step_graph()
    with tempfile.TemporaryDirectory() as folder:
        runner = DaskGraphRunner(schema, LocalModelStorage(Path(folder)),
                                 ExecutionContext(schema, "test"))
        try:
            result = ("result", runner_run(runner, **kwargs))
        except Exception as e:
            result = ("raised", type(e).__name__, str(e))
    return result, sorted(Step.calls)


@pytest.mark.parametrize("kwargs", [
    {"inputs": {"__input__": "given"}, "targets": ["d"]},
    {"inputs": {"__input__": "given"}, "targets": ["d", "c"]},
    {"inputs": {"__input__": "given", "b": "b replaced"}, "targets": ["d"]},
    {"targets": ["c"]},  # a missing input
    {"targets": ["e"]},  # a need that names nothing
    {"inputs": {"__error__": RuntimeError("runtime")}, "targets": ["f"]},
    {"inputs": {"__error__": ValueError("value")}, "targets": ["f"]},
    {"inputs": {"__error__": RasaException("rasa's own")}, "targets": ["f"]},
    {"inputs": {"__input__": "a"}, "targets": ["d"]},  # an input value that names a node
])
def test_graph_nodes_in_order_give_what_dask_gives(kwargs):
    assert STOCK_RUN is not rasa36.run_in_order  # Rasa's own, read before patching
    stock = outcome(STOCK_RUN, **kwargs)
    assert outcome(rasa36.run_in_order, **kwargs) == stock


def test_the_graph_cases_cover_results_and_each_kind_of_error():
    results = [outcome(STOCK_RUN, inputs={"__input__": "given"}, targets=["d"]),
               outcome(STOCK_RUN, inputs={"__error__": RuntimeError("r")}, targets=["f"]),
               outcome(STOCK_RUN, inputs={"__error__": ValueError("v")}, targets=["f"])]
    assert results[0] == (("result", {"d": ["d", ["b", ["a"]], ["c", ["a"], "given"]]}),
                          ["a", "b", "c", "d"])
    # Rasa wraps a component's error (GraphComponentException), whatever its kind.
    assert [r[0][:2] for r in results[1:]] == [("raised", "GraphComponentException")] * 2


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
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.utils.endpoints import EndpointConfig
from channels.rest import RestInput
from channels.slack import SlackConnector
from channels.teams import TeamsConnector
from patches import rasa36
from stores.cached_sql import CachedSQLTrackerStore

TARGETS = [(RemoteAction, "_validate_action_result"), (EndpointConfig, "session"),
           (DaskGraphRunner, "run"), (Domain, "states_for_tracker_history"),
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
        "import": [False] * 6, "store": [True] * 6, "rest": [True] * 6, "slack": [True] * 6,
        "teams": [True] * 6}


def story_trackers():
    """The conversations of the stories and rules, as Rasa's training builds them."""
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "domain.yml"),
        training_data_paths=[str(ROOT / "data" / name)
                             for name in ("stories.yml", "rules.yml", "topic_rules.yml")])
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(importer.get_stories(), domain, remove_duplicates=False,
                                     augmentation_factor=0).generate()
    return domain, trackers


def test_the_policies_shared_replay_gives_rasas_states():
    from rasa.shared.core.constants import RULE_ONLY_LOOPS, RULE_ONLY_SLOTS
    from rasa.shared.core.domain import Domain as RasaDomain
    from rasa.shared.core.events import ActionExecuted, SlotSet

    stock = STOCK_STATES
    domain, trackers = story_trackers()
    rule_only = {RULE_ONLY_SLOTS: ["misses", "requested_slot"],
                 RULE_ONLY_LOOPS: ["handoff_form"]}
    options = [dict(omit_unset_slots=omit, ignore_rule_only_turns=ignore, rule_only_data=data)
               for omit in (False, True) for ignore in (False, True)
               for data in (None, rule_only)]
    assert len(trackers) > 50 and any(t.is_rule_tracker for t in trackers)
    compared = 0
    for tracker in trackers:
        for option in options:
            expected = stock(domain, tracker, **option)
            assert rasa36.states_for_tracker_history(domain, tracker, **option) == expected
            compared += 1
        # a new event: the kept replay is not used for the longer conversation
        tracker.update(SlotSet("misses", 1))
        tracker.update(ActionExecuted("action_listen"))
        for option in options[:2]:
            assert (rasa36.states_for_tracker_history(domain, tracker, **option)
                    == stock(domain, tracker, **option))
    assert compared == len(trackers) * len(options)
    assert stock is not rasa36.states_for_tracker_history  # Rasa's own, read before patching
    assert RasaDomain.states_for_tracker_history is rasa36.states_for_tracker_history
