"""Reads a message as an answer to each question of the recommendation dialog.

Why a component: the dialog's free-text answers were read with phrase lists, which stop
where their examples stop ("we got no people nor money for make a course" was read as
having the resources). Here each question has a classifier learnt from hundreds of varied
answers (data/answers/<question>.yml: its values, "unsure", and "none" for messages that
do not answer it), on the sentence vector the encoder already computed plus character
n-grams (the intent classifier's model, components/intent_classifier.py).

The NLU runs without knowing which question is pending, so every message gets a reading
for every question, in its parse data under "answers":
    {"coaching": {"value": "deny", "confidence": 0.93}, ...}
and the form (actions/recommendation_form.py) takes the one for the question it asked.
The examples are read at training time and the models saved in the model's resource;
`fingerprint_addon` makes an edit of data/answers/ retrain this component.
"""
import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
import yaml

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.intent_classifier import Model
from components.sentence_encoder import SentenceEncoderFeaturizer, encoder, sentence_vector

ANSWERS = "answers"
QUESTIONS_FILE = "questions.json"


def read_examples(folder: Path) -> Dict[Text, Dict[Text, List[Text]]]:
    """{question: {class: [examples]}} from data/answers/*.yml."""
    examples = {}
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        examples[data["slot"]] = {str(label): [str(e) for e in texts]
                                  for label, texts in data[ANSWERS].items()}
    return examples


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class AnswerReader(GraphComponent):
    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage,
                 resource: Resource, models: Optional[Dict[Text, Model]] = None) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.models = models or {}

    @classmethod
    def required_components(cls) -> List[Type]:
        return [SentenceEncoderFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"examples": "data/answers", "model_path": "build/minilm", "lower_layer": 2,
                "C": 10.0, "embedding_weight": 3.0, "ngrams": [2, 5],
                "class_weight": "balanced", "random_seed": 42}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The examples' content, so that editing them retrains (Rasa caches by config)."""
        if "examples" not in config:
            # Rasa 3.6's training hook also calls this for a node restored from its cache,
            # with that node's new config ({"output": ...}, PrecomputedValueProvider): there
            # is nothing to fingerprint (seen as an intermittent KeyError in `make train`).
            return None
        digest = hashlib.sha256()
        for path in sorted(Path(config["examples"]).glob("*.yml")):
            digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "AnswerReader":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "AnswerReader":
        models = {}
        with model_storage.read_from(resource) as directory:
            for question in rasa.shared.utils.io.read_json_file(directory / QUESTIONS_FILE):
                models[question] = Model(config).restore(directory / question)
        return cls(config, model_storage, resource, models)

    def train(self, training_data: TrainingData) -> Resource:
        examples = read_examples(Path(self.config["examples"]))
        texts = sorted({t for labels in examples.values() for ts in labels.values() for t in ts})
        vectors = dict(zip(texts, encoder(self.config["model_path"],
                                          self.config["lower_layer"]).encode(texts)))
        with self._model_storage.write_to(self._resource) as directory:
            for question, labels in examples.items():
                pairs = [(t, label) for label, ts in labels.items() for t in ts]
                self.models[question] = Model(self.config).fit(
                    [t for t, _ in pairs], np.stack([vectors[t] for t, _ in pairs]),
                    [label for _, label in pairs])
                (directory / question).mkdir()
                self.models[question].save(directory / question)
            rasa.shared.utils.io.dump_obj_as_json_to_file(directory / QUESTIONS_FILE,
                                                          sorted(self.models))
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            vector = sentence_vector(message)
            if vector is None or not message.get(TEXT):
                continue
            readings = {}
            # The readers share one n-gram setting: the message's n-grams are counted once.
            ngrams = next(iter(self.models.values())).ngrams(message.get(TEXT)) if self.models else None
            for question, model in self.models.items():
                probabilities = model.probability(ngrams, vector)
                best = int(np.argmax(probabilities))
                readings[question] = {"value": model.classes[best],
                                      "confidence": round(float(probabilities[best]), 3)}
            message.set(ANSWERS, readings, add_to_output=True)
        return messages
