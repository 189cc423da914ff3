"""The 5-fold gate of issue 10: the intent classifier of config.yml, cross-validated on the
training data with seeded stratified folds (the same model as `make nlu-report`, without
Rasa's retraining of the whole pipeline five times: embeddings are computed once and
cached in build/encoder-cache.npz)."""
import sys

from tests.stack import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import tune_nlu  # noqa: E402

FIVE_FOLD_GATE = 0.90


def test_five_fold_intent_accuracy_meets_the_gate():
    import yaml

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    config = next(c for c in pipeline if c["name"].endswith("EncoderIntentClassifier"))
    _, labels, classes, probabilities = tune_nlu.out_of_fold(
        {k: v for k, v in config.items() if k != "name"})
    predicted = [classes[i] for i in probabilities.argmax(1)]
    accuracy = sum(p == label for p, label in zip(predicted, labels)) / len(labels)
    assert len(labels) > 1000
    assert accuracy >= FIVE_FOLD_GATE, f"5-fold intent accuracy {accuracy:.3f}"
