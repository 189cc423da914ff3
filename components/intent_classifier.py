"""Intent classifier: logistic regression on the sentence embedding plus character n-grams.

Why not a stock classifier: DIET (on count vectors) reached 0.75 in 5-fold
cross-validation here, and Rasa's SklearnIntentClassifier reads only the dense sentence
feature (0.87 with the MiniLM embedding). The embedding carries meaning across
paraphrases; TF-IDF character n-grams of the text carry the exact words and their typos
(format names, "cooc" vs "mooc"). Stacked, with the embedding weighted so that neither
part drowns the other, one multinomial logistic regression measures 0.90 (docs/nlu.md).
Its probabilities are calibrated enough for the FallbackClassifier threshold, which
was tuned for them by cross-validation on the training data (scripts/tune_nlu.py).

Persisted as plain arrays and JSON (no pickle): the n-gram vocabulary, idf weights,
coefficients and intercepts; prediction is a matrix product and a softmax.
"""
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Text, Type

import numpy as np
import scipy.sparse

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.sentence_encoder import SentenceEncoderFeaturizer, sentence_vector

VOCABULARY_FILE = "ngram_vocabulary.json"
ARRAYS_FILE = "weights.npz"
CLASSES_FILE = "intents.json"


def one_blas_thread() -> None:
    """Limits numpy's OpenBLAS to one thread in this process, for serving. A message's
    products are a few hundred numbers: a second thread saves nothing, and between calls
    OpenBLAS's idle threads spin, which doubled the Rasa server's CPU per message and took
    a core from the other conversations and the action server (docs/performance.md)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


class Model:
    """The vectoriser and the regression, trainable and usable outside Rasa (for tuning)."""

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config
        self.vectorizer = None
        self.coef = self.intercept = None
        self.classes: List[Text] = []
        self._vocabulary: Dict[Text, int] = {}

    def _new_vectorizer(self, vocabulary: Optional[Dict[Text, int]] = None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.config["ngrams"]),
                               sublinear_tf=True, lowercase=True, vocabulary=vocabulary)

    def _features(self, texts: Sequence[Text], vectors: np.ndarray):
        return scipy.sparse.hstack([
            scipy.sparse.csr_matrix(self.config["embedding_weight"] * np.asarray(vectors)),
            self.vectorizer.transform(texts)]).tocsr()

    def fit(self, texts: Sequence[Text], vectors: np.ndarray, labels: Sequence[Text]) -> "Model":
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = self._new_vectorizer()
        self.vectorizer.fit(texts)
        regression = LogisticRegression(C=self.config["C"], max_iter=3000,
                                        class_weight=self.config["class_weight"],
                                        random_state=self.config["random_seed"])
        regression.fit(self._features(texts, vectors), list(labels))
        self.classes = [str(c) for c in regression.classes_]
        self.coef, self.intercept = regression.coef_, regression.intercept_
        return self._prepare(self.vectorizer.vocabulary_)

    def _prepare(self, vocabulary: Dict[Text, int]) -> "Model":
        """Splits the weights for `probability`: the (weighted) embedding's columns, and
        the n-grams' columns, of which a message gathers only those of its own n-grams."""
        self._vocabulary = vocabulary
        embedding_width = self.coef.shape[1] - len(vocabulary)
        self._embedding_coef = self.config["embedding_weight"] * self.coef[:, :embedding_width]
        self._ngram_coef = self.coef[:, embedding_width:]
        self._analyzer = self.vectorizer.build_analyzer()
        self._idf = self.vectorizer.idf_  # a property that rebuilds the array on each read
        return self

    def ngrams(self, text: Text) -> Counter:
        """The message's character n-grams, counted: computed once, read by every model
        with the same `ngrams` setting (components/answer_reader.py has nine)."""
        return Counter(self._analyzer(text))

    def probability(self, ngrams: Counter, vector: np.ndarray) -> np.ndarray:
        """`probabilities` for one message, in a fraction of the time (no sparse matrices:
        the TF-IDF values of its own n-grams only, sublinear and L2-normalised as
        TfidfVectorizer computes them; tests/test_intent_classifier.py checks they agree)."""
        found = [(self._vocabulary[g], n) for g, n in ngrams.items() if g in self._vocabulary]
        scores = self._embedding_coef @ vector + self.intercept
        if found:
            columns = np.array([column for column, _ in found], dtype=np.intp)
            values = (1.0 + np.log([n for _, n in found])) * self._idf[columns]
            scores = scores + self._ngram_coef[:, columns] @ (values / np.linalg.norm(values))
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()

    def probabilities(self, texts: Sequence[Text], vectors: np.ndarray) -> np.ndarray:
        scores = self._features(texts, vectors) @ self.coef.T + self.intercept
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def save(self, directory) -> None:
        rasa.shared.utils.io.dump_obj_as_json_to_file(
            directory / VOCABULARY_FILE, {k: int(v) for k, v in self.vectorizer.vocabulary_.items()})
        rasa.shared.utils.io.dump_obj_as_json_to_file(directory / CLASSES_FILE, self.classes)
        np.savez(directory / ARRAYS_FILE, idf=self.vectorizer.idf_, coef=self.coef,
                 intercept=self.intercept)

    def restore(self, directory) -> "Model":
        one_blas_thread()
        vocabulary = rasa.shared.utils.io.read_json_file(directory / VOCABULARY_FILE)
        self.vectorizer = self._new_vectorizer(vocabulary)
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            self.vectorizer.idf_ = arrays["idf"]
            self.coef, self.intercept = arrays["coef"], arrays["intercept"]
        self.classes = rasa.shared.utils.io.read_json_file(directory / CLASSES_FILE)
        return self._prepare(vocabulary)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EncoderIntentClassifier(GraphComponent, IntentClassifier):
    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage,
                 resource: Resource, model: Optional[Model] = None) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def required_components(cls) -> List[Type]:
        return [SentenceEncoderFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 10.0, "embedding_weight": 3.0, "ngrams": [2, 5], "class_weight": None,
                "random_seed": 42}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EncoderIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "EncoderIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                return cls(config, model_storage, resource, Model(config).restore(directory))
        except ValueError:  # nothing was persisted: fewer than two intents in training
            return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if sentence_vector(m) is not None]
        if len({m.get(INTENT) for m in examples}) < 2:
            rasa.shared.utils.io.raise_warning("Fewer than two intents: no intent classifier.")
            return self._resource
        self.model = Model(self.config).fit(
            [m.get(TEXT) for m in examples], np.stack([sentence_vector(m) for m in examples]),
            [m.get(INTENT) for m in examples])
        with self._model_storage.write_to(self._resource) as directory:
            self.model.save(directory)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            vector = sentence_vector(message)
            if self.model is None or vector is None:
                intent, ranking = None, []
            else:
                probabilities = self.model.probability(self.model.ngrams(message.get(TEXT)),
                                                       vector)
                order = np.argsort(-probabilities)[:LABEL_RANKING_LENGTH]
                ranking = [{"name": self.model.classes[i], "confidence": float(probabilities[i])}
                           for i in order]
                intent = dict(ranking[0])
            message.set("intent", intent, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages


def cross_validate(texts: Sequence[Text], vectors: np.ndarray, labels: Sequence[Text],
                   config: Dict[Text, Any], folds: int = 5, seed: int = 42) -> np.ndarray:
    """Out-of-fold predictions (stratified folds, fixed seed): for each example, the
    probabilities of `classes` (sorted intent names) from a model that never saw it."""
    from sklearn.model_selection import StratifiedKFold

    texts, labels = np.asarray(texts, dtype=object), np.asarray(labels, dtype=object)
    classes = sorted(set(labels))
    out = np.zeros((len(texts), len(classes)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, labels):
        model = Model(config).fit(list(texts[train]), vectors[train], list(labels[train]))
        columns = [classes.index(c) for c in model.classes]
        out[np.ix_(test, columns)] = model.probabilities(list(texts[test]), vectors[test])
    return out
