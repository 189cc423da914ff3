"""The cached validation of custom action responses accepts and refuses what Rasa's does."""
import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from components import action_response_validation

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


def test_the_patch_is_installed_on_this_rasa_version():
    assert action_response_validation.PATCHED
    assert RemoteAction._validate_action_result is action_response_validation._validate_action_result


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
