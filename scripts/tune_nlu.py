"""Cross-validate the intent classifier on the training data and tune the thresholds that
read its confidence (FallbackClassifier's threshold, subject_check's CONFIDENT and
FORMAT_GUESS_CONFIDENCE). Training data only (data/nlu): never the evaluation sets.

    .venv/bin/python scripts/tune_nlu.py [C embedding_weight]   # default: config.yml's

Embeddings are cached in build/encoder-cache.npz. Prints 5-fold accuracy and, for each
candidate threshold, what it would do to the out-of-fold predictions.
"""
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.intent_classifier import EncoderIntentClassifier, cross_validate  # noqa: E402
from components.sentence_encoder import cached_encode  # noqa: E402
from components.subject_check import TOPIC_INTENTS  # noqa: E402

CACHE = ROOT / "build" / "encoder-cache.npz"
FORMAT = re.compile(r"\b(mooc|cooc|spoc)s?\b", re.IGNORECASE)
OOS = "out_of_scope"


def training_data():
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(ROOT / "data" / "nlu")).intent_examples
    return [m.get("text") for m in examples], [m.get("intent") for m in examples]


def component_config(name="EncoderIntentClassifier"):
    """A pipeline component's settings in config.yml (by the end of its name)."""
    import yaml

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    item = next(c for c in pipeline if c["name"].endswith(name))
    return {k: v for k, v in item.items() if k != "name"}


def pipeline_config():
    """The EncoderIntentClassifier's settings in config.yml."""
    return component_config()


def out_of_fold(config=None, folds=5, seed=42):
    config = {**EncoderIntentClassifier.get_default_config(), **(config or {})}
    texts, labels = training_data()
    featurizer = component_config("SentenceEncoderFeaturizer")
    vectors = cached_encode(str(ROOT / featurizer["model_path"]), texts, CACHE,
                            featurizer["lower_layer"])
    probabilities = cross_validate(texts, vectors, labels, config, folds, seed)
    return texts, np.array(labels, dtype=object), sorted(set(labels)), probabilities


def main() -> None:
    config = pipeline_config()
    if len(sys.argv) > 2:
        config.update(C=float(sys.argv[1]), embedding_weight=float(sys.argv[2]))
    texts, labels, classes, probs = out_of_fold(config)
    predicted = np.array(classes, dtype=object)[probs.argmax(1)]
    confidence = probs.max(1)
    right = predicted == labels
    print(f"{len(texts)} examples, 5-fold intent accuracy {right.mean():.3f}")

    oos = labels == OOS
    print("\nFallback threshold t (below t: 'please rephrase', a decline):")
    print("   t  accuracy-as-deployed  in-subject-declined  out_of_scope-declined")
    for t in np.arange(0.10, 0.71, 0.05):
        low = confidence < t
        deployed = np.where(oos, predicted == OOS, right & ~low).mean()
        declined_in = ((low | (predicted == OOS)) & ~oos).sum() / (~oos).sum()
        declined_oos = ((low | (predicted == OOS)) & oos).sum() / max(oos.sum(), 1)
        print(f"{t:.2f}  {deployed:.3f}  {declined_in:.3f}  {declined_oos:.3f}")

    topic = np.isin(predicted, list(TOPIC_INTENTS))
    print("\nCONFIDENT c: precision of topic-intent predictions at confidence >= c")
    for c in np.arange(0.3, 0.91, 0.1):
        chosen = topic & (confidence >= c)
        print(f"{c:.1f}  {right[chosen].mean():.3f}  ({chosen.sum()} of {topic.sum()})")

    names = np.array([bool(FORMAT.search(t)) for t in texts])
    ranked = np.argsort(-probs, axis=1)
    print("\nFORMAT_GUESS g: messages naming a format; best non-out_of_scope guess at >= g")
    guess = np.array([next(classes[j] for j in row if classes[j] != OOS) for row in ranked])
    guess_conf = np.array([probs[i, classes.index(g)] for i, g in enumerate(guess)])
    for g in np.arange(0.1, 0.61, 0.1):
        chosen = names & (guess_conf >= g)
        print(f"{g:.1f}  {(guess[chosen] == labels[chosen]).mean():.3f}  "
              f"({chosen.sum()} of {names.sum()})")


if __name__ == "__main__":
    main()
