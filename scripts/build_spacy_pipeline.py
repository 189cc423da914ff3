"""Build the small English spaCy pipeline that SpacyNLP loads.

No pretrained spaCy pipeline can be downloaded here, so we assemble one from
packages on PyPI: spaCy's English tokenizer plus the lookup lemmatizer from
spacy-lookups-data ("courses" -> "course", "learners" -> "learner"), which
feeds lemmas to the count-vector featurizers.
"""
import sys
from pathlib import Path

import spacy


def build(target: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = "training_formats_en"
    nlp.meta["version"] = "1.0.0"
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)


if __name__ == "__main__":
    build(Path(sys.argv[1]))
