"""Checks custom action responses with a validator built once, not once per call.

Why stock Rasa falls short (Rasa 3.6.21, measured with scripts/bench.py, README "Performance"):
every custom action call ends in `RemoteAction._validate_action_result`
(rasa/core/actions/action.py), which calls `jsonschema.validate(response, schema)`. That
function first checks the schema itself against the JSON Schema meta-schema
(`check_schema`) and builds a new validator, every time; Rasa's events schema is large, so
this costs about 40 ms of CPU per call on an idle core of this machine (150-340 ms when the
2-core machine is busy), against under 1 ms (5 ms busy) to validate the response itself.
Most of this assistant's turns run one or two custom actions (answers, the form's
validation and questions), so this check was the largest single cost of a turn, larger
than NLU and policies together; the starter bot runs no custom action and never pays it.

What this module changes: the same schema (`RemoteAction.action_response_format_spec()`)
is checked once, its validator is kept, and every response is validated with it. An
invalid response still raises the same `ValidationError` with Rasa's message. Nothing
else changes; the patch is applied only to the Rasa version it was written for.

How it is loaded: listing `components.action_response_validation.ActionResponseValidation`
in config.yml's pipeline makes Rasa import this module in every process that loads the
model (`rasa run`, `rasa shell`, `rasa test`); the component itself passes messages
through untouched (a graph node costs well under a millisecond).
"""
from typing import Any, Dict, List, Optional, Text

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

PATCHED_RASA_VERSIONS = ("3.6.21",)
_validator: Optional[Any] = None


def _cached_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema.validators import validator_for

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)  # once, as jsonschema.validate does on every call
        _validator = cls(schema)
    return _validator


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validator built once."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match

    error = best_match(_cached_validator().iter_errors(result))
    if error is None:
        return True
    e: ValidationError = error
    e.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise e


def patch() -> bool:
    """Installs the cached validation; returns False (and changes nothing) on other Rasa versions."""
    if rasa.__version__ not in PATCHED_RASA_VERSIONS:
        return False
    RemoteAction._validate_action_result = _validate_action_result
    return True


PATCHED = patch()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class ActionResponseValidation(GraphComponent):
    """Carries the patch above into every process that loads the model; passes messages through."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext
               ) -> "ActionResponseValidation":
        if not PATCHED:
            import rasa.shared.utils.io

            rasa.shared.utils.io.raise_warning(
                f"components/action_response_validation.py was written for Rasa "
                f"{', '.join(PATCHED_RASA_VERSIONS)}, not {rasa.__version__}: custom action "
                f"responses are validated the stock (slow) way. Check whether the new "
                f"version still needs it.")
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        return messages
