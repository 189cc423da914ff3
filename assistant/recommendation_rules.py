"""The recommender's view of the content: data/recommendation.yml (thresholds, reasons,
notes) and the format registry of data/knowledge.yml (how formats are named).

Pure Python, no Rasa import. Both files are read and checked by assistant/content.py; a
bad edit raises ValueError with the entry to fix, when the action server starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from assistant import content
from assistant.content import (REQUIRED_ENTRIES, THRESHOLDS, Entry, Format,
                             RecommendationFile)

_SECTIONS = tuple(REQUIRED_ENTRIES)


# eq=False: hashed by identity, so the scoring can cache per loaded file.
@dataclass(frozen=True, eq=False)
class RecommendationRules:
    thresholds: Dict[str, int]
    formats: Dict[str, Format]  # the format registry
    blended: str
    groups: str  # a SPOC for more learners than one SPOC holds
    sections: Dict[str, Dict[str, Entry]]  # reasons, tensions, ...

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
        template = self.sections[section][key].text
        return template.format(per_trainer=self.per_trainer, spoc_max=self.spoc_max,
                               mooc_massive=self.mooc_massive, **values)

    def source(self, section: str, key: str) -> str:
        """The entry's first source sentence: two entries resting on the same one
        would say the same thing."""
        return self.sections[section][key].sources[0]

    def reason_fits(self, key: str, fmt: str, audience: Optional[str]) -> bool:
        """May reason `key` be shown for format `fmt` and this audience? A reason limited
        to some formats or audiences (``formats:``/``audiences:`` in the file) speaks of
        those only ("a COOC can be dedicated to a private community of employees" is
        about the internal COOC's employees)."""
        entry = self.sections["reasons"][key]
        formats, audiences = entry.formats, entry.audiences
        return ((not formats or fmt in formats)
                and (not audiences or audience is None or audience in audiences))

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


def _knowledge(parsed: RecommendationFile, formats: Dict[str, Format]) -> RecommendationRules:
    thresholds = {key: parsed.thresholds[key].value for key in THRESHOLDS}
    return RecommendationRules(thresholds, formats, parsed.blended.line,
                     parsed.groups.line.format(**thresholds),
                     {section: getattr(parsed, section) for section in _SECTIONS})


@lru_cache(maxsize=None)
def load_rules(path: Optional[str] = None) -> RecommendationRules:
    """data/recommendation.yml (or `path`) and the format registry, read once."""
    parsed = content.recommendation(Path(path) if path else None)
    return _knowledge(parsed, content.knowledge().formats)


def required_keys() -> List[Tuple[str, str]]:
    return [(section, key) for section, keys in REQUIRED_ENTRIES.items() for key in keys]
