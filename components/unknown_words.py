"""Sends messages made only of words the assistant never saw to the fallback.

Why stock Rasa falls short: FallbackClassifier only catches low confidence, and DIET,
which reads character n-grams, can be confident about pure gibberish ("xqzj vvkp blorf"
came out as `affirm` at 0.74, so the bot answered "Okay!"). A message none of whose
words appear in the training examples cannot be understood, whatever DIET says, so this
component predicts `nlu_fallback` for it, as FallbackClassifier would. Messages with a
number ("about 40") or a recognised entity (a format name) are left alone.
"""
from typing import Any, Dict, List, Optional, Set, Text

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (ENTITIES, INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY,
                                       PREDICTED_CONFIDENCE_KEY, TEXT, TEXT_TOKENS)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

VOCABULARY_FILE = "vocabulary.json"


def _words(message: Message) -> List[Text]:
    """The message's tokens that contain a letter, lower-cased (punctuation dropped)."""
    return [token.text.lower() for token in message.get(TEXT_TOKENS) or []
            if any(char.isalpha() for char in token.text)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    def __init__(self, model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[Set[Text]] = None) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary or set()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnknownWordsFallback":
        return cls(model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "UnknownWordsFallback":
        with model_storage.read_from(resource) as directory:
            words = rasa.shared.utils.io.read_json_file(directory / VOCABULARY_FILE)
        return cls(model_storage, resource, set(words))

    def train(self, training_data: TrainingData) -> Resource:
        self.vocabulary = {word for example in training_data.intent_examples
                           for word in _words(example)}
        with self._model_storage.write_to(self._resource) as directory:
            rasa.shared.utils.io.dump_obj_as_json_to_file(directory / VOCABULARY_FILE,
                                                          sorted(self.vocabulary))
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self._is_unknown(message):
                fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                            PREDICTED_CONFIDENCE_KEY: 1.0}
                ranking = [intent for intent in message.get(INTENT_RANKING_KEY) or []
                           if intent.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME]
                message.set(INTENT, fallback, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [dict(fallback)] + ranking, add_to_output=True)
        return messages

    def _is_unknown(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        if text.startswith("/") or message.get(ENTITIES) or any(c.isdigit() for c in text):
            return False
        words = _words(message)
        return bool(words) and not any(word in self.vocabulary for word in words)
