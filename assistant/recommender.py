"""Recommend a training format (MOOC, internal/external COOC, SPOC, blended SPOC):
the scoring rules.

Pure Python, no Rasa import: the form/action code builds a ``Profile`` from the
slots, calls ``recommend()`` and sends the text of ``recommendation_text``. The
content (texts, thresholds, article sentences) is loaded and checked by
``recommendation_content`` from ``data/recommendation.yml``.

The only knowledge source is the article "COOC, MOOC, SPOC: What are the differences?".

How the rules work (plain points, no magic):

1. Each answer gives points to one of three families: MOOC, COOC, SPOC
   (``_points``). A goal the article gives as a format's very purpose is worth
   ``PURPOSE``; a criterion it names ``STRONG``; a weaker one ``MEDIUM`` or ``WEAK``.
2. The family with most points leads; ties go to ``TIE_ORDER``. Two limits from
   the article come first (``_decide``):
   * more learners than ``spoc_max_learners``: no single SPOC ("some formats allow
     up to 50 learners"). When nothing else has a point for it, the answer is
     several SPOC groups ("about fifteen students per trainer"), never a format
     with nothing for it;
   * no resources to develop internal training: the MOOC when a MOOC can serve the
     need (employees or the public, general skills or knowledge, no coaching or
     face-to-face: ``_mooc_serves_without_resources``). Otherwise the missing
     resources are a constraint, stated in a note, not a switch.
3. A COOC is internal or external: the ``open_to_all`` answer decides; when it is
   unknown, a general-public audience or a loyalty goal means external, anything
   else internal. ``open_to_all`` gives no points, so answering it never changes
   which family leads (see ``needs_open_to_all``).
4. Blended means a SPOC combined with face-to-face courses: the article describes
   face-to-face sessions only for the SPOC.
5. Two questions are asked only when their answer can still change the recommended
   format (``can_change``): the theme (the organisation's own products, tools or
   expertise: COOC; technical practices: SPOC; general knowledge: MOOC, and only then can
   somebody else's MOOC serve an organisation without resources) and whether learners
   should exchange and work together (the article describes that for the COOC and the
   SPOC).
6. The runner-up comes with the one answer that would make it win
   (``_runner_up``), so its condition never repeats an answer the user gave.
7. Contradictory answers never raise: each one adds a "tension" sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from assistant import dialog_answers
from assistant.learner_count import as_count
from assistant.content import FAMILIES
from assistant.recommendation_rules import RecommendationRules, load_rules

# Used only when two families have the same points. The COOC comes first as the
# format "designed to meet the goals of a business", then the SPOC ("Mainly used
# in businesses"), then the MOOC, the general-public format.
TIE_ORDER = ("cooc", "spoc", "mooc")

PURPOSE = 5  # "set up in order to ... offer free access to knowledge", "aims to improve its
#              e-reputation", "to identify and resolve sources of unproductivity"
STRONG = 3  # the article names this criterion for the format
MEDIUM = 2  # the article allows it ("some formats allow up to 50 learners")
WEAK = 1  # the article mentions it in passing for this format

# When fewer than two rules give reasons, these complete the list (in order).
FILLER_REASONS = {
    "mooc": ("general_mooc_catalogue", "rewards_mooc"),
    "cooc": ("general_cooc_targeted", "rewards_cooc"),
    "spoc": ("general_spoc_targeted", "rewards_spoc"),
}
MAX_REASONS = 3
# The answers tried, one at a time, to find what would make the runner-up win: the
# values the dialog words in data/form_answers.yml (open_answers). open_to_all is left
# out: it only picks the COOC's variant.
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


# Each answer's place in a Profile, to try other answers without dataclasses.replace.
_INDEX = {name: i for i, name in enumerate(Profile.__dataclass_fields__)}


@dataclass
class Recommendation:
    format: str  # one of FORMATS
    blended: bool
    reasons: List[str]
    runner_up: str  # one of FORMATS, never the same family as ``format``
    # The answer that would make the runner-up win, e.g. ("goal", "onboarding");
    # None when no single answer would (the runner-up is then the next best fit).
    runner_up_change: Optional[Tuple[str, Any]] = None
    combine: Optional[str] = None
    tensions: List[str] = field(default_factory=list)
    groups: bool = False  # a SPOC run as several groups (more learners than one SPOC)
    reason_keys: List[str] = field(default_factory=list)  # keys of ``reasons``, same order
    # Points per family ("mooc", "cooc", "spoc"); all zero: nothing to go on.
    scores: Dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Point:
    family: str
    weight: int
    reason: str  # key in knowledge["reasons"]


_GOAL_RULES = {
    "free_knowledge": (("mooc", PURPOSE, "goal_free_knowledge_mooc"),),
    "skills": (("cooc", STRONG, "goal_skills_cooc"), ("mooc", WEAK, "goal_skills_mooc")),
    "onboarding": (("cooc", STRONG, "goal_onboarding_cooc"),),
    "loyalty": (("cooc", PURPOSE, "goal_loyalty_cooc"),),
    "productivity": (("spoc", PURPOSE, "goal_productivity_spoc"),),
    "culture": (("cooc", STRONG, "goal_culture_cooc"),),
}
# "to develop the skills of employees, to train customers": the same goal, said
# for customers.
_AUDIENCE_REASON = {("goal_skills_cooc", "customers"): "goal_skills_cooc_customers"}
# "In this case [the external COOC], the themes dealt with are often oriented around the
# expertise of the organization": the same theme, said for the external COOC.
_VARIANT_REASON = {("theme_company_cooc", "cooc_external"): "theme_company_cooc_external"}
# Reasons from the answers asked only when they decide: shown first among equals.
_DECIDING_PREFIXES = ("theme_", "exchanges_")
# "the themes addressed relate to business problems ... promoting work tools, services or
# products" (COOC); "SPOC is often about practices, as well as ways of working"; a MOOC
# "can cover various topics, such as marketing actions, communication techniques".
_THEME_RULES = {
    "company": (("cooc", STRONG, "theme_company_cooc"),),
    "practices": (("spoc", STRONG, "theme_practices_spoc"),),
    "general": (("mooc", STRONG, "theme_general_mooc"),),
}
# The COOC's "collaborative work" and forums "in a social learning spirit"; the SPOC's
# "sharing of experiences". The article says nothing of exchanges in a MOOC.
_EXCHANGES_RULES = (("cooc", STRONG, "exchanges_cooc"), ("spoc", STRONG, "exchanges_spoc"))
_AUDIENCE_RULES = {
    "public": (("mooc", STRONG, "audience_public_mooc"), ("cooc", MEDIUM, "audience_public_cooc")),
    "employees": (("cooc", STRONG, "audience_employees_cooc"),
                  ("spoc", WEAK, "audience_employees_spoc")),
    "customers": (("cooc", STRONG, "audience_customers_cooc"),),
    "experts": (("spoc", STRONG, "audience_experts_spoc"),),
}


def learner_count(profile: Profile) -> Optional[int]:
    """The learner count as an int, or None when unknown or not a valid count
    (learner_count.as_count, the one conversion)."""
    return as_count(profile.learners)


def _points(profile: Profile, k: RecommendationRules) -> List[_Point]:
    """Every rule that applies to the profile, in a fixed order."""
    points = [_Point(*rule) for rule in _AUDIENCE_RULES.get(profile.audience, ())]
    n = learner_count(profile)
    if n is not None:
        if n <= k.per_trainer:
            points.append(_Point("spoc", STRONG, "size_spoc_typical"))
        elif n <= k.spoc_max:
            points.append(_Point("spoc", MEDIUM, "size_spoc_max"))
        # above spoc_max: no points, and no single SPOC (see _decide)
        if n >= k.mooc_massive:
            points.append(_Point("mooc", STRONG, "size_mooc_massive"))
    for family, weight, reason in _GOAL_RULES.get(profile.goal, ()):
        reason = _AUDIENCE_REASON.get((reason, profile.audience), reason)
        points.append(_Point(family, weight, reason))
    if profile.coaching is True:
        points.append(_Point("spoc", STRONG, "coaching_spoc"))
    if profile.face_to_face is True:
        points.append(_Point("spoc", STRONG, "face_to_face_spoc"))
    points += [_Point(*rule) for rule in _THEME_RULES.get(profile.theme, ())]
    if profile.exchanges is True:
        points += [_Point(*rule) for rule in _EXCHANGES_RULES]
    # Missing resources count for the MOOC only where a MOOC can serve the need; elsewhere
    # they are a constraint to state (a note), not a point for somebody else's course.
    if profile.own_resources is False and _mooc_serves_without_resources(profile):
        points.append(_Point("mooc", STRONG, "no_resources_mooc"))
    return points


def _scores(points: List[_Point]) -> Dict[str, int]:
    scores = {family: 0 for family in FAMILIES}
    for point in points:
        scores[point.family] += point.weight
    return scores


def _ranking(scores: Dict[str, int]) -> List[str]:
    return sorted(FAMILIES, key=lambda fam: (-scores[fam], TIE_ORDER.index(fam)))


@dataclass(frozen=True)
class _Decision:
    winner: str  # family
    ranking: List[str]  # the other families, best first (the resource-free leader first)
    natural: str  # family that would lead if resources were no concern
    groups: bool  # SPOC in several groups


def _decide(profile: Profile, points: List[_Point], k: RecommendationRules) -> _Decision:
    scores = _scores(points)
    ranking = _ranking(scores)
    n = learner_count(profile)
    too_many_for_spoc = n is not None and n > k.spoc_max
    natural = next(fam for fam in ranking if not (fam == "spoc" and too_many_for_spoc))
    # A format never wins with nothing for it: when only the SPOC has points, too many
    # learners for one SPOC means several ("about fifteen students per trainer"). The
    # late questions (theme, exchanges) keep it so while the SPOC still leads: a few
    # points for another format do not overturn it.
    base = _scores([p for p in points if not p.reason.startswith(_DECIDING_PREFIXES)])
    groups = (too_many_for_spoc and scores["spoc"] > scores[natural]
              and all(base[fam] == 0 for fam in FAMILIES if fam != "spoc"))
    if groups:
        natural = "spoc"
    winner = natural
    if profile.own_resources is False and _mooc_serves_without_resources(profile):
        winner = "mooc"
    others = [natural] if natural != winner else []
    others += [fam for fam in ranking if fam not in (winner, natural)]
    return _Decision(winner, others, natural, groups and winner == "spoc")


def _mooc_serves_without_resources(profile: Profile) -> bool:
    """The article's case for the MOOC without resources: "SMEs that want to train their
    employees, but do not have the resources to develop internal training, can also
    benefit from the advantages of the MOOC" - general skills that one of "thousands of
    MOOCs" on "various topics" can teach. A need only the organisation's own course
    meets (its customers or experts, onboarding, loyalty, culture, job problems, coaching,
    face-to-face sessions, a course about its own products or its practices) keeps the
    format the other criteria call for; the missing resources are then stated as a
    constraint (see ``_tensions``)."""
    return (profile.audience in (None, "employees", "public")
            and profile.goal in (None, "skills", "free_knowledge")
            and profile.coaching is not True and profile.face_to_face is not True
            and profile.theme in (None, "general"))


def _winner(profile: Profile, k: RecommendationRules) -> str:
    return _winner_of(tuple(vars(profile).values()), k)  # (astuple deep-copies: slow)


@lru_cache(maxsize=1 << 16)  # the runner-up search asks about the same profiles again and again
def _winner_of(answers: Tuple[Any, ...], k: RecommendationRules) -> str:
    profile = Profile(*answers)
    return _decide(profile, _points(profile, k), k).winner


def _cooc_variant(profile: Profile) -> str:
    if profile.open_to_all is True:
        return "cooc_external"
    if profile.open_to_all is False:
        return "cooc_internal"
    if profile.audience == "public" or profile.goal == "loyalty":
        return "cooc_external"
    return "cooc_internal"


def _to_format(family: str, profile: Profile) -> str:
    return _cooc_variant(profile) if family == "cooc" else family


def family_of(fmt: str) -> str:
    return "cooc" if fmt.startswith("cooc") else fmt


def needs_open_to_all(profile: Profile, knowledge: Optional[RecommendationRules] = None) -> bool:
    """Should the form ask "open to all Internet users?" (external vs internal COOC)?

    True only when a COOC is the leading candidate, since that answer only
    chooses between the internal and the external COOC. It gives no points,
    so the answer never changes the leading family and the question never
    needs to be taken back. Independent of whether open_to_all is filled.
    """
    return _winner(replace(profile, open_to_all=None), knowledge or load_rules()) == "cooc"


def same_answer(slot: str, given: Any, other: Any, k: Optional[RecommendationRules] = None) -> bool:
    """Does `other` say what the user's answer `given` says? Learner counts are the same
    answer when the rules treat them alike (both SPOC-sized, both "thousands", ...)."""
    if slot != "learners" or given is None or other is None:
        return given == other
    k = k or load_rules()
    given, other = as_count(given), as_count(other)
    if given is None or other is None:
        return given == other
    bands = (k.per_trainer, k.spoc_max, k.mooc_massive - 1)
    return sum(given > b for b in bands) == sum(other > b for b in bands)


@lru_cache(maxsize=1)
def _changes() -> List[Tuple[str, Any]]:
    return [(slot, value) for slot in CHANGED_SLOTS
            for value in dialog_answers.open_answer(slot)["values"]]


def _runner_up(profile: Profile, decision: _Decision,
               k: RecommendationRules) -> Tuple[str, Optional[Tuple[str, Any]]]:
    """The runner-up family and the one answer (different from the user's) that makes it
    win; the next family in the ranking without a condition when no answer does."""
    changes = [(slot, value) for slot, value in _changes()
               if not same_answer(slot, getattr(profile, slot), value, k)]
    answers = tuple(vars(profile).values())  # (replace() is slow: this runs for each change)
    winners = {(slot, value): _winner_of(answers[:_INDEX[slot]] + (value,)
                                         + answers[_INDEX[slot] + 1:], k)
               for slot, value in changes}
    for family in decision.ranking:
        change = next((c for c in changes if winners[c] == family), None)
        if change:
            return family, change
    return decision.ranking[0], None


def can_change(profile: Profile, slot: str, knowledge: Optional[RecommendationRules] = None) -> bool:
    """Could an answer to `slot` still change the recommended format, given the other
    answers (those not given yet count as unknown)? Independent of whether `slot` is
    answered, like ``needs_open_to_all``."""
    k = knowledge or load_rules()
    unanswered = replace(profile, **{slot: None})
    current = _to_format(_winner(unanswered, k), unanswered)
    for value in dialog_answers.open_answer(slot)["values"]:
        answered = replace(profile, **{slot: value})
        if _to_format(_winner(answered, k), answered) != current:
            return True
    return False


def answer_that_changes(profile: Profile, slot: str, values: List[Any],
                        knowledge: Optional[RecommendationRules] = None) -> Optional[Tuple[Any, str]]:
    """For an answer left open: the first of `values` that would change the recommended
    format, with that format; None when no value would."""
    current = recommend(profile, knowledge).format
    for value in values:
        other = recommend(replace(profile, **{slot: value}), knowledge).format
        if other != current:
            return value, other
    return None


def _reasons(winner: str, fmt: str, groups: bool, blended: bool, points: List[_Point],
             profile: Profile, k: RecommendationRules) -> List[str]:
    """The keys of the reasons shown: the winner's, strongest first, only those that speak
    of this format and this audience; completed to two with general ones."""
    keys = [_VARIANT_REASON.get((p.reason, fmt), p.reason)
            for p in sorted((p for p in points if p.family == winner),
                            key=lambda p: (-p.weight, not p.reason.startswith(_DECIDING_PREFIXES)))]
    if groups:
        keys.insert(0, "size_spoc_groups")
    if blended and "face_to_face_spoc" in keys:
        # The headline says "blended": its reason must be among those shown.
        keys.remove("face_to_face_spoc")
        keys.insert(0, "face_to_face_spoc")
    keys = [key for key in keys if k.reason_fits(key, fmt, profile.audience)]
    slots = MAX_REASONS
    variant_key = fmt if winner == "cooc" else None
    if variant_key:
        slots -= 1
    chosen: List[str] = []
    sources = {k.source("reasons", variant_key)} if variant_key else set()
    for key in keys + list(FILLER_REASONS[winner]):
        if len(chosen) >= slots or (len(chosen) >= 2 and key not in keys):
            break  # fillers only complete up to two reasons
        source = k.source("reasons", key)
        if source in sources or not k.reason_fits(key, fmt, profile.audience):
            continue  # the same article sentence twice adds nothing
        sources.add(source)
        chosen.append(key)
    return chosen + ([variant_key] if variant_key else [])


def _tensions(profile: Profile, fmt: str, decision: _Decision, k: RecommendationRules) -> List[str]:
    found: List[str] = []
    n = learner_count(profile)
    values = {"learners": n or 0, "winner": k.label(fmt, with_expansion=False),
              "runner": k.label(_to_format(decision.natural, profile), with_expansion=False)}

    def add(key: str) -> None:
        found.append(k.text("tensions", key, **values))

    public = profile.audience == "public"
    too_many = n is not None and n > k.spoc_max and not decision.groups
    if public and n is not None and n <= k.spoc_max:
        add("public_but_small")
    if public and profile.coaching is True:
        add("public_but_coaching")
    if profile.coaching is True and too_many:
        add("coaching_but_large")
    elif profile.audience == "experts" and too_many:
        add("small_group_but_large")  # same limit as above: said once
    if profile.face_to_face is True and fmt != "spoc" and decision.natural != "spoc":
        add("face_to_face_not_spoc")  # (natural SPOC: "no_resources" explains it)
    if profile.own_resources is False and fmt != "mooc":
        add("no_resources")
    if fmt == "cooc_external" and profile.open_to_all is True and profile.audience in (
            "employees", "experts"):
        add("open_but_private_audience")
    if fmt == "cooc_internal" and public:
        add("public_but_internal")
    if fmt == "cooc_internal" and profile.goal == "loyalty" and profile.open_to_all is False:
        add("loyalty_but_internal")
    if fmt == "spoc" and profile.open_to_all is True and not public:
        add("spoc_but_open")
    if fmt == "mooc" and profile.exchanges is True:
        add("exchanges_but_mooc")
    return found


def _combine(profile: Profile, winner: str, runner: str, fmt: str, runner_fmt: str,
             scores: Dict[str, int], k: RecommendationRules) -> Optional[str]:
    n = learner_count(profile)
    values = {"learners": n or 0, "winner": k.label(fmt, with_expansion=False),
              "runner": k.label(runner_fmt, with_expansion=False)}
    if profile.own_resources is False:
        return None
    if winner != "spoc" and profile.coaching is True and n is not None and n > k.spoc_max:
        return k.text("combine", "coaching_subgroup", **values)
    if winner != "spoc" and profile.face_to_face is True:
        return k.text("combine", "face_to_face_subgroup", **values)
    if winner == "spoc" and profile.audience == "public":
        return k.text("combine", "public_and_selected", **values)
    if scores[runner] > 0 and scores[winner] - scores[runner] <= WEAK:
        return k.text("combine", "close_call", **values)
    return None


def recommend(profile: Profile, knowledge: Optional[RecommendationRules] = None) -> Recommendation:
    """Recommend a format for ``profile``. Never raises on odd/contradictory answers.

    ``knowledge`` defaults to data/recommendation.yml (loaded once).
    """
    k = knowledge or load_rules()
    points = _points(profile, k)
    scores = _scores(points)
    decision = _decide(profile, points, k)
    winner = decision.winner
    fmt = _to_format(winner, profile)
    runner, change = _runner_up(profile, decision, k)
    runner_profile = replace(profile, **{change[0]: change[1]}) if change else profile
    runner_fmt = _to_format(runner, runner_profile)
    blended = fmt == "spoc" and profile.face_to_face is True
    n = learner_count(profile)
    keys = _reasons(winner, fmt, decision.groups, blended, points, profile, k)
    return Recommendation(
        format=fmt,
        blended=blended,
        reasons=[k.text("reasons", key, learners=n or 0) for key in keys],
        runner_up=runner_fmt,
        runner_up_change=change,
        combine=_combine(profile, winner, runner, fmt, runner_fmt, scores, k),
        tensions=_tensions(profile, fmt, decision, k),
        groups=decision.groups,
        reason_keys=keys,
        scores=scores,
    )
