"""Reads the recommendation dialog's answers from free text (pure Python).

The words come from data/form_answers.yml, where a training manager can edit them.
Matching is case-insensitive on whole words; when phrases of several values appear,
the longest phrase wins ("public sector employees" is about employees, "no
face-to-face" is a no), and on equal length the one written first in the file.
"""
import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from assistant import content
from assistant.learner_count import parse_learner_count, people_count
from assistant.typos import closest

CHOICE_SLOTS = ("audience", "goal", "theme")
YES_NO_SLOTS = ("coaching", "face_to_face", "own_resources", "exchanges", "open_to_all")
# In the order of the form's required_slots (domain.yml).
FORM_SLOTS = ("audience", "learners", "goal", "coaching", "face_to_face", "own_resources",
              "theme", "exchanges", "open_to_all")
# "actually it's 200 people", "sorry, I meant customers": the user corrects an
# earlier answer, so every slot is read from the message, not just the pending one.
CORRECTION = re.compile(r"^\W*(actually|correction|sorry|oops|wait|i meant|in fact|no,? it'?s|"
                        r"make (that|it)|change)\b", re.IGNORECASE)
# "not sure" and "skip" answer any question: the answer stays open.
UNSURE = object()
# The learnt answer readers (components/answer_reader.py) give each message a reading per
# question: a class of data/answers/<question>.yml and its probability. A reading counts
# from this probability on; below it, the phrases of data/form_answers.yml decide.
READING_CONFIDENCE = 0.7
# A short answer the phrases read ("external", "nope", a button's title) is a closed-set
# word: it stands before the learnt reading.
SHORT_ANSWER_WORDS = 3
NOT_AN_ANSWER = "none"
# An opening is not an answer to a question: a reading of it counts from this probability.
OPENING_CONFIDENCE = 0.8
# Their classes for the yes/no questions ("open to all?": open is yes).
YES_NO_CLASSES = {"affirm": True, "deny": False, "open": True, "private": False}
NEGATORS = {"no", "not", "never", "without", "hardly", "nor"}


def load() -> Dict[str, Any]:
    """data/form_answers.yml, read and checked once (assistant/content.py)."""
    return content.form_answers()


def _normalise(text: str) -> str:
    # Curly apostrophes from phones and Word, so "don’t" matches "don't".
    text = " ".join(text.replace("\u2019", "'").replace("\u2018", "'").lower().split())
    return re.sub(r"[a-z]{5,}", lambda m: _spelling(m.group(0)), text)


# A word of five letters or more close to a word of the phrases (assistant/typos.py) is
# read as that word: "genral public", "knowlege", "emplyees".


@lru_cache(maxsize=4096)  # _normalise runs once per slot read: look each word up once
def _spelling(word: str) -> str:
    return closest(word, _phrase_words()) or word


@lru_cache(maxsize=1)
def _phrase_words() -> List[str]:
    """Every word of five letters or more in the answer phrases of form_answers.yml."""
    data = load()
    sections = [data[slot] for slot in FORM_SLOTS if slot != "learners"]
    sections += [*data["when_asked"].values(), data["any_question"]]
    words = {word for section in sections for phrases in section.values()
             for phrase in phrases for word in re.findall(r"[a-z]{5,}", str(phrase).lower())}
    return sorted(words)


@lru_cache(maxsize=None)  # the file's phrases, compiled once: they outnumber re's own cache
def _whole_words(phrase: str) -> "re.Pattern[str]":
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)")


def _find(text: str, phrase: Any) -> int:
    match = _whole_words(str(phrase).lower()).search(text)
    return match.start() if match else -1


def _best_match(text: str, options: Dict[Any, List[str]]) -> Tuple[Any, int]:
    """The value whose longest phrase appears in `text` (first value on a tie), and
    where that phrase starts (-1 when none appears)."""
    text = _normalise(text)
    best: Tuple[int, Any, int] = (0, None, -1)
    for value, phrases in options.items():
        for phrase in phrases:
            if len(str(phrase)) > best[0]:
                start = _find(text, phrase)
                if start >= 0:
                    best = (len(str(phrase)), value, start)
    return best[1], best[2]


def _best(text: str, options: Dict[Any, List[str]]) -> Optional[Any]:
    return _best_match(text, options)[0]


def _negated(text: str, start: int) -> bool:
    """True when one of the three words before `start` negates what follows
    ("they don't really need coaching")."""
    before = re.sub(r"[^\w' ]", " ", _normalise(text)[:start]).split()[-3:]
    return any(w in NEGATORS or w.endswith("n't") for w in before)


def read_choice(slot: str, text: str, plain: bool = False) -> Optional[str]:
    """The value of `slot` (audience, goal or theme) that `text` states, or None.

    Each value scores the length of every phrase of it found, so that several clues
    outweigh one ("developers everywhere, students, hobbyists" is about the public).
    With `plain` (the question was just asked), the `when_asked` words count too."""
    text = _normalise(text)
    for phrase in load()["not_the_learners"]:
        text = _whole_words(phrase).sub(" ", text)
    options = load()[slot]
    if plain and slot in load()["when_asked"]:
        options = {value: options[value] + load()["when_asked"][slot].get(value, [])
                   for value in options}
    scores = {value: sum(len(str(p)) for p in phrases if _find(text, p) >= 0)
              for value, phrases in options.items()}
    best = max(scores, key=lambda value: scores[value])  # the first value on a tie
    return best if scores[best] else None


def read_yes_no(slot: str, text: str, plain: bool = False) -> Optional[bool]:
    """True/False when `text` answers `slot`, else None.

    Phrases about the question itself ("no face-to-face", "we have a video studio")
    count first; with `plain`, a general "yes", "probably not"... answers it too (only
    for the question just asked). (YAML reads the `yes:`/`no:` keys as True/False.)
    """
    phrases = load()[slot]
    if plain and slot in load()["when_asked"]:
        phrases = {value: phrases[value] + load()["when_asked"][slot][value]
                   for value in (True, False)}
    answer, start = _best_match(text, phrases)
    if answer is True and _negated(text, start):
        answer = False
    if answer is None and plain and slot != "open_to_all":  # "yes" to "private or open?"
        answer = _best(text, load()["any_question"])
        answer = answer if isinstance(answer, bool) else None
    return answer


def read_learners(text: str) -> Optional[int]:
    count = parse_learner_count(text)
    return count.value if count else None


def read_slot(slot: str, text: str, plain: bool = False) -> Any:
    if slot == "learners":
        return read_learners(text)
    if slot in CHOICE_SLOTS:
        return read_choice(slot, text, plain)
    return read_yes_no(slot, text, plain)


def _reading(slot: str, readings: Optional[Dict[str, Any]]) -> Optional[str]:
    """The learnt reader's class for `slot`, when it is confident enough."""
    reading = (readings or {}).get(slot) or {}
    return reading.get("value") if reading.get("confidence", 0) >= READING_CONFIDENCE else None


def _is_button_title(slot: str, text: str) -> bool:
    titles = {_normalise(b["title"]) for b in question(slot).get("buttons", [])}
    return _normalise(text).strip(" .!") in titles


def _first_clause(text: str) -> str:
    """The words before the first comma, full stop, dash, colon or semicolon."""
    return re.split(r"[,.;:!?]|\s[-–—]\s", text.strip(), maxsplit=1)[0]


def read_answer(slot: str, text: str, readings: Optional[Dict[str, Any]] = None) -> Any:
    """The answer to the question just asked: a value, UNSURE, or None if unreadable.
    `readings`: the learnt readers' classes for this message (parse data "answers"); a
    confident one decides, the phrase lists only read what the readers leave unsure."""
    if slot == "learners":  # "maybe 30" is a number, "not sure" is not
        count = read_learners(text)
        return count if count is not None else (UNSURE if is_unsure(text) else None)
    # A short answer, or one that opens the message ("No, we can't follow thousands of
    # people one by one", "Private, only licensed customers"): its words are the answer,
    # the rest explains it and may name the other side.
    for lead in dict.fromkeys((text, _first_clause(text))):
        if len(_normalise(lead).split()) <= SHORT_ANSWER_WORDS:
            short = UNSURE if is_unsure(lead) else read_slot(slot, lead, plain=True)
            if short is not None:
                return short
    reading = _reading(slot, readings)
    if reading == "unsure":
        return UNSURE
    if reading in YES_NO_CLASSES and slot in YES_NO_SLOTS:
        return YES_NO_CLASSES[reading]
    if reading is not None and reading != NOT_AN_ANSWER and slot in CHOICE_SLOTS:
        return reading
    if reading == NOT_AN_ANSWER and not _is_button_title(slot, text):
        return None
    return UNSURE if is_unsure(text) else read_slot(slot, text, plain=True)


def is_unsure(text: str) -> bool:
    """ "not sure yet", "no idea, you tell me": short, or unsure from the first words
    (unlike "they don't know how to give feedback", which is an answer)."""
    found, start = _best_match(text, {"unsure": load()["any_question"]["unsure"]})
    if found is None:
        return False
    words_before = len(_normalise(text)[:start].split())
    return words_before <= 2 or len(_normalise(text).split()) <= 6


def read_all(text: str, readings: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Every slot value that `text` states, e.g. for an opening message (a learner count only
    from a number that counts people, learner_count.people_count). A count of one
    is left out: outside an answer to "how many?", "one" is a determiner ("one team",
    "in one training plan")."""
    values = {slot: people_count(text) if slot == "learners" else read_slot(slot, text)
              for slot in FORM_SLOTS}
    # A phrase read in passing that the learnt reader says is no answer to its question is
    # a word out of context ("our machine workshop" is no wish for face-to-face sessions).
    for slot in CHOICE_SLOTS + YES_NO_SLOTS:
        if _reading(slot, readings) == NOT_AN_ANSWER:
            values[slot] = None
    if values["learners"] == 1:
        values["learners"] = None
    return {slot: value for slot, value in values.items() if value is not None}


def read_opening(text: str, readings: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The answers a message states before any question was asked (an opening, a
    comparison with a need): only what the learnt readers read with OPENING_CONFIDENCE, and
    a number that counts people. Phrases are left out here: in a description they are words
    out of context ("hand-picked ... together" is no goal of team spirit, "our sales
    engineers" no selected group); a question asked later costs less than a misreading."""
    values: Dict[str, Any] = {}
    for slot in FORM_SLOTS:
        if slot == "learners":
            count = people_count(text)
            if count is not None and count != 1:
                values[slot] = count
            continue
        reading = (readings or {}).get(slot) or {}
        value = reading.get("value")
        if reading.get("confidence", 0) < OPENING_CONFIDENCE or value in ("unsure", NOT_AN_ANSWER):
            continue
        values[slot] = YES_NO_CLASSES[value] if slot in YES_NO_SLOTS else value
    return values


def is_correction(text: str) -> bool:
    return CORRECTION.search(text) is not None


def is_go_on(text: str) -> bool:
    """True for a message that only asks to move on: "continue", "ok, next"."""
    words = re.sub(r"[^\w' ]", " ", _normalise(text)).split()
    while words and words[0] in ("ok", "okay", "so", "yes", "please", "right", "fine"):
        words = words[1:]
    while words and words[-1] in ("please", "then", "now"):
        words = words[:-1]
    return " ".join(words) in load()["any_question"]["go_on"]


def question(slot: str) -> Dict[str, Any]:
    return load()["questions"][slot]


def hint(slot: str) -> str:
    return load()["hints"][slot]


def explanation(slot: str) -> str:
    """What the question for `slot` means ("what do you mean by resources?")."""
    return load()["explanations"][slot]


def message(key: str, **values: Any) -> str:
    return load()["messages"][key].format(**values)


def open_answer(slot: str) -> Dict[str, Any]:
    """How an answer left open is named, and the values that could change a recommendation."""
    return load()["open_answers"][slot]


def describe(values: Dict[str, Any]) -> str:
    """A short summary of answers read from a message: "customers, 8 learners"."""
    parts = []
    for slot, value in values.items():
        if slot == "learners":
            parts.append(f"{value:,} learner{'s' if value != 1 else ''}")
        else:
            parts.append(load()["noted"][slot][value])
    return ", ".join(parts)
