"""Messages made only of unseen words go to the fallback; anything the bot may read stays."""
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.unknown_words import UnknownWordsFallback

tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())


@pytest.fixture
def component(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("unknown_words")
    context = ExecutionContext(GraphSchema({}), "test")
    training = TrainingData([Message.build("what is a mooc", intent="ask_definition"),
                             Message.build("yes please", intent="affirm")])
    tokenizer.process_training_data(training)
    UnknownWordsFallback.create({}, storage, resource, context).train(training)
    return UnknownWordsFallback.load({}, storage, resource, context)


def parse(component, text, intent="affirm", entities=()):
    message = Message({"text": text, "intent": {"name": intent, "confidence": 0.9},
                       "intent_ranking": [{"name": intent, "confidence": 0.9}],
                       "entities": list(entities)})
    tokenizer.process([message])
    return component.process([message])[0].get("intent")["name"]


def test_gibberish_goes_to_the_fallback(component):
    assert parse(component, "xqzj vvkp blorf!") == "nlu_fallback"


@pytest.mark.parametrize("text", ["YES!", "is it?", "about 40 people", "/affirm", "🙂"])
def test_known_words_numbers_payloads_and_emoji_keep_their_intent(component, text):
    assert parse(component, text) == "affirm"


def test_a_recognised_entity_keeps_the_intent(component):
    entity = {"entity": "format", "value": "spoc", "start": 0, "end": 5}
    assert parse(component, "spoque", "ask_definition", [entity]) == "ask_definition"


def test_the_fallback_leads_the_ranking_once(component):
    message = Message({"text": "blorf", "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.5}, {"name": "inform", "confidence": 0.4}]})
    tokenizer.process([message])
    ranking = component.process([message])[0].get("intent_ranking")
    assert [i["name"] for i in ranking] == ["nlu_fallback", "inform"]
