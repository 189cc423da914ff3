"""Loads and checks data/recommendation.yml, the recommender's content.

Pure Python, no Rasa import. A bad edit of the YAML file raises ValueError with
the entry to fix, when the action server starts (see ``load_knowledge``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

KNOWLEDGE_PATH = Path(__file__).resolve().parents[1] / "data" / "recommendation.yml"

# Canonical slot values.
AUDIENCES = ("public", "employees", "customers", "experts")
GOALS = ("free_knowledge", "skills", "onboarding", "loyalty", "productivity", "culture")
# What the course is about: the organisation's own products, tools or expertise; technical
# practices and ways of working; general knowledge that one of the existing MOOCs may cover.
THEMES = ("company", "practices", "general")
FORMATS = ("mooc", "cooc_internal", "cooc_external", "spoc")
# Families scored by the rules; "cooc" becomes cooc_internal or cooc_external.
FAMILIES = ("mooc", "cooc", "spoc")
FAMILY_FORMATS = {"mooc": ("mooc",), "cooc": ("cooc_internal", "cooc_external"),
                  "spoc": ("spoc",)}

# The entries the code uses, by section (texts may change, keys may not).
REASON_KEYS = (
    "audience_public_mooc", "audience_public_cooc", "audience_employees_cooc",
    "audience_employees_spoc", "audience_customers_cooc", "audience_experts_spoc",
    "size_spoc_typical", "size_spoc_max", "size_spoc_groups", "size_mooc_massive",
    "goal_free_knowledge_mooc", "goal_skills_cooc", "goal_skills_cooc_customers",
    "goal_skills_mooc", "goal_onboarding_cooc", "goal_loyalty_cooc", "goal_productivity_spoc",
    "goal_culture_cooc", "coaching_spoc", "face_to_face_spoc", "no_resources_mooc",
    "cooc_internal", "cooc_external",
    "theme_company_cooc", "theme_company_cooc_external", "theme_practices_spoc", "theme_general_mooc", "exchanges_cooc",
    "exchanges_spoc",
    "general_mooc_catalogue", "rewards_mooc", "general_cooc_targeted", "rewards_cooc",
    "general_spoc_targeted", "rewards_spoc",
)
TENSION_KEYS = (
    "public_but_small", "public_but_coaching", "coaching_but_large", "small_group_but_large",
    "face_to_face_not_spoc", "no_resources", "open_but_private_audience",
    "public_but_internal", "loyalty_but_internal", "spoc_but_open", "exchanges_but_mooc",
)
COMBINE_KEYS = ("coaching_subgroup", "face_to_face_subgroup", "public_and_selected",
                "close_call")
RUNNER_UP_KEYS = ("next_best",)
_REQUIRED = {"reasons": REASON_KEYS, "tensions": TENSION_KEYS, "combine": COMBINE_KEYS,
             "runner_up_when": RUNNER_UP_KEYS}
_THRESHOLD_KEYS = ("spoc_learners_per_trainer", "spoc_max_learners", "mooc_massive_learners")
_PLACEHOLDERS = {"learners", "per_trainer", "spoc_max", "mooc_massive", "winner", "runner",
                 "groups"}


# eq=False: hashed by identity, so the scoring can cache per loaded file.
@dataclass(frozen=True, eq=False)
class Knowledge:
    thresholds: Dict[str, int]
    formats: Dict[str, Dict[str, str]]
    blended: str
    groups: str  # a SPOC for more learners than one SPOC holds
    sections: Dict[str, Dict[str, Dict[str, Any]]]  # reasons, tensions, ...

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
        return template.format(per_trainer=self.per_trainer, spoc_max=self.spoc_max,
                               mooc_massive=self.mooc_massive, **values)

    def source(self, section: str, key: str) -> str:
        return self.sections[section][key]["source"]

    def reason_fits(self, key: str, fmt: str, audience: Optional[str]) -> bool:
        """May reason `key` be shown for format `fmt` and this audience? A reason limited
        to some formats or audiences (``formats:``/``audiences:`` in the file) speaks of
        those only ("a COOC can be dedicated to a private community of employees" is
        about the internal COOC's employees)."""
        entry = self.sections["reasons"][key]
        formats = entry.get("formats")
        audiences = entry.get("audiences")
        return ((not formats or fmt in formats)
                and (not audiences or audience is None or audience in audiences))

    def label(self, fmt: str, with_expansion: bool = True) -> str:
        """'a SPOC (Small Private Online Course)', 'an internal COOC', ..."""
        entry = self.formats[fmt]
        text = f"{entry['article']} {entry['name']}"
        return f"{text} ({entry['expansion']})" if with_expansion else text


def parse_knowledge(data: Dict[str, Any]) -> Knowledge:
    """Check and convert the YAML content; raise ValueError on a bad edit."""
    if not isinstance(data, dict):
        raise ValueError("recommendation.yml: expected a mapping at top level")
    thresholds = _thresholds(data)
    formats = data.get("formats") or {}
    for fmt in FORMATS:
        entry = formats.get(fmt) or {}
        for attr in ("article", "name", "expansion", "source"):
            if not entry.get(attr):
                raise ValueError(f"recommendation.yml: formats.{fmt}.{attr} is missing")
    sections = {section: _section(data, section) for section in _REQUIRED}
    blended, groups = ((data.get(key) or {}).get("text") for key in ("blended", "groups"))
    if not blended or not groups:
        raise ValueError("recommendation.yml: blended.text or groups.text is missing")
    missing = [f"{section}.{key}" for section, keys in _REQUIRED.items() for key in keys
               if key not in sections[section]]
    if missing:
        raise ValueError(f"recommendation.yml: missing entries {missing}")
    return Knowledge(thresholds, formats, blended, groups.format(**thresholds), sections)


def _thresholds(data: Dict[str, Any]) -> Dict[str, int]:
    try:
        thresholds = {k: data["thresholds"][k]["value"] for k in _THRESHOLD_KEYS}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"recommendation.yml: missing threshold {exc}") from exc
    for key, value in thresholds.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"recommendation.yml: threshold {key} must be a positive integer")
    if not (thresholds["spoc_learners_per_trainer"] <= thresholds["spoc_max_learners"]
            < thresholds["mooc_massive_learners"]):
        raise ValueError("recommendation.yml: expected spoc_learners_per_trainer <= "
                         "spoc_max_learners < mooc_massive_learners")
    return thresholds


def _section(data: Dict[str, Any], section: str) -> Dict[str, Dict[str, Any]]:
    entries = data.get(section) or {}
    for key, entry in entries.items():
        if not isinstance(entry, dict) or not entry.get("text") or not entry.get("source"):
            raise ValueError(f"recommendation.yml: {section}.{key} needs text and source")
        names = {f[1] for f in string.Formatter().parse(entry["text"]) if f[1]}
        unknown = names - _PLACEHOLDERS
        if unknown:
            raise ValueError(f"recommendation.yml: {section}.{key} uses unknown "
                             f"placeholder(s) {sorted(unknown)}")
        for attr, allowed in (("formats", FORMATS), ("audiences", AUDIENCES)):
            wrong = set(entry.get(attr) or ()) - set(allowed)
            if wrong:
                raise ValueError(f"recommendation.yml: {section}.{key}.{attr} has unknown "
                                 f"value(s) {sorted(wrong)}")
    return entries


@lru_cache(maxsize=None)
def load_knowledge(path: Optional[str] = None) -> Knowledge:
    """Read data/recommendation.yml once (cached per path)."""
    file = Path(path) if path else KNOWLEDGE_PATH
    with file.open(encoding="utf-8") as handle:
        return parse_knowledge(yaml.safe_load(handle))


def required_keys() -> List[Tuple[str, str]]:
    return [(section, key) for section, keys in _REQUIRED.items() for key in keys]
