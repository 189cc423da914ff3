#!/usr/bin/env python3
"""Times the NLU's classifiers on one message, batch path vs one-message path.

Reads the intent classifier and the answer readers from a trained model archive
(default models/assistant.tar.gz) and times, per message, sklearn's batch path
(`Model.probabilities`: TfidfVectorizer + sparse matrices, once per model) against the
one-message path the components use (`Model.ngrams` once, `Model.probability` per model).

    .venv/bin/python scripts/bench_classifiers.py [--model M] [--repeat 200]
"""
import argparse
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components.intent_classifier import Model  # noqa: E402

MESSAGE = "we have about 40 sales reps spread over 3 regions and need them to learn negotiation"


def load_models(archive: Path):
    folder = Path(tempfile.mkdtemp())
    with tarfile.open(archive) as tar:
        tar.extractall(folder)
    components = next(folder.rglob("components"))
    intent_dir = next(components.glob("train_components.intent_classifier.*"))
    reader_dir = next(components.glob("train_components.answer_reader.*"))
    intent = Model(component_config("intent_classifier")).restore(intent_dir)
    reader_config = component_config("answer_reader")
    readers = [Model(reader_config).restore(reader_dir / q)
               for q in json.loads((reader_dir / "questions.json").read_text())]
    return intent, readers


def component_config(module: str) -> dict:
    """The component's settings in config.yml (embedding_weight, ngrams), over its defaults."""
    pipeline = yaml.safe_load(Path("config.yml").read_text())["pipeline"]
    given = next(c for c in pipeline if c["name"].startswith(f"components.{module}."))
    return {"embedding_weight": 3.0, "ngrams": [2, 5], **given}


def per_message_ms(run, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/assistant.tar.gz")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    intent, readers = load_models(Path(args.model))
    vector = np.random.default_rng(0).normal(size=intent._embedding_coef.shape[1])

    def batch():
        for model in [intent, *readers]:
            model.probabilities([MESSAGE], vector[None, :])

    def one_message():
        intent.probability(intent.ngrams(MESSAGE), vector)
        ngrams = readers[0].ngrams(MESSAGE)
        for model in readers:
            model.probability(ngrams, vector)

    print(f"intent classifier + {len(readers)} answer readers, ms per message "
          f"(mean of {args.repeat}):")
    print(f"  batch path (sklearn, sparse):  {per_message_ms(batch, args.repeat):.2f}")
    print(f"  one-message path (components): {per_message_ms(one_message, args.repeat):.2f}")


if __name__ == "__main__":
    main()
