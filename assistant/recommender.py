"""Recommend a training format (MOOC, internal/external COOC, SPOC, blended SPOC) from
the article's own criteria.

Pure Python, no Rasa import: the form/action code builds a ``Profile`` from the slots,
calls ``recommend()`` and sends the text of ``recommendation_text``. The criteria (each
with its article sentence) are data: ``criteria`` in data/recommendation.yml, loaded and
checked by ``recommendation_rules``. The only knowledge source is the article "COOC,
MOOC, SPOC: What are the differences?".

How it decides (no points, no weights):

1. Each answer given either supports a format, conflicts with it, or says nothing about
   it (a criterion of that format names it, or none does).
2. The format recommended is one that no answer conflicts with and that most answers
   support. Ties go to the format the audience supports, then the goal, then ``ORDER``.
3. When every format with some support conflicts with an answer, the one with the fewest
   conflicts (then the most support) is recommended, the conflicts are always said, and
   the format those answers point to is named as the trade-off. A format supported by
   the learner count alone comes after any format supported by what the user wants.
4. A format nothing supports is never recommended: with no support anywhere, no format.
5. The runner-up's condition is one of the runner-up's own criteria, on an answer the
   user did not give that way, and it must make the runner-up win.
6. The theme and exchanges questions (and open_to_all) are asked only when their answer
   can still change the recommended format (``can_change``, ``needs_open_to_all``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from assistant import dialog_answers
from assistant.content import FORMATS
from assistant.learner_count import as_count
from assistant.recommendation_rules import Criterion, RecommendationRules, load_rules

# Ties between formats with as much support and as many conflicts: the private formats
# "Mainly used in businesses" first, the external COOC (most of the time "part of a
# company loyalty program") last, the MOOC before it (the general public's format).
ORDER = ("cooc_internal", "spoc", "mooc", "cooc_external")
# The order reasons are shown in: what the training is for first, the count last.
SLOT_ORDER = ("goal", "audience", "own_resources", "coaching", "face_to_face", "theme",
              "exchanges", "learners", "open_to_all")
MAX_REASONS = 4
# The answers a runner-up's condition may name (open_to_all only picks a COOC variant).
CHANGED_SLOTS = ("own_resources", "goal", "audience", "learners", "coaching", "face_to_face",
                 "theme", "exchanges")
# Asked only when the answer can still change the recommended format (``can_change``).
ASKED_WHEN_IT_MATTERS = ("theme", "exchanges")


@dataclass
class Profile:
    """What the training manager told us. None means "not answered"."""

    audience: Optional[str] = None  # one of AUDIENCES
    learners: Optional[int] = None  # planning figure (learner_count.py); 12.0 accepted
    goal: Optional[str] = None  # one of GOALS
    coaching: Optional[bool] = None  # learners need individual support
    face_to_face: Optional[bool] = None  # face-to-face sessions wanted
    own_resources: Optional[bool] = None  # can build its own course
    open_to_all: Optional[bool] = None  # COOC open to all Internet users
    theme: Optional[str] = None  # one of THEMES
    exchanges: Optional[bool] = None  # learners should exchange and work together


SLOTS = tuple(Profile.__dataclass_fields__)


@dataclass(frozen=True)
class Assessment:
    """What the answers say about one format."""
    format: str
    support: Tuple[Criterion, ...]
    against: Tuple[Criterion, ...]

    def rank(self) -> Tuple[Any, ...]:
        size_only = all(c.slots == ("learners",) for c in self.support)
        by_audience = any("audience" in c.slots for c in self.support)
        by_goal = any("goal" in c.slots for c in self.support)
        return (bool(self.against), size_only, len(self.against), -len(self.support),
                not by_audience, not by_goal, ORDER.index(self.format))


@dataclass
class Recommendation:
    format: Optional[str]  # one of FORMATS; None: no answer supports any format
    blended: bool = False
    reasons: List[str] = field(default_factory=list)
    runner_up: Optional[str] = None  # one of FORMATS, never the same family as ``format``
    # The runner-up's own criterion that would make it win, e.g. ("goal", "productivity");
    # None when none would (the runner-up is then the next best fit).
    runner_up_change: Optional[Tuple[str, Any]] = None
    combine: Optional[str] = None
    tensions: List[str] = field(default_factory=list)  # the conflicts, always said
    groups: bool = False  # a SPOC run as several groups (more learners than one SPOC)
    # The answers behind the reasons and the conflicts, as (slot, value), in SLOT_ORDER.
    fits: List[Tuple[str, Any]] = field(default_factory=list)
    against: List[Tuple[str, Any]] = field(default_factory=list)
    alternative: Optional[str] = None  # the format the conflicting answers point to
    support: Dict[str, List[str]] = field(default_factory=dict)  # format -> criterion keys
    conflicts: Dict[str, List[str]] = field(default_factory=dict)


def learner_count(profile: Profile) -> Optional[int]:
    """The learner count as an int, or None when unknown or not a valid count
    (learner_count.as_count, the one conversion)."""
    return as_count(profile.learners)


def _key(profile: Profile) -> Tuple[Any, ...]:
    """The answers as a tuple (a cache key); a learner count that is not a count is none."""
    return tuple(learner_count(profile) if slot == "learners" else value
                 for slot, value in vars(profile).items())


def family_of(fmt: str) -> str:
    return "cooc" if fmt.startswith("cooc") else fmt


def _answer(profile: Profile, slot: str, k: RecommendationRules) -> Any:
    if slot == "learners":
        return k.band(learner_count(profile))
    return getattr(profile, slot)


def assess(profile: Profile, k: Optional[RecommendationRules] = None) -> Dict[str, Assessment]:
    """Every format's supporting and conflicting answers."""
    k = k or load_rules()
    return _assess(_key(profile), k)


@lru_cache(maxsize=1 << 16)  # the runner-up search asks about the same profiles again
def _assess(answers: Tuple[Any, ...], k: RecommendationRules) -> Dict[str, Assessment]:
    profile = Profile(*answers)
    given = {slot: _answer(profile, slot, k) for slot in SLOTS}
    matched = [c for slot in SLOTS for c in _by_first_answer(k).get((slot, given[slot]), ())
               if all(given[other] in values for other, values in c.when[1:])
               and not any(given[other] in values for other, values in c.unless)]
    order = {slot: i for i, slot in enumerate(SLOT_ORDER)}
    # The most specific criterion first (the SME case before the goal alone), then SLOT_ORDER.
    matched.sort(key=lambda c: (-len(c.slots), min(order[s] for s in c.slots)))
    return {fmt: Assessment(fmt, tuple(c for c in matched if c.format == fmt and c.supports),
                            tuple(c for c in matched if c.format == fmt and not c.supports))
            for fmt in FORMATS}


@lru_cache(maxsize=None)
def _by_first_answer(k: RecommendationRules) -> Dict[Tuple[str, Any], List[Criterion]]:
    """The criteria by the first answer they name, so that a profile is matched against the
    few that can apply."""
    index: Dict[Tuple[str, Any], List[Criterion]] = {}
    for criterion in k.criteria:
        slot, values = criterion.when[0]
        for value in values:
            index.setdefault((slot, value), []).append(criterion)
    return index


def ranking(profile: Profile, k: Optional[RecommendationRules] = None) -> List[Assessment]:
    """The formats some answer supports, best first."""
    return list(_ranking(_key(profile), k or load_rules()))


@lru_cache(maxsize=1 << 16)
def _ranking(answers: Tuple[Any, ...], k: RecommendationRules) -> Tuple[Assessment, ...]:
    return tuple(sorted((a for a in _assess(answers, k).values() if a.support),
                        key=Assessment.rank))


def _winner(profile: Profile, k: RecommendationRules) -> Optional[str]:
    ranked = ranking(profile, k)
    return ranked[0].format if ranked else None


def needs_open_to_all(profile: Profile, knowledge: Optional[RecommendationRules] = None) -> bool:
    """Should the form ask "open to all Internet users?"? When a COOC is the likely answer
    (the answer picks the internal or the external one), or when the answer can change the
    format. Independent of whether open_to_all is filled."""
    k = knowledge or load_rules()
    unanswered = replace(profile, open_to_all=None)
    winner = _winner(unanswered, k)
    return (winner is not None and family_of(winner) == "cooc") or can_change(
        unanswered, "open_to_all", k)


def same_answer(slot: str, given: Any, other: Any, k: Optional[RecommendationRules] = None) -> bool:
    """Does `other` say what the user's answer `given` says? Learner counts are the same
    answer when the criteria treat them alike (both SPOC-sized, both "thousands", ...)."""
    if slot != "learners" or given is None or other is None:
        return given == other
    k = k or load_rules()
    given, other = as_count(given), as_count(other)
    if given is None or other is None:
        return given == other
    return k.band(given) == k.band(other)


def can_change(profile: Profile, slot: str, knowledge: Optional[RecommendationRules] = None) -> bool:
    """Could an answer to `slot` still change the recommended format, given the other
    answers (those not given yet count as unknown)? Independent of whether `slot` is
    answered, like ``needs_open_to_all``."""
    k = knowledge or load_rules()
    current = _winner(replace(profile, **{slot: None}), k)
    return any(_winner(replace(profile, **{slot: value}), k) != current
               for value in dialog_answers.open_answer(slot)["values"])


def _supported_by(fmt: str, profile: Profile, slot: str, k: RecommendationRules) -> bool:
    """Does the answer to `slot` support `fmt` (one of fmt's own criteria names it)?"""
    return any(slot in c.slots for c in assess(profile, k)[fmt].support)


def answer_that_changes(profile: Profile, slot: str, values: List[Any],
                        knowledge: Optional[RecommendationRules] = None) -> Optional[Tuple[Any, str]]:
    """For an answer left open: the first of `values` that would change the recommended
    format to one the article ties that answer to, with that format; None when none would."""
    k = knowledge or load_rules()
    current = _winner(profile, k)
    for value in values:
        answered = replace(profile, **{slot: value})
        other = _winner(answered, k)
        if other not in (None, current) and _supported_by(other, answered, slot, k):
            return value, other
    return None


def _runner_up(profile: Profile, winner: Assessment, ranked: List[Assessment],
               k: RecommendationRules) -> Tuple[str, Optional[Tuple[str, Any]]]:
    """The best format of another family, and one of its own criteria (an answer the user
    did not give) that would make it win: open answers first, then those in its way."""
    others = [a for a in ranked if family_of(a.format) != family_of(winner.format)]
    if not others:
        others = [a for a in (assess(profile, k)[fmt] for fmt in ORDER)
                  if family_of(a.format) != family_of(winner.format)]
    runner = others[0]
    in_its_way = {slot for c in runner.against for slot in c.slots}
    # Its own criteria in the file's order, each with the answers that would meet it.
    changes = [(slot, value, c) for c in k.criteria if c.format == runner.format and c.supports
               for slot in c.slots if slot in CHANGED_SLOTS
               for value in dialog_answers.open_answer(slot)["values"]
               if not same_answer(slot, getattr(profile, slot), value, k)]
    changes.sort(key=lambda c: (getattr(profile, c[0]) is not None, c[0] not in in_its_way))
    for slot, value, criterion in changes:
        changed = replace(profile, **{slot: value})
        if (criterion in assess(changed, k)[runner.format].support
                and _winner(changed, k) == runner.format):
            return runner.format, (slot, value)
    return runner.format, None


def _alternative(winner: Assessment, ranked: List[Assessment]) -> Optional[str]:
    """The best format the answers conflicting with the winner support."""
    slots = {slot for c in winner.against for slot in c.slots}
    return next((a.format for a in ranked if a.format != winner.format
                 and any(slots & set(c.slots) for c in a.support)), None)


def _answers(criteria: Tuple[Criterion, ...], profile: Profile) -> List[Tuple[str, Any]]:
    """The answers `criteria` are about, once each, in SLOT_ORDER."""
    slots = {slot for c in criteria for slot in c.slots if getattr(profile, slot) is not None}
    return [(slot, getattr(profile, slot)) for slot in SLOT_ORDER if slot in slots]


def _reasons(fmt: str, support: Tuple[Criterion, ...], blended: bool, groups: bool,
             values: Dict[str, Any], k: RecommendationRules) -> List[str]:
    """The supporting criteria's texts (the face-to-face one first when the headline says
    blended), the same article sentence once; completed to two with general ones. SPOC
    groups say why, second (the first message shows the first)."""
    criteria = sorted(support, key=lambda c: not (blended and "face_to_face" in c.slots))
    chosen: List[str] = []
    sources = set()
    for text, source in [(c.text, c.source) for c in criteria] + [
            (f.line, f.sources[0]) for f in k.fillers[fmt]]:
        if len(chosen) >= MAX_REASONS or (len(chosen) >= 2 and source not in
                                          {c.source for c in criteria}):
            break
        if source not in sources:
            sources.add(source)
            chosen.append(k.fill(text, **values))
    if groups:
        chosen.insert(1, k.fill(k.groups_reason, **values))
    return chosen


def learners_text(n: Optional[int]) -> str:
    return f"{n or 0:,} learner{'' if n == 1 else 's'}"


def recommend(profile: Profile, knowledge: Optional[RecommendationRules] = None) -> Recommendation:
    """Recommend a format for ``profile``. Never raises on odd/contradictory answers."""
    return replace(_recommend(_key(profile), knowledge or load_rules()))


@lru_cache(maxsize=1 << 14)  # the dialog asks again for "Why?"; tests ask for many
def _recommend(answers: Tuple[Any, ...], k: RecommendationRules) -> Recommendation:
    profile = Profile(*answers)
    assessments = assess(profile, k)
    support = {fmt: [c.key for c in a.support] for fmt, a in assessments.items()}
    conflicts = {fmt: [c.key for c in a.against] for fmt, a in assessments.items()}
    ranked = ranking(profile, k)
    if not ranked:
        return Recommendation(None, support=support, conflicts=conflicts)
    winner = ranked[0]
    fmt = winner.format
    n = learner_count(profile)
    values = {"learners": n or 0, "learners_text": learners_text(n)}
    blended = fmt == "spoc" and profile.face_to_face is True
    groups = fmt == "spoc" and n is not None and n > k.spoc_max
    runner, change = _runner_up(profile, winner, ranked, k)
    alternative = _alternative(winner, ranked) if winner.against else None
    combine = None
    if fmt != "spoc" and profile.coaching is True and n is not None and n > k.spoc_max:
        combine = k.text("combine", "coaching_subgroup")
    elif alternative:
        combine = k.text("combine", "trade_off", winner=k.label(fmt, with_expansion=False),
                         runner=k.label(alternative, with_expansion=False))
    return Recommendation(
        format=fmt,
        blended=blended,
        reasons=_reasons(fmt, winner.support, blended, groups, values, k),
        runner_up=runner,
        runner_up_change=change,
        combine=combine,
        tensions=[k.fill(c.text, **values) for c in winner.against],
        groups=groups,
        fits=_answers(winner.support, profile),
        against=_answers(winner.against, profile),
        alternative=alternative,
        support=support,
        conflicts=conflicts,
    )
