"""Times the stages of a turn inside a running Rasa server (scripts/profile_turn.py).

Loaded into `rasa run` through a `sitecustomize` module that scripts/profile_turn.py puts
on PYTHONPATH, with RASA_TURN_PROFILE naming the JSON file to write. It wraps:
  - `MessageProcessor.handle_message`: the whole turn inside the server;
  - `MessageProcessor.parse_message`: NLU (the pipeline's graph nodes, also timed one by one);
  - `MessageProcessor._predict_next_with_tracker`: the policies (each action predicted);
  - `RemoteAction.run`: a custom action call, HTTP to the action server and back;
  - the tracker store's retrieve and save (as Rasa's FailSafeTrackerStore calls them).
Each stage counts wall time and the server process's CPU time (all its threads: TensorFlow
runs a graph on threads of its own), outermost call only. On SIGUSR1 the totals so far are
written to the file (atomically) and reset. With RASA_TURN_CPROFILE naming a file, cProfile
also runs between the first and the second SIGUSR1 and writes its statistics there.
"""
import functools
import inspect
import json
import os
import signal
import time
from collections import defaultdict
from typing import Any, Callable, Dict

_totals: Dict[str, Dict[str, float]] = defaultdict(lambda: {"calls": 0, "wall": 0.0, "cpu": 0.0})
_depth: Dict[str, int] = defaultdict(int)


def _record(stage: str, wall: float, cpu: float) -> None:
    t = _totals[stage]
    t["calls"] += 1
    t["wall"] += wall
    t["cpu"] += cpu


def _timed(stage: Callable[..., str], fn: Callable) -> Callable:
    """`fn` timed under the name `stage(*args)`; nested calls of one stage count once."""
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            name = stage(*args)
            _depth[name] += 1
            w, c = time.perf_counter(), time.process_time()
            try:
                return await fn(*args, **kwargs)
            finally:
                _depth[name] -= 1
                if not _depth[name]:
                    _record(name, time.perf_counter() - w, time.process_time() - c)
    else:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            name = stage(*args)
            _depth[name] += 1
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                _depth[name] -= 1
                if not _depth[name]:
                    _record(name, time.perf_counter() - w, time.process_time() - c)
    return wrapper


_cprofile: Dict[str, Any] = {}


def _dump(path: str) -> None:
    data = {name: dict(t) for name, t in _totals.items()}
    _totals.clear()
    stats_file = os.environ.get("RASA_TURN_CPROFILE")
    if stats_file and "profiler" not in _cprofile:
        import cProfile

        _cprofile["profiler"] = cProfile.Profile()
        _cprofile["profiler"].enable()
    elif stats_file and _cprofile.get("profiler"):
        _cprofile["profiler"].disable()
        _cprofile["profiler"].dump_stats(stats_file)
        _cprofile["profiler"] = None
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def install() -> None:
    path = os.environ.get("RASA_TURN_PROFILE")
    if not path:
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.engine.graph import GraphNode

    def fixed(name: str) -> Callable[..., str]:
        return lambda *args: name

    for cls, method, name in (
            (MessageProcessor, "handle_message", "turn"),
            (MessageProcessor, "parse_message", "nlu"),
            (MessageProcessor, "_predict_next_with_tracker", "policies"),
            (RemoteAction, "run", "action server call"),
            (FailSafeTrackerStore, "retrieve", "tracker store"),
            (FailSafeTrackerStore, "retrieve_full_tracker", "tracker store"),
            (FailSafeTrackerStore, "save", "tracker store")):
        setattr(cls, method, _timed(fixed(name), getattr(cls, method)))
    GraphNode.__call__ = _timed(lambda node, *_: f"node {node._node_name}", GraphNode.__call__)
    signal.signal(signal.SIGUSR1, lambda *_: _dump(path))
