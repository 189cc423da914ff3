"""Every change this project makes to Rasa's own code, for Rasa 3.6.21 only.

Each patch names the Rasa defect it fixes (with its upstream issue) and is applied by
`apply()`, once per process. `apply()` refuses any other Rasa version with a RuntimeError,
so an upgrade stops at start-up until each patch is checked (still needed? still right?)
and RASA_VERSION below is updated.

Who calls `apply()`, when Rasa builds them (never at import): the constructor of
`stores.cached_sql.CachedSQLTrackerStore` (the tracker store of every Rasa process this
project starts: `make run`, `make shell`, the cluster, the containers, the tests) and the
`from_credentials` of each connector in `channels/`. Importing this module patches nothing.

Fixed without patching (so not here): the SQL connection pool's pre-ping is set where
the pool is built (stores/cached_sql.py); a turn that ends without any bot message gets
an apology from every channel (channels/__init__.py, `handle_turn`).
"""
import logging
import os
import re
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Text, Tuple, Type

import rasa

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
_applied: List[Text] = []


# --------------------------------------------------------------------------------------
# 1. Custom action responses are validated with a validator built once.
#
# Upstream: RasaHQ/rasa#11717 ("Significantly longer response times from rasa server on
# versions 3.2.x and 3.3.0", workaround: downgrade jsonschema). Every custom action call
# ends in `RemoteAction._validate_action_result`, which calls `jsonschema.validate`:
# that re-checks Rasa's large events schema against the JSON Schema meta-schema and
# builds a new validator every time: about 40 ms of CPU per call on an idle core of
# this machine (150-340 ms on a busy one), against under 1 ms to validate the response
# (scripts/bench.py, docs/performance.md). The same schema is checked once here, and an
# invalid response still raises the same `ValidationError` with Rasa's message.
_validator: Optional[Any] = None


def _cached_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)  # once, as jsonschema.validate does on every call
        _validator = cls(schema)
    return _validator


# A valid response is recognised without jsonschema's `oneOf`: each event is checked
# against the one branch of Rasa's event schema that its "event" name selects. The other
# 22 branches differ from it by that name alone, so an event matches exactly one branch
# (as `oneOf` requires) if and only if it matches this one; jsonschema instead tries all
# 23 and builds an error object for each that fails (about 1 ms per call, most of the
# check). Anything refused here is checked again by the whole schema, for Rasa's message.
_quick_validators: Dict[Optional[Text], Any] = {}


def _quick_validator(event_name: Optional[Text]) -> Optional[Any]:
    """The check of one event type, or of the response without its events (None)."""
    if not _quick_validators:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction
        from rasa.shared.utils.schemas.events import EVENT_SCHEMA

        cls = validator_for(EVENT_SCHEMA)
        common = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
        for branch in EVENT_SCHEMA["oneOf"]:
            name = branch["properties"]["event"]["const"]
            _quick_validators[name] = cls({**common, "allOf": [branch]})
        response = RemoteAction.action_response_format_spec()
        _quick_validators[None] = cls({**response, "properties": {
            **response["properties"], "events": {"type": "array"}}})
    return _quick_validators.get(event_name)


def is_valid_action_result(result: Any) -> bool:
    """What `jsonschema.validate` against Rasa's response schema accepts, faster."""
    if not _quick_validator(None).is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event") if isinstance(event, dict) else None
        validator = _quick_validator(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validator built once."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    if is_valid_action_result(result):
        return True
    error = best_match(_cached_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _cache_action_response_validator() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result


# --------------------------------------------------------------------------------------
# 2. A tracker store error fails the turn instead of silently forgetting the conversation.
#
# Upstream: RasaHQ/rasa#3243 (the fallback was added on purpose, PR #4699; a 2025 comment
# there reports the same message loss). Rasa wraps every tracker store in a
# `FailSafeTrackerStore` that, when the database is down, logs the error and carries on
# with an empty tracker kept in memory: the bot answers as if the conversation had just
# started, and what is said meanwhile is never stored. Here the error is raised: the REST
# channel answers 503 (the client retries and the conversation resumes from the database
# once it is back), Slack and Teams users get the apology (channels/__init__.py).
def _raise(self: Any, error: Exception) -> None:
    raise error


def _fail_on_tracker_store_errors() -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore

    FailSafeTrackerStore.on_tracker_store_error = _raise
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _raise


# --------------------------------------------------------------------------------------
# 3. An endpoint's HTTP session (the action server's) is kept from one request to the next.
#
# Upstream: RasaHQ/rasa#8235 ("Rasa Action servers makes everything slow", closed without
# a change).
# Rasa 3.6's `EndpointConfig.request` opens a new aiohttp `ClientSession` for every request
# and closes it after (`async with self.session()`), so each custom action call (1.4 a
# message here) builds a session and a connection pool and connects to the action server
# anew; aiohttp's documentation advises one session for many requests. Here `session()`
# returns a session kept per endpoint and event loop, which the request's `async with`
# leaves open. Idle connections are closed after KEEPALIVE_S seconds, before the action
# server (Sanic: 5 s) closes them, so a request never goes out on a connection that the
# server is closing. Measured on loopback: 0.9-1.7 -> 0.6-0.7 ms per call.
KEEPALIVE_S = 2.0


class _KeptSession:
    """What `async with endpoint.session()` gets: the kept session, left open."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def kept_session(self: Any) -> _KeptSession:
    """`EndpointConfig.session`, with one session per endpoint and event loop."""
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    kept = self.__dict__.get("_kept_session")
    if kept is None or kept[0] is not loop or kept[1].closed:
        auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth else None)  # as Rasa's `session()` builds it
        session = aiohttp.ClientSession(
            headers=self.headers, auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S))
        kept = self._kept_session = (loop, session)
    return _KeptSession(kept[1])


def _keep_endpoint_sessions() -> None:
    from rasa.utils.endpoints import EndpointConfig

    EndpointConfig.session = kept_session


# --------------------------------------------------------------------------------------
# 4. A graph run calls its nodes one after the other, without dask's scheduler.
#
# Rasa 3.6 runs each message's NLU and each policy prediction (about three graph runs a
# message) with `dask.get`, dask's synchronous scheduler: every run collects the target's
# dependencies again (a recursion without memory), builds a dask graph, orders it and keeps
# dask's bookkeeping, for graphs of 7-12 nodes: about a tenth of the Rasa server's CPU per
# message in cProfile. Here the nodes a run needs are put in order once per set of targets
# and inputs (each after the nodes it needs), and called in that order with what dask
# would pass them: each need's output, an input, or, for a name that is neither, the name
# itself. As with dask, every node of the minimal graph runs once (but those replaced by
# an input), and an exception raised by a node propagates unchanged (RuntimeError as
# Rasa's GraphRunError). Upstream: RasaHQ/rasa#8235 (per-message overhead of Rasa 3).
def _run_order(schema: Any, targets: Tuple[Text, ...], given: frozenset
               ) -> Tuple[List[Tuple[Text, Tuple[Text, ...]]], List[Text]]:
    """The nodes that `run` calls, each after those it needs (with what it needs), and the
    names of the minimal graph's nodes."""
    nodes = schema.minimal_graph_schema(list(targets)).nodes
    order: List[Tuple[Text, Tuple[Text, ...]]] = []
    placed: set = set()

    def place(name: Text) -> None:
        if name in placed or name in given or name not in nodes:
            return
        placed.add(name)
        needs = tuple(nodes[name].needs.values())
        for need in needs:
            place(need)
        order.append((name, needs))

    for name in nodes:
        place(name)
    return order, list(nodes)


def run_in_order(self: Any, inputs: Optional[Dict[Text, Any]] = None,
                 targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
    """`DaskGraphRunner.run`, calling the nodes in an order computed once."""
    from rasa.engine.exceptions import GraphRunError

    run_targets = targets if targets else self._graph_schema.target_names
    plans = self.__dict__.setdefault("_run_orders", {})
    key = (tuple(run_targets), frozenset(inputs or {}))
    if key not in plans:
        plans[key] = _run_order(self._graph_schema, *key)
    order, node_names = plans[key]
    outputs: Dict[Text, Any] = dict.fromkeys(node_names)
    self._add_inputs_to_graph(inputs, outputs)  # Rasa's check of the names, and the inputs
    try:
        for name, needs in order:
            outputs[name] = self._instantiated_nodes[name](
                *(outputs.get(need, need) for need in needs))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    return dict(outputs[target] for target in run_targets)


def _run_graphs_in_order() -> None:
    from rasa.engine.runner.dask import DaskGraphRunner

    DaskGraphRunner.run = run_in_order


# --------------------------------------------------------------------------------------
# 5. The two policies share the replay of the conversation that their states come from.
#
# Each prediction (two a message), RulePolicy and MemoizationPolicy each ask for the
# conversation's past states (`Domain.states_for_tracker_history`), which replays every
# event of the conversation into a new tracker and reads the state before each action: the
# largest cost of a prediction in cProfile. Their requests differ only in the rule-only
# turns that MemoizationPolicy leaves out, which is worked out after the replay. Here the
# replay's readings are kept on the tracker for as long as its events are the same ones
# (count and last event), and each request gets fresh copies of the states, filtered as
# Rasa filters them. Upstream: RasaHQ/rasa#8235 (per-message overhead of Rasa 3).
_REPLAY = "_shared_replay"


class _Replay(NamedTuple):
    domain: Any
    omit_unset_slots: bool
    events: int  # how many events the tracker had
    last_event: Any
    turns: List[Tuple]


def _copied(state: Dict[Text, Any]) -> Dict[Text, Any]:
    """A state's own copy: its sub-states are dicts of strings and tuples."""
    return {kind: dict(sub_state) for kind, sub_state in state.items()}


def _prior_turns(domain: Any, tracker: Any, omit_unset_slots: bool) -> List[Tuple]:
    """For the tracker before each action (as `generate_all_prior_trackers` replays it):
    its state and what `states_for_tracker_history` reads of it besides."""
    events = tracker.events
    last_event = events[-1] if events else None
    kept: Optional[_Replay] = tracker.__dict__.get(_REPLAY)
    if (kept and kept.domain is domain and kept.omit_unset_slots == omit_unset_slots
            and kept.events == len(events) and kept.last_event is last_event):
        return kept.turns
    turns = [(domain.get_active_state(prior, omit_unset_slots=omit_unset_slots),
              domain._get_prev_action_sub_state(prior), prior.followup_action,
              prior.latest_action_name, prior.active_loop_name, hide_rule_turn)
             for prior, hide_rule_turn in tracker.generate_all_prior_trackers()]
    tracker.__dict__[_REPLAY] = _Replay(domain, omit_unset_slots, len(events), last_event, turns)
    return turns


def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: Optional[Dict[Text, Any]] = None
                               ) -> List[Dict[Text, Any]]:
    """`Domain.states_for_tracker_history` (the same steps), on the shared replay."""
    from rasa.shared.core.constants import PREVIOUS_ACTION

    states: List[Dict[Text, Any]] = []
    last_ml_action_sub_state = None
    turn_was_hidden = False
    for (state, prev_action_sub_state, followup_action, latest_action_name,
         active_loop_name, hide_rule_turn) in _prior_turns(self, tracker, omit_unset_slots):
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action_sub_state = prev_action_sub_state
            if not followup_action and not latest_action_name == active_loop_name:
                turn_was_hidden = hide_rule_turn
            if turn_was_hidden:
                continue
        state = _copied(state)
        if ignore_rule_only_turns:
            self._remove_rule_only_features(state, rule_only_data)
            if states:
                self._substitute_rule_only_user_input(state, states[-1])
            if last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = dict(last_ml_action_sub_state)
        states.append(self._clean_state(state))
    return states


def _share_the_replay_between_policies() -> None:
    from rasa.shared.core.domain import Domain

    Domain.states_for_tracker_history = states_for_tracker_history


PATCHES: Dict[Text, Callable[[], None]] = {
    "cached action response validator (RasaHQ/rasa#11717)": _cache_action_response_validator,
    "tracker store errors are raised (RasaHQ/rasa#3243)": _fail_on_tracker_store_errors,
    "one HTTP session per endpoint": _keep_endpoint_sessions,
    "graph nodes called in order, without dask": _run_graphs_in_order,
    "one replay of the conversation for both policies": _share_the_replay_between_policies,
}


def apply() -> List[Text]:
    """Applies every patch once; raises RuntimeError on a Rasa version they were not
    written for. Returns the names of the patches applied."""
    if rasa.__version__ != RASA_VERSION:
        raise RuntimeError(
            f"patches/rasa36.py was written for Rasa {RASA_VERSION}, this is Rasa "
            f"{rasa.__version__}: check each patch against the new version (is the "
            f"upstream issue fixed?), then update RASA_VERSION or remove the patch.")
    if not _applied:
        for name, patch in PATCHES.items():
            patch()
            _applied.append(name)
        logger.debug("Rasa patches applied: %s", "; ".join(_applied))
    return list(_applied)


# --------------------------------------------------------------------------------------
# Not a patch of Rasa's code: the deprecation warnings that Rasa 3.6.21's dependencies
# print before `rasa shell`'s prompt (a screen of them), hidden by scripts/rasa_shell.py.
# Only these; any other warning still shows. Not filters: Sanic and Rasa insert their own
# filters in front of any set earlier ("once" for every DeprecationWarning / UserWarning).
KNOWN_WARNINGS: List[Tuple[Text, Type[Warning]]] = [
    (r"pkg_resources is deprecated as an API", DeprecationWarning),
    (r"Deprecated call to `pkg_resources\.declare_namespace", DeprecationWarning),
    (r"jax\.xla_computation is deprecated", DeprecationWarning),
    (r"distutils Version classes are deprecated", DeprecationWarning),
    (r"Calling URL\(\) directly is deprecated", DeprecationWarning),  # SQLAlchemy, by Rasa
    (r"'click\.utils\.get_(binary|text)_stream' is deprecated", DeprecationWarning),
    (r"'BaseCommand' is deprecated", DeprecationWarning),
    (r"Importing 'parser\.split_arg_string' is deprecated", DeprecationWarning),
    # pyparsing's (a UserWarning too), from matplotlib and packaging:
    (r"'(setParseAction|parseString|resetCache|originalTextFor)' deprecated", UserWarning),
]


def hide_known_warnings() -> None:
    """Stops KNOWN_WARNINGS (and SQLAlchemy's 2.0 notice) from being shown."""
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")  # SQLAlchemy's own switch
    show = warnings.showwarning

    def show_unless_known(message: Any, category: Type[Warning], *args: Any,
                          **kwargs: Any) -> None:
        if not any(issubclass(category, known) and re.match(pattern, str(message))
                   for pattern, known in KNOWN_WARNINGS):
            show(message, category, *args, **kwargs)

    warnings.showwarning = show_unless_known
