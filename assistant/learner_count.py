"""Read a number of learners from free text ("about 200", "a few thousand", "10-20").

Spelled-out numbers ("twenty five", "two thousand five hundred") are converted
by the text2num library (``text_to_num.alpha2digit``); this module only adds a
thin layer on top of it for what text2num leaves alone or would get wrong:

* vague quantities: "a few hundred", "hundreds", "a dozen", "a couple"...
  (text2num turns "thousands" into "1000", which would lose the plural);
* suffixes and multipliers after digits: "2k", "1.5k", "2 thousand", "1.5 million";
* thousands separators: "1,500", "1.500", "1 500" is NOT read as one number;
* ranges: "between 10 and 20", "10-20", "10 to 20", "10 or 20";
* approximation cues: "about", "around", "roughly", "~", "200+", "or so"...;
* negative numbers: "-5" and "minus five" give -5, so that the caller can
  reject them (``validate_learner_count``) instead of silently reading 5.

``parse_learner_count`` never raises and never validates: it returns what was
said (possibly 0, negative or huge); ``validate_learner_count`` judges it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Tuple, Union

from text_to_num import alpha2digit
from assistant.typos import closest

MIN_LEARNERS = 1
MAX_LEARNERS = 10_000_000

# What can be wrong with a count; the domain response utter_learners_<problem>
# (domain.yml) says so and what is expected.
PROBLEMS = ("zero", "negative", "too_large", "not_a_number")

# What "a few" means when planning: three. "hundreds" alone is read as "a few
# hundred". Documented guesses, marked approximate.
A_FEW = 3
A_COUPLE = 2


@dataclass(frozen=True)
class LearnerCount:
    """A learner count read from text.

    ``value`` is the planning figure. For a range ("10 to 20") it is the UPPER
    bound: a training plan must have room for everyone who may come, and the
    format limits that matter here are ceilings (a SPOC allows at most about
    50 learners), so planning on the lower bound could pick a format that turns
    out too small. ``approximate`` is True for ranges, vague quantities
    ("a few hundred") and hedged numbers ("about 200", "200+").
    """

    value: int
    approximate: bool = False


# ---------------------------------------------------------------- patterns

_NUM = r"\d+(?:\.\d+)?"

_APPROX_CUES = re.compile(
    r"\b(?:about|around|approx(?:imately|\.)?|roughly|circa|ca\.|some|nearly|almost|"
    r"close\s+to|more\s+or\s+less|give\s+or\s+take|or\s+so|ish|maybe|perhaps|probably|"
    r"estimated?|up\s+to|at\s+least|at\s+most|more\s+than|over|under|less\s+than|"
    r"fewer\s+than|plus|or\s+more|or\s+less)\b|~|\d\s*\+"
)

# Vague quantities, tried in this order on the lower-cased text, BEFORE text2num.
_VAGUE: List[Tuple[re.Pattern, int, bool]] = [
    # (pattern, value, approximate)
    (re.compile(r"\bhalf\s+a\s+dozen\b"), 6, False),
    # "tens of thousands", "hundreds of thousands": a few times the multiplier.
    (re.compile(r"\btens\s+of\s+thousands\b"), A_FEW * 10_000, True),
    (re.compile(r"\bhundreds\s+of\s+thousands\b"), A_FEW * 100_000, True),
    (re.compile(r"\b(?:a\s+)?(?:few|several)\s+dozens?\b"), A_FEW * 12, True),
    (re.compile(r"\b(?:a\s+)?couple\s+(?:of\s+)?dozens?\b"), A_COUPLE * 12, True),
    (re.compile(r"\b(?:a\s+)?(?:few|several)\s+hundreds?\b"), A_FEW * 100, True),
    (re.compile(r"\b(?:a\s+)?couple\s+(?:of\s+)?hundreds?\b"), A_COUPLE * 100, True),
    (re.compile(r"\b(?:a\s+)?(?:few|several)\s+thousands?\b"), A_FEW * 1000, True),
    (re.compile(r"\b(?:a\s+)?couple\s+(?:of\s+)?thousands?\b"), A_COUPLE * 1000, True),
    (re.compile(r"\bdozens\b"), A_FEW * 12, True),
    (re.compile(r"\bhundreds\b"), A_FEW * 100, True),
    (re.compile(r"\bthousands\b"), A_FEW * 1000, True),
    (re.compile(r"\b(?:a|one)\s+dozen\b"), 12, False),
    (re.compile(r"\ba\s+couple\b"), A_COUPLE, False),
    (re.compile(r"\b(?:a\s+)?(?:few|handful)\b(?!\s*\d)"), A_FEW, True),
]

_NOBODY = re.compile(r"\b(?:no\s+one|nobody|none|no\s+learners?|no\s+people)\b")

# Digits followed by a multiplier: "2k", "1.5 k", "2 thousand", "1.5 million".
# A bare "m" only when glued to the digits ("1.5m"), as "5 m" may be metres.
_MULTIPLIER = re.compile(
    r"(?<![\w.])(" + _NUM + r")(?:\s*(k|thousand|mn|mio|million|hundred|dozen)|(m))s?\b"
)
_MULTIPLIERS = {
    "k": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "mn": 1_000_000,
    "mio": 1_000_000,
    "million": 1_000_000,
    "hundred": 100,
    "dozen": 12,
}
# Digits followed by a multiplier word are expanded BEFORE text2num, which
# would otherwise write "2 thousand" as "2 1000"; spelled-out numbers
# ("two thousand") are text2num's job.

_RANGES = [
    re.compile(r"\bbetween\s+(-?" + _NUM + r")\s+and\s+(-?" + _NUM + r")"),
    re.compile(r"\bfrom\s+(-?" + _NUM + r")\s+to\s+(-?" + _NUM + r")"),
    re.compile(
        r"(?<!\w)(?<!\d\.)(-?" + _NUM + r")\s*(?:-|\bto\b|\bor\b)\s*(" + _NUM + r")(?!\w)(?!\.\d)"
    ),
]

# A lone number: optional sign ("-5", "minus 5") not glued to a word or a digit.
_SINGLE = re.compile(
    r"(?:(?<![\w.\-])(-)\s*|\b(?:minus|negative)\s+)?(?<!\w)(?<!\d\.)(" + _NUM + r")(?!\w)(?!\.\d)"
)

# Numbers followed by these words count something else than learners.
_OTHER_UNITS = re.compile(
    r"\s*(?:%|percent\b|trainers?\b|teachers?\b|tutors?\b|coach(?:es)?\b|"
    r"teams?\b(?!\s+(?:leads?|leaders?|members?|managers?)\b)|"
    r"departments?\b|services?\b|groups?\b|sessions?\b|modules?\b|courses?\b|weeks?\b|"
    r"formats?\b|types?\b|kinds?\b|options?\b|times?\b|"
    r"days?\b|months?\b|years?\b|hours?\b|minutes?\b|euros?\b|dollars?\b|€|\$)"
)
_LEARNER_NOUNS = re.compile(
    r"\s*(?:learners?|people|persons?|employees?|staff|students?|participants?|trainees?|"
    r"users?|members?|colleagues?|customers?|clients?|partners?|prospects?|experts?|"
    r"managers?|agents?|workers?|new\s+hires?|hires?|collaborators?|salespeople|"
    r"engineers?|developers?|individuals?|team\s+(?:leads?|leaders?|members?|managers?)|"
    r"leaders?|nurses?|technicians?|reps?|drivers?|accountants?|officers?|consultants?)\b"
)


# ---------------------------------------------------------------- helpers


def _to_int(number: float) -> Tuple[int, bool]:
    """Round to a whole number of learners; approximate if rounding changed it."""
    rounded = int(number + 0.5) if number >= 0 else -int(-number + 0.5)
    return rounded, rounded != number


# Number words a typo may hide ("a few thousnd", "hundret"): a word of six letters or
# more close to one of them (assistant/typos.py) is read as it.
NUMBER_WORDS = ("thousand", "thousands", "hundred", "hundreds", "million", "millions",
                "dozen", "dozens", "several", "couple", "twenty", "thirty", "forty", "fifty",
                "sixty", "seventy", "eighty", "ninety", "fifteen", "twelve", "eleven")


def _fix_number_typos(s: str) -> str:
    def fix(match: re.Match) -> str:
        word = match.group(0)
        if len(word) < 6 or word in NUMBER_WORDS:
            return word
        return closest(word, NUMBER_WORDS) or word
    return re.sub(r"[a-z]+", fix, s)


def _normalise(text: str) -> str:
    s = _fix_number_typos(text.lower())
    s = re.sub(r"[\u2010-\u2015\u2212]", "-", s)  # unicode dashes and minus sign
    s = s.replace("\u00a0", " ").replace("\u202f", " ")
    # Thousands separators: "1,500,000" and "1.500" (three digits after the dot
    # and no multiplier: 1.5 learners makes no sense, 1,500 does).
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = re.sub(
        r"(?<![\d.])(\d{1,3})((?:\.\d{3})+)(?![\d.])(?!\s*(?:k|thousand|m|mn|mio|million)\b)",
        lambda m: m.group(1) + m.group(2).replace(".", ""),
        s,
    )
    return s


def _apply_multipliers(s: str) -> str:
    def expand(match: re.Match) -> str:
        value = float(match.group(1)) * _MULTIPLIERS[match.group(2) or match.group(3)]
        return repr(value) if value != int(value) else str(int(value))

    return _MULTIPLIER.sub(expand, s)


def _pick(candidates: List[Tuple[int, float, str]]) -> Optional[Tuple[float, str]]:
    """Choose among several numbers: one followed by a learner noun first,
    then the first one not followed by another unit ("2 trainers")."""
    if not candidates:
        return None
    for _, value, after in candidates:
        if _LEARNER_NOUNS.match(after):
            return value, after
    for _, value, after in candidates:
        if not _OTHER_UNITS.match(after):
            return value, after
    return None

# Outside an answer to "how many learners?", a number counts learners only when the noun
# it counts names people: one of the nouns above, or a word shaped like a person noun
# ("pickers", "librarians", "residents"), after at most three other words ("20 senior
# engineers", "6 hand-picked senior lawyers"). "we run 4 warehouses", "request no. 4471", "starts at 9" count nobody.
_NOT_IN_A_NOUN_PHRASE = {"and", "or", "but", "in", "at", "of", "for", "with", "to", "from",
                         "by", "per", "on", "since", "who", "that", "which"}
_GROUP_OF = re.compile(r"\b(?:team|group|class|cohort|department|staff)\s+of\s+(?:about\s+|around\s+)?$")
_PERSON_SHAPED = re.compile(r"[a-z]{2,}(?:ers|ors|ists|ees|ians|ants|ents)$")


def _counts_people(after: str) -> bool:
    if _LEARNER_NOUNS.match(after):
        return True
    for word in after.split()[:4]:
        word = word.strip(".,;:!?()'\"")
        if (not word.replace("-", "").isalpha() or word in _NOT_IN_A_NOUN_PHRASE
                or _OTHER_UNITS.match(word)):
            return False
        if _LEARNER_NOUNS.fullmatch(word) or _PERSON_SHAPED.fullmatch(word):
            return True
    return False


def _in_digits(s: str) -> Tuple[str, bool, bool]:
    """`s` with every quantity in digits, whether one was approximate, and whether it
    said "no one"."""
    approximate = bool(_APPROX_CUES.search(s))

    # "no one" would become "no 1" in text2num: set it aside.
    nobody = bool(_NOBODY.search(s))
    s = _NOBODY.sub(" ", s)

    # Multipliers after digits first ("2 thousand"), so that text2num doesn't
    # turn "2 thousand" into "2 1000".
    s = _apply_multipliers(s)

    for pattern, value, vague in _VAGUE:
        if pattern.search(s):
            s = pattern.sub(str(value), s, count=1)
            approximate = approximate or vague

    # Spelled-out numbers -> digits. threshold=0 so that "one", "two" and
    # "zero" are converted too (the default leaves small isolated numbers).
    s = alpha2digit(s, "en", 0)
    return _apply_multipliers(s), approximate, nobody  # "three dozen" -> "3 dozen" -> "36"


def people_count(text: str) -> Optional[int]:
    """A learner count stated in passing (an opening, a description): only a number
    followed by a noun that counts people; None otherwise."""
    s = _in_digits(_normalise(text))[0]
    for match in _SINGLE.finditer(s):
        group_of = _GROUP_OF.search(s[:match.start()])  # "a team of 7"
        if match.group(1) != "-" and (group_of or _counts_people(s[match.end():])):
            value, _ = _to_int(float(match.group(2)))
            return value
    return None


# ---------------------------------------------------------------- public API


def parse_learner_count(text: Union[str, int, float, None]) -> Optional[LearnerCount]:
    """Read a learner count from ``text``; None when it holds no number.

    Examples: "12" -> 12; "twelve" -> 12; "about 200" -> 200 (approximate);
    "a few thousand" -> 3000 (approximate); "10-20" -> 20 (approximate, upper
    bound, see LearnerCount); "2k" -> 2000; "-5" -> -5 (rejected later by
    validate_learner_count).
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):  # a slot or entity already holding a number
        if not math.isfinite(text):
            return None
        value, rounded = _to_int(float(text))
        return LearnerCount(value, rounded)
    s = _normalise(str(text))
    if not s.strip():
        return None
    s, approximate, nobody = _in_digits(s)

    for pattern in _RANGES:
        match = pattern.search(s)
        if match:
            low, high = float(match.group(1)), float(match.group(2))
            if low != high:  # "1 to 1 coaching" is not a range
                value, _ = _to_int(max(low, high))
                return LearnerCount(value, True)

    candidates = []
    for match in _SINGLE.finditer(s):
        number = float(match.group(2))
        negative = match.group(1) == "-" or match.group(0).startswith(("minus", "negative"))
        candidates.append((match.start(), -number if negative else number, s[match.end():]))
    picked = _pick(candidates)
    if picked is None:
        return LearnerCount(0, False) if nobody and not candidates else None
    value, rounded = _to_int(picked[0])
    return LearnerCount(value, approximate or rounded)


@lru_cache(maxsize=4096, typed=True)  # typed: True == 1, and True is no count
def as_count(value: Union[str, int, float, None]) -> Optional[int]:
    """THE conversion of a learner count to a whole number of learners, used by the form
    (a float slot holds 12.0), the recommender and its runner-up search: None when
    `value` is no valid count (missing, not a number, zero, negative, too large)."""
    count = parse_learner_count(value)
    if count is None or validate_learner_count(count.value) is not None:
        return None
    return count.value


def validate_learner_count(value: Union[int, float, None]) -> Optional[str]:
    """None when ``value`` is a plausible learner count, else what is wrong with it:
    one of PROBLEMS."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "not_a_number"
    if value != value:  # NaN
        return "not_a_number"
    if value < 0:
        return "negative"
    if value < MIN_LEARNERS:
        return "zero"
    if value > MAX_LEARNERS:
        return "too_large"
    return None
