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
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, Type

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


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validator built once."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

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


PATCHES: Dict[Text, Callable[[], None]] = {
    "cached action response validator (RasaHQ/rasa#11717)": _cache_action_response_validator,
    "tracker store errors are raised (RasaHQ/rasa#3243)": _fail_on_tracker_store_errors,
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
