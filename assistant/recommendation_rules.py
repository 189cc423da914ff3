"""The recommender's view of the content: data/recommendation.yml (thresholds, criteria,
replies) and the format registry of data/knowledge.yml (how formats are named).

Pure Python, no Rasa import. Both files are read and checked by assistant/content.py; a
bad edit raises ValueError with the entry to fix, when the action server starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from assistant import content
from assistant.content import (REQUIRED_ENTRIES, THRESHOLDS, Answer, Entry, Format,
                               RecommendationFile)

_SECTIONS = tuple(REQUIRED_ENTRIES)


@dataclass(frozen=True)
class Criterion:
    """What answers matching `when` say about `format`: `supports` it or not (conflicts)."""
    format: str
    key: str
    when: Tuple[Tuple[str, Tuple[Any, ...]], ...]  # (slot, accepted values), all must match
    unless: Tuple[Tuple[str, Tuple[Any, ...]], ...]  # ...and none of these
    supports: bool
    text: str
    source: str  # the first article sentence it rests on
    slots: Tuple[str, ...] = ()  # the answers `when` names, in order

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", tuple(slot for slot, _ in self.when))


# eq=False: hashed by identity, so the decision can be cached per loaded file.
@dataclass(frozen=True, eq=False)
class RecommendationRules:
    thresholds: Dict[str, int]
    formats: Dict[str, Format]  # the format registry
    blended: str
    groups: str  # a SPOC for more learners than one SPOC holds
    groups_reason: str  # ...and why
    criteria: Tuple[Criterion, ...]  # in file order, per format
    fillers: Dict[str, List[Answer]]
    sections: Dict[str, Dict[str, Entry]]  # replies, combine, runner_up_when

    @property
    def per_trainer(self) -> int:
        return self.thresholds["spoc_learners_per_trainer"]

    @property
    def spoc_max(self) -> int:
        return self.thresholds["spoc_max_learners"]

    @property
    def mooc_massive(self) -> int:
        return self.thresholds["mooc_massive_learners"]

    def fill(self, template: str, **values: Any) -> str:
        return template.format(per_trainer=self.per_trainer, spoc_max=self.spoc_max,
                               mooc_massive=self.mooc_massive, **values)

    def text(self, section: str, key: str, **values: Any) -> str:
        return self.fill(self.sections[section][key].line, **values)

    def band(self, learners: Optional[int]) -> Optional[str]:
        """The learner-count band a criterion's `when:` names."""
        if learners is None:
            return None
        if learners <= self.per_trainer:
            return "up_to_per_trainer"
        if learners <= self.spoc_max:
            return "up_to_spoc_max"
        return "more_than_spoc_max" if learners < self.mooc_massive else "thousands"

    def label(self, fmt: str, with_expansion: bool = True) -> str:
        """'a SPOC (Small Private Online Course)', 'an internal COOC', ..."""
        entry = self.formats[fmt]
        text = f"{entry.article} {entry.name}"
        if not with_expansion:
            return text
        expansion = entry.expansion or self.formats[entry.parent].expansion
        return f"{text} ({expansion})"


def parse_knowledge(data: Dict[str, Any],
                    formats: Optional[Dict[str, Format]] = None) -> RecommendationRules:
    """Check and convert recommendation.yml's content; raise ValueError on a bad edit."""
    parsed: RecommendationFile = content.parse(RecommendationFile, data, "recommendation.yml")
    return _knowledge(parsed, formats or content.knowledge().formats)


def _when(when: Dict[str, Any]) -> Tuple[Tuple[str, Tuple[Any, ...]], ...]:
    return tuple((slot, tuple(value) if isinstance(value, list) else (value,))
                 for slot, value in when.items())


def _knowledge(parsed: RecommendationFile, formats: Dict[str, Format]) -> RecommendationRules:
    thresholds = {key: parsed.thresholds[key].value for key in THRESHOLDS}
    criteria = tuple(
        Criterion(fmt, key, _when(c.when), _when(c.unless), c.supports is not None, c.line,
                  c.sources[0])
        for fmt, entries in parsed.criteria.items() for key, c in entries.items())
    return RecommendationRules(thresholds, formats, parsed.blended.line,
                               parsed.groups.line.format(**thresholds),
                               parsed.groups_reason.line, criteria,
                               parsed.fillers,
                               {section: getattr(parsed, section) for section in _SECTIONS})


@lru_cache(maxsize=None)
def load_rules(path: Optional[str] = None) -> RecommendationRules:
    """data/recommendation.yml (or `path`) and the format registry, read once."""
    parsed = content.recommendation(Path(path) if path else None)
    return _knowledge(parsed, content.knowledge().formats)
