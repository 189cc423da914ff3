"""Messages made only of unseen words go to the fallback; anything the bot may read stays."""
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.subject_check import SubjectCheck

tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())


@pytest.fixture
def component(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("unknown_words")
    context = ExecutionContext(GraphSchema({}), "test")
    training = TrainingData([Message.build("what is a mooc", intent="ask_definition"),
                             Message.build("how long does it last", intent="ask_duration"),
                             Message.build("yes please", intent="affirm"),
                             Message.build("who won the moon race", intent="out_of_scope")])
    tokenizer.process_training_data(training)
    config = {"subject_words": ["course", "train"]}
    SubjectCheck.create(config, storage, resource, context).train(training)
    return SubjectCheck.load(config, storage, resource, context)


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


@pytest.mark.parametrize("text,intent", [
    ("who was the first man on the moon?", "ask_history"),
    ("what does HTML stand for", "ask_definition"),
    ("how many calories in a banana", "ask_group_size"),
])
def test_format_questions_with_words_never_seen_in_the_subject_are_off_subject(
        component, text, intent):
    assert parse(component, text, intent) == "out_of_scope"


@pytest.mark.parametrize("text", ["how long does it last?", "how long dose it last",
                                  "how long does the course last"])
def test_follow_ups_typos_and_subject_words_stay_in_subject(component, text):
    assert parse(component, text, "ask_duration") == "ask_duration"


def test_a_message_naming_a_format_is_never_off_subject(component):
    message = Message({"text": "my boss asks what a couque is",
                       "intent": {"name": "out_of_scope", "confidence": 0.9},
                       "intent_ranking": [{"name": "out_of_scope", "confidence": 0.9},
                                          {"name": "ask_definition", "confidence": 0.1}],
                       "entities": [{"entity": "format", "value": "cooc"}]})
    tokenizer.process([message])
    assert component.process([message])[0].get("intent")["name"] == "ask_definition"


@pytest.mark.parametrize("text,intent,expected", [
    ("museum here, we want to teach art history to anyone online", "ask_history",
     "request_recommendation"),
    ("I need to roll out GDPR training for the whole company", "ask_not_covered",
     "request_recommendation"),
    ("hi, 12 engineers to train", "greet", "request_recommendation"),
    ("library here, we want a free online course on internet basics", "nlu_fallback",
     "request_recommendation"),
])
def test_a_message_stating_a_training_need_asks_for_a_recommendation(component, text, intent,
                                                                     expected):
    assert parse(component, text, intent) == expected


@pytest.mark.parametrize("text", ["how do I learn to swim", "I want to learn to swim",
                                  "book a training room for Thursday"])
def test_learning_or_a_training_room_alone_is_no_training_need(component, text):
    assert parse(component, text, "out_of_scope") != "request_recommendation"


def test_an_unsure_message_naming_a_format_takes_the_best_guess(component):
    def parse_ranked(second_confidence):
        message = Message({"text": "how crowded do MOOCs get",
                           "intent": {"name": "nlu_fallback", "confidence": 0.5},
                           "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5},
                                              {"name": "ask_group_size",
                                               "confidence": second_confidence}],
                           "entities": [{"entity": "format", "value": "mooc"}]})
        tokenizer.process([message])
        return component.process([message])[0].get("intent")["name"]
    assert parse_ranked(0.15) == "ask_group_size"
    assert parse_ranked(0.05) == "nlu_fallback"


@pytest.mark.parametrize("request_probability, expected", [
    (0.01, "ask_audience"), (0.3, "request_recommendation")])
def test_a_format_question_mentioning_learners_is_a_need_only_if_the_classifier_allows_it(
        component, request_probability, expected):
    """"How many people enrol in these open online courses?" is a question, not a need,
    unless the classifier itself gives a request some probability."""
    message = Message({"text": "how many people train in these online courses, the public?",
                       "intent": {"name": "ask_audience", "confidence": 0.43},
                       "intent_ranking": [{"name": "ask_audience", "confidence": 0.43},
                                          {"name": "request_recommendation",
                                           "confidence": request_probability}],
                       "entities": [],
                       "answers": {"audience": {"value": "public", "confidence": 0.95}}})
    tokenizer.process([message])
    assert component.process([message])[0].get("intent")["name"] == expected


@pytest.mark.parametrize("implied, expected", [
    ({"value": "mooc", "confidence": 0.98}, "ask_group_size"),
    ({"value": "mooc", "confidence": 0.6}, "out_of_scope"),
    ({"value": "none", "confidence": 0.99}, "out_of_scope"),
])
def test_a_message_describing_a_format_is_not_off_subject(component, implied, expected):
    """"why is it called massive?" names no format, but the implied-format reader knows it."""
    message = Message({"text": "why is it called massive",
                       "intent": {"name": "out_of_scope", "confidence": 0.52},
                       "intent_ranking": [{"name": "out_of_scope", "confidence": 0.52},
                                          {"name": "ask_group_size", "confidence": 0.45}],
                       "entities": [], "answers": {"implied_format": implied}})
    tokenizer.process([message])
    assert component.process([message])[0].get("intent")["name"] == expected
