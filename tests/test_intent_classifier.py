"""The classifiers' one-message path gives the probabilities of sklearn's batch path."""
from pathlib import Path

import numpy as np
import pytest

from components.intent_classifier import Model

CONFIG = {"C": 10.0, "embedding_weight": 3.0, "ngrams": [2, 5], "class_weight": "balanced",
          "random_seed": 42}
TEXTS = ["what is a mooc", "how long does a spoc last", "yes please", "no thanks",
         "who is a cooc for", "tell me a joke", "we need a course for 40 reps", "bonjour"]
LABELS = ["definition", "duration", "affirm", "deny", "audience", "chitchat", "need", "greet"]


@pytest.fixture(scope="module")
def model():
    vectors = np.random.default_rng(0).normal(size=(len(TEXTS), 16))
    return Model(CONFIG).fit(TEXTS, vectors, LABELS)


@pytest.mark.parametrize("text", ["what is a MOOC?", "how long do SPOCs last", "zzzz qqq",
                                  "!!", "a course for forty reps, what format?"])
def test_one_message_path_agrees_with_the_batch_path(model, tmp_path: Path, text):
    vector = np.random.default_rng(len(text)).normal(size=16)
    expected = model.probabilities([text], vector[None, :])[0]
    assert np.allclose(model.probability(model.ngrams(text), vector), expected, atol=1e-12)
    model.save(tmp_path)
    restored = Model(CONFIG).restore(tmp_path)
    assert np.allclose(restored.probability(restored.ngrams(text), vector), expected, atol=1e-12)
