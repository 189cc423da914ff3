"""The one typo matcher of the assistant: which known word a typed word stands for.

Used by the answer readers (assistant/dialog_answers.py, assistant/learner_count.py) and by
the NLU's subject check (components/subject_check.py), so that "emplyees", "thousnd" and
"dose" are read the same way everywhere.
"""
import difflib
from typing import Collection, Optional

# A word this close to a known one (difflib ratio) is taken as a typo of it: one wrong
# letter in a word of five letters (0.8), fewer in shorter words.
TYPO_SIMILARITY = 0.8


def closest(word: str, known: Collection[str], cutoff: float = TYPO_SIMILARITY) -> Optional[str]:
    """The known word `word` is a typo of (itself if known), or None.

    Two neighbouring letters swapped ("dose" for "does") count as a typo at any length."""
    known_set = known if isinstance(known, (set, frozenset)) else frozenset(known)
    if word in known_set:
        return word
    for i in range(len(word) - 1):
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if swapped in known_set:
            return swapped
    close = difflib.get_close_matches(word, known, n=1, cutoff=cutoff)
    return close[0] if close else None
