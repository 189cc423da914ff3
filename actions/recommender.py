"""Recommend a training format (MOOC, internal/external COOC, SPOC, blended SPOC).

Pure Python, no Rasa import: the form/action code builds a ``Profile`` from the
slots, calls ``recommend()`` and sends ``render()``'s text.

The only knowledge source is the article "COOC, MOOC, SPOC: What are the
differences?". Everything the bot says, and every threshold, lives in
``data/recommendation.yml`` with the article sentence it comes from.

How the rules work (plain points, no magic):

1. Each answer gives points to one of three families: MOOC, COOC, SPOC
   (``_points``). A strong, article-stated match is worth ``STRONG``; a weaker
   one ``MEDIUM`` or ``WEAK``.
2. The family with most points leads; ties go to ``TIE_ORDER``. Two hard
   limits from the article come first (``_decide``):
   * more learners than ``spoc_max_learners``: no SPOC ("some formats allow up
     to 50 learners"); the SPOC may still be the runner-up;
   * no resources to develop internal training: the MOOC when a MOOC can serve
     the need (employees or the public, general skills or knowledge, no coaching
     or face-to-face: ``_mooc_serves_without_resources``); the family that would
     have led becomes the runner-up. Otherwise the missing resources are a note.
3. A COOC is internal or external: the ``open_to_all`` answer decides; when it
   is unknown, a general-public audience or a loyalty goal means external,
   anything else internal. ``open_to_all`` gives no points, so answering it
   never changes which family leads (see ``needs_open_to_all``).
4. Blended means a SPOC combined with face-to-face courses: the article
   describes face-to-face sessions only for the SPOC.
5. Contradictory answers never raise: each one adds a "tension" sentence.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

KNOWLEDGE_PATH = Path(__file__).resolve().parents[1] / "data" / "recommendation.yml"

# Canonical slot values.
AUDIENCES = ("public", "employees", "customers", "experts")
GOALS = ("free_knowledge", "skills", "onboarding", "loyalty", "productivity", "culture")
FORMATS = ("mooc", "cooc_internal", "cooc_external", "spoc")

# Families scored by the rules; "cooc" becomes cooc_internal or cooc_external.
FAMILIES = ("mooc", "cooc", "spoc")
# Used only when two families have the same points. The COOC comes first as the
# format "designed to meet the goals of a business", then the SPOC ("Mainly used
# in businesses"), then the MOOC, the general-public format.
TIE_ORDER = ("cooc", "spoc", "mooc")

# Points.
# A goal the article gives as the very purpose of one format ("set up in order to ... offer
# free access to knowledge", "aims to improve its e-reputation", "to identify and resolve
# sources of unproductivity") outweighs audience and size together.
PURPOSE = 5
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
# Reasons that speak of one COOC variant only: not shown for the other one.
VARIANT_ONLY_REASONS = {
    "audience_public_cooc": "cooc_external",
    "goal_loyalty_cooc": "cooc_external",
}


# --------------------------------------------------------------------------- data


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


@dataclass
class Recommendation:
    format: str  # one of FORMATS
    blended: bool
    reasons: List[str]
    runner_up: str  # one of FORMATS, never the same family as ``format``
    runner_up_when: str  # "if ...", lower-case, no final period
    combine: Optional[str] = None
    tensions: List[str] = field(default_factory=list)
    # For logging/debugging: points per family ("mooc", "cooc", "spoc").
    scores: Dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Point:
    family: str
    weight: int
    reason: str  # key in knowledge["reasons"]


# --------------------------------------------------------------------- knowledge


@dataclass(frozen=True)
class Knowledge:
    thresholds: Dict[str, int]
    formats: Dict[str, Dict[str, str]]
    blended: str
    sections: Dict[str, Dict[str, Dict[str, str]]]  # reasons, tensions, ...

    @property
    def per_trainer(self) -> int:
        return self.thresholds["spoc_learners_per_trainer"]

    @property
    def spoc_max(self) -> int:
        return self.thresholds["spoc_max_learners"]

    @property
    def mooc_massive(self) -> int:
        return self.thresholds["mooc_massive_learners"]

    def text(self, section: str, key: str, **values: Any) -> str:
        template = self.sections[section][key]["text"]
        return template.format(
            per_trainer=self.per_trainer,
            spoc_max=self.spoc_max,
            mooc_massive=self.mooc_massive,
            **values,
        )

    def source(self, section: str, key: str) -> str:
        return self.sections[section][key]["source"]


_TEXT_SECTIONS = ("reasons", "tensions", "runner_up_when", "combine")
_THRESHOLD_KEYS = ("spoc_learners_per_trainer", "spoc_max_learners", "mooc_massive_learners")
_PLACEHOLDERS = {"learners", "per_trainer", "spoc_max", "mooc_massive", "winner", "runner"}


def parse_knowledge(data: Dict[str, Any]) -> Knowledge:
    """Check and convert the YAML content; raise ValueError on a bad edit."""
    if not isinstance(data, dict):
        raise ValueError("recommendation.yml: expected a mapping at top level")
    try:
        thresholds = {k: data["thresholds"][k]["value"] for k in _THRESHOLD_KEYS}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"recommendation.yml: missing threshold {exc}") from exc
    for key, value in thresholds.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"recommendation.yml: threshold {key} must be a positive integer")
    if not (
        thresholds["spoc_learners_per_trainer"]
        <= thresholds["spoc_max_learners"]
        < thresholds["mooc_massive_learners"]
    ):
        raise ValueError(
            "recommendation.yml: expected spoc_learners_per_trainer <= "
            "spoc_max_learners < mooc_massive_learners"
        )
    formats = data.get("formats") or {}
    for fmt in FORMATS:
        entry = formats.get(fmt) or {}
        for attr in ("article", "name", "expansion", "source"):
            if not entry.get(attr):
                raise ValueError(f"recommendation.yml: formats.{fmt}.{attr} is missing")
    sections = {}
    for section in _TEXT_SECTIONS:
        entries = data.get(section) or {}
        for key, entry in entries.items():
            if not isinstance(entry, dict) or not entry.get("text") or not entry.get("source"):
                raise ValueError(f"recommendation.yml: {section}.{key} needs text and source")
            names = {f[1] for f in string.Formatter().parse(entry["text"]) if f[1]}
            unknown = names - _PLACEHOLDERS
            if unknown:
                raise ValueError(
                    f"recommendation.yml: {section}.{key} uses unknown placeholder(s) {sorted(unknown)}"
                )
        sections[section] = entries
    blended = (data.get("blended") or {}).get("text")
    if not blended:
        raise ValueError("recommendation.yml: blended.text is missing")
    knowledge = Knowledge(thresholds, formats, blended, sections)
    missing = [
        f"{section}.{key}"
        for section, key in _required_text_keys()
        if key not in sections.get(section, {})
    ]
    if missing:
        raise ValueError(f"recommendation.yml: missing entries {missing}")
    return knowledge


def _required_text_keys() -> List[Tuple[str, str]]:
    keys = [("reasons", k) for k in _ALL_REASON_KEYS]
    keys += [("reasons", k) for fillers in FILLER_REASONS.values() for k in fillers]
    keys += [("reasons", "cooc_internal"), ("reasons", "cooc_external")]
    keys += [("tensions", k) for k in _TENSION_KEYS]
    keys += [("runner_up_when", k) for k in (*FORMATS, "with_resources")]
    keys += [("combine", k) for k in _COMBINE_KEYS]
    return keys


@lru_cache(maxsize=None)
def load_knowledge(path: Optional[str] = None) -> Knowledge:
    """Read data/recommendation.yml once (cached per path)."""
    file = Path(path) if path else KNOWLEDGE_PATH
    with file.open(encoding="utf-8") as handle:
        return parse_knowledge(yaml.safe_load(handle))


# ------------------------------------------------------------------------- rules

_ALL_REASON_KEYS = (
    "audience_public_mooc",
    "audience_public_cooc",
    "audience_employees_cooc",
    "audience_employees_spoc",
    "audience_customers_cooc",
    "audience_experts_spoc",
    "size_spoc_typical",
    "size_spoc_max",
    "size_mooc_massive",
    "goal_free_knowledge_mooc",
    "goal_skills_cooc",
    "goal_skills_mooc",
    "goal_onboarding_cooc",
    "goal_loyalty_cooc",
    "goal_productivity_spoc",
    "goal_culture_cooc",
    "coaching_spoc",
    "face_to_face_spoc",
    "no_resources_mooc",
)
_TENSION_KEYS = (
    "public_but_small",
    "public_but_coaching",
    "coaching_but_large",
    "small_group_but_large",
    "face_to_face_not_spoc",
    "no_resources",
    "open_but_private_audience",
    "public_but_internal",
    "loyalty_but_internal",
    "spoc_but_open",
)
_COMBINE_KEYS = ("coaching_subgroup", "face_to_face_subgroup", "public_and_selected", "close_call")

_GOAL_RULES = {
    "free_knowledge": (("mooc", PURPOSE, "goal_free_knowledge_mooc"),),
    "skills": (("cooc", STRONG, "goal_skills_cooc"), ("mooc", WEAK, "goal_skills_mooc")),
    "onboarding": (("cooc", STRONG, "goal_onboarding_cooc"),),
    "loyalty": (("cooc", PURPOSE, "goal_loyalty_cooc"),),
    "productivity": (("spoc", PURPOSE, "goal_productivity_spoc"),),
    "culture": (("cooc", STRONG, "goal_culture_cooc"),),
}
_AUDIENCE_RULES = {
    "public": (("mooc", STRONG, "audience_public_mooc"), ("cooc", MEDIUM, "audience_public_cooc")),
    "employees": (
        ("cooc", STRONG, "audience_employees_cooc"),
        ("spoc", WEAK, "audience_employees_spoc"),
    ),
    "customers": (("cooc", STRONG, "audience_customers_cooc"),),
    "experts": (("spoc", STRONG, "audience_experts_spoc"),),
}


def _learners(profile: Profile) -> Optional[int]:
    """The learner count as an int, or None when unknown or not a valid count.

    Rasa float slots give e.g. 12.0; zero/negative counts are ignored here
    (learner_count.validate_learner_count rejects them in the form).
    """
    value = profile.learners
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(round(float(value)))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _points(profile: Profile, k: Knowledge) -> List[_Point]:
    """Every rule that applies to the profile, in a fixed order."""
    points: List[_Point] = []
    for family, weight, reason in _AUDIENCE_RULES.get(profile.audience, ()):
        points.append(_Point(family, weight, reason))

    n = _learners(profile)
    if n is not None:
        if n <= k.per_trainer:
            points.append(_Point("spoc", STRONG, "size_spoc_typical"))
        elif n <= k.spoc_max:
            points.append(_Point("spoc", MEDIUM, "size_spoc_max"))
        # above spoc_max: no points, and no SPOC at all (see _decide)
        if n >= k.mooc_massive:
            points.append(_Point("mooc", STRONG, "size_mooc_massive"))

    for family, weight, reason in _GOAL_RULES.get(profile.goal, ()):
        points.append(_Point(family, weight, reason))

    if profile.coaching is True:
        points.append(_Point("spoc", STRONG, "coaching_spoc"))
    if profile.face_to_face is True:
        points.append(_Point("spoc", STRONG, "face_to_face_spoc"))
    if profile.own_resources is False:
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
    runner: str  # family
    natural: str  # family that would lead if resources were no concern


def _decide(profile: Profile, scores: Dict[str, int], k: Knowledge) -> _Decision:
    ranking = _ranking(scores)
    n = _learners(profile)
    too_many_for_spoc = n is not None and n > k.spoc_max
    natural = next(fam for fam in ranking if not (fam == "spoc" and too_many_for_spoc))
    if profile.own_resources is False and _mooc_serves_without_resources(profile):
        runner = natural if natural != "mooc" else next(f for f in ranking if f != "mooc")
        return _Decision("mooc", runner, natural)
    return _Decision(natural, next(f for f in ranking if f != natural), natural)


def _mooc_serves_without_resources(profile: Profile) -> bool:
    """The article's case for the MOOC without resources: "SMEs that want to train their
    employees, but do not have the resources to develop internal training, can also
    benefit from the advantages of the MOOC" - general skills that one of "thousands of
    MOOCs" on "various topics" can teach. A need only the organisation's own course
    meets (its customers or experts, onboarding, loyalty, culture, job problems, coaching,
    face-to-face sessions) keeps the format the other criteria call for; the missing
    resources are then stated as a constraint (see ``_tensions``)."""
    return (profile.audience in (None, "employees", "public")
            and profile.goal in (None, "skills", "free_knowledge")
            and profile.coaching is not True and profile.face_to_face is not True)


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


def needs_open_to_all(profile: Profile, knowledge: Optional[Knowledge] = None) -> bool:
    """Should the form ask "open to all Internet users?" (external vs internal COOC)?

    True only when a COOC is the leading candidate, since that answer only
    chooses between the internal and the external COOC. It gives no points,
    so the answer never changes the leading family and the question never
    needs to be taken back. Independent of whether open_to_all is filled.
    """
    profile_without = replace(profile, open_to_all=None)
    k = knowledge or load_knowledge()
    decision = _decide(profile_without, _scores(_points(profile_without, k)), k)
    return decision.winner == "cooc"


def answer_that_changes(profile: Profile, slot: str, values: List[Any],
                        knowledge: Optional[Knowledge] = None) -> Optional[Tuple[Any, str]]:
    """For an answer left open: the first of `values` that would change the recommended
    format, with that format; None when no value would."""
    current = recommend(profile, knowledge).format
    for value in values:
        other = recommend(replace(profile, **{slot: value}), knowledge).format
        if other != current:
            return value, other
    return None


# ----------------------------------------------------------------------- output


def label(fmt: str, *, with_expansion: bool = True, k: Optional[Knowledge] = None) -> str:
    """'a SPOC (Small Private Online Course)', 'an internal COOC', ..."""
    k = k or load_knowledge()
    entry = k.formats[fmt]
    text = f"{entry['article']} {entry['name']}"
    if with_expansion:
        text += f" ({entry['expansion']})"
    return text


def _reasons(
    winner: str, fmt: str, blended: bool, points: List[_Point], n: Optional[int], k: Knowledge
) -> List[str]:
    chosen: List[str] = []
    mine = [
        p for p in points
        if p.family == winner and VARIANT_ONLY_REASONS.get(p.reason, fmt) == fmt
    ]
    # Strongest first; equal weights keep the rule order (audience, size, goal...).
    mine.sort(key=lambda p: -p.weight)
    keys = [p.reason for p in mine]
    if blended and "face_to_face_spoc" in keys:
        # The headline says "blended": its reason must be among those shown.
        keys.remove("face_to_face_spoc")
        keys.insert(0, "face_to_face_spoc")
    slots = MAX_REASONS
    variant_key = None
    if winner == "cooc":
        variant_key = "cooc_external" if fmt == "cooc_external" else "cooc_internal"
        slots -= 1
    sources = set()
    for key in keys + list(FILLER_REASONS[winner]):
        if len(chosen) >= slots:
            break
        if len(chosen) >= 2 and key not in keys:
            break  # fillers only complete up to two reasons
        source = k.source("reasons", key)
        if source in sources or (variant_key and source == k.source("reasons", variant_key)):
            continue  # the same article sentence twice adds nothing
        sources.add(source)
        chosen.append(k.text("reasons", key, learners=n or 0))
    if variant_key:
        chosen.append(k.text("reasons", variant_key))
    return chosen


def _tensions(
    profile: Profile, fmt: str, runner_fmt: str, natural: str, n: Optional[int], k: Knowledge
) -> List[str]:
    found: List[str] = []
    values = {"learners": n or 0, "winner": label(fmt, with_expansion=False, k=k),
              "runner": label(runner_fmt, with_expansion=False, k=k)}

    def add(key: str) -> None:
        found.append(k.text("tensions", key, **values))

    public = profile.audience == "public"
    if public and n is not None and n <= k.spoc_max:
        add("public_but_small")
    if public and profile.coaching is True:
        add("public_but_coaching")
    if profile.coaching is True and n is not None and n > k.spoc_max:
        add("coaching_but_large")
    elif profile.audience == "experts" and n is not None and n > k.spoc_max:
        add("small_group_but_large")  # same limit as above: said once
    if profile.face_to_face is True and fmt != "spoc" and natural != "spoc":
        add("face_to_face_not_spoc")  # (natural SPOC: "no_resources" explains it)
    if profile.own_resources is False and natural != "mooc":
        add("no_resources")
    if fmt == "cooc_external" and profile.open_to_all is True and profile.audience in (
        "employees",
        "experts",
    ):
        add("open_but_private_audience")
    if fmt == "cooc_internal" and public:
        add("public_but_internal")
    if fmt == "cooc_internal" and profile.goal == "loyalty" and profile.open_to_all is False:
        add("loyalty_but_internal")
    if fmt == "spoc" and profile.open_to_all is True and not public:
        add("spoc_but_open")
    return found


def _combine(
    profile: Profile, winner: str, runner: str, fmt: str, runner_fmt: str,
    scores: Dict[str, int], n: Optional[int], k: Knowledge
) -> Optional[str]:
    values = {"learners": n or 0, "winner": label(fmt, with_expansion=False, k=k),
              "runner": label(runner_fmt, with_expansion=False, k=k)}
    if profile.own_resources is False:
        return None  # every other format would be developed in-house
    if winner != "spoc" and profile.coaching is True and n is not None and n > k.spoc_max:
        return k.text("combine", "coaching_subgroup", **values)
    if winner != "spoc" and profile.face_to_face is True:
        return k.text("combine", "face_to_face_subgroup", **values)
    if winner == "spoc" and profile.audience == "public":
        return k.text("combine", "public_and_selected", **values)
    if scores[runner] > 0 and scores[winner] - scores[runner] <= WEAK:
        return k.text("combine", "close_call", **values)
    return None


def recommend(profile: Profile, knowledge: Optional[Knowledge] = None) -> Recommendation:
    """Recommend a format for ``profile``. Never raises on odd/contradictory answers.

    ``knowledge`` defaults to data/recommendation.yml (loaded once).
    """
    k = knowledge or load_knowledge()
    points = _points(profile, k)
    scores = _scores(points)
    decision = _decide(profile, scores, k)
    winner, runner = decision.winner, decision.runner
    fmt = _to_format(winner, profile)
    runner_fmt = _to_format(runner, profile)
    blended = fmt == "spoc" and profile.face_to_face is True
    n = _learners(profile)

    if decision.natural != winner:
        runner_up_when = k.text("runner_up_when", "with_resources")
    else:
        runner_up_when = k.text("runner_up_when", runner_fmt)

    return Recommendation(
        format=fmt,
        blended=blended,
        reasons=_reasons(winner, fmt, blended, points, n, k),
        runner_up=runner_fmt,
        runner_up_when=runner_up_when,
        combine=_combine(profile, winner, runner, fmt, runner_fmt, scores, n, k),
        tensions=_tensions(profile, fmt, runner_fmt, decision.natural, n, k),
        scores=scores,
    )


def render(rec: Recommendation, knowledge: Optional[Knowledge] = None) -> str:
    """The message for the user, starting with "I recommend a/an <format> (...)"."""
    k = knowledge or load_knowledge()
    headline = f"I recommend {label(rec.format, k=k)}"
    if rec.blended:
        headline += f", {k.blended}"
    lines = [headline + "."]
    lines += [f"- {reason}" for reason in rec.reasons]
    for tension in rec.tensions:
        lines.append(f"Note: {tension}")
    lines.append(f"Runner-up: {label(rec.runner_up, k=k)}, which would be the better choice {rec.runner_up_when}.")
    if rec.combine:
        lines.append(rec.combine)
    return "\n".join(lines)
