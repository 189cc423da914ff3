"""Reads the recommendation dialog's answers from free text (pure Python).

The words come from data/form_answers.yml, where a training manager can edit them.
"""
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from actions.learner_count import parse_learner_count

ANSWERS_FILE = Path(__file__).resolve().parents[1] / "data" / "form_answers.yml"
CHOICE_SLOTS = ("audience", "goal")
YES_NO_SLOTS = ("coaching", "face_to_face", "own_resources", "open_to_all")
FORM_SLOTS = ("audience", "learners", "goal") + YES_NO_SLOTS
# "actually it's 200 people", "sorry, I meant customers": the user corrects an
# earlier answer, so every slot is read from the message, not just the pending one.
CORRECTION = re.compile(r"^\W*(actually|correction|sorry|oops|wait|i meant|in fact|no,? it'?s|"
                        r"make (that|it)|change)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def load() -> Dict[str, Any]:
    with ANSWERS_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _mentions(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


def read_choice(slot: str, text: str) -> Optional[str]:
    """The first value of `slot` (audience or goal) whose words appear in `text`."""
    for value, phrases in load()[slot].items():
        if any(_mentions(text, p) for p in phrases):
            return value
    return None


def read_yes_no(slot: str, text: str) -> Optional[bool]:
    """True/False when `text` contains a phrase that answers `slot`, else None.

    "no" phrases are checked first: "no face-to-face" must not read as "face-to-face".
    (YAML reads the `yes:`/`no:` keys of form_answers.yml as True/False.)
    """
    phrases = load()[slot]
    if any(_mentions(text, p) for p in phrases[False]):
        return False
    if any(_mentions(text, p) for p in phrases[True]):
        return True
    return None


def read_learners(text: str) -> Optional[int]:
    count = parse_learner_count(text)
    return count.value if count else None


def read_slot(slot: str, text: str) -> Any:
    if slot == "learners":
        return read_learners(text)
    if slot in CHOICE_SLOTS:
        return read_choice(slot, text)
    return read_yes_no(slot, text)


def read_all(text: str) -> Dict[str, Any]:
    """Every slot value that `text` states, e.g. for an opening message."""
    values = {slot: read_slot(slot, text) for slot in FORM_SLOTS}
    return {slot: value for slot, value in values.items() if value is not None}


def is_correction(text: str) -> bool:
    return CORRECTION.search(text) is not None


def question(slot: str) -> Dict[str, Any]:
    return load()["questions"][slot]


def hint(slot: str) -> str:
    return load()["hints"][slot]


def explanation(slot: str) -> str:
    return " ".join(load()["explanations"][slot].split())
