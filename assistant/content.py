"""The content model: every YAML file a training manager edits, read and checked here.

- data/knowledge.yml: the format registry (names, articles, expansions, spellings), the
  topic registry, and the answers, each with the article sentences it rests on;
- data/recommendation.yml: the recommender's thresholds, reasons, notes, with sources;
- data/form_answers.yml: how the recommendation dialog reads and words answers.

Pure Python (pydantic, no Rasa import). A bad edit raises ValueError (pydantic's
ValidationError is one) naming the entry to fix, when the action server loads it.

`python -m assistant.content` writes the training data that follows from the registries:
data/nlu/formats.yml (the `format` lookup table and synonyms) and data/topic_rules.yml (the
rules that answer a question on any topic). `make train` runs it; tests/test_content.py
checks the files are current.
"""

from __future__ import annotations

import string
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from pydantic import BaseModel, Extra, StrictInt, conlist, constr, root_validator, validator

DATA = Path(__file__).resolve().parents[1] / "data"

# The recommender's vocabulary (its rules are code, in assistant/recommender.py).
AUDIENCES = ("public", "employees", "customers", "experts")
GOALS = ("free_knowledge", "skills", "onboarding", "loyalty", "productivity", "culture")
# What the course is about: the organisation's own products, tools or expertise; technical
# practices and ways of working; general knowledge that one of the existing MOOCs may cover.
THEMES = ("company", "practices", "general")
# Families scored by the rules; "cooc" becomes cooc_internal or cooc_external.
FAMILY_FORMATS = {"mooc": ("mooc",), "cooc": ("cooc_internal", "cooc_external"),
                  "spoc": ("spoc",)}
FAMILIES = tuple(FAMILY_FORMATS)
FORMATS = tuple(fmt for formats in FAMILY_FORMATS.values() for fmt in formats)

# The recommendation.yml entries the code uses, by section (texts may change, keys may not).
REQUIRED_ENTRIES = {
    "replies": ("trade_off", "trade_off_short", "if_it_matters", "fits", "one_open", "some_open",
                "one_open_short", "some_open_short", "no_format_stands_out"),
    "combine": ("coaching_subgroup", "trade_off"),
    "runner_up_when": ("next_best",),
}
# What a criterion's `when:` may name: the answers, and the learner-count bands.
CRITERION_VALUES = {
    "audience": AUDIENCES, "goal": GOALS, "theme": THEMES,
    "learners": ("up_to_per_trainer", "up_to_spoc_max", "more_than_spoc_max", "thousands"),
    "coaching": (True, False), "face_to_face": (True, False), "own_resources": (True, False),
    "exchanges": (True, False), "open_to_all": (True, False),
}
THRESHOLDS = ("spoc_learners_per_trainer", "spoc_max_learners", "mooc_massive_learners")
PLACEHOLDERS = {"learners", "learners_text", "per_trainer", "spoc_max", "mooc_massive", "winner",
                "runner", "groups", "fits", "against", "alternative", "count"}

Text = constr(strip_whitespace=True, min_length=1)
Sources = conlist(Text, min_items=1)


def _placeholders(text: str) -> set:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _one_line(text: str) -> str:
    return " ".join(text.split())


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid  # a misspelt key ("source:") is an error, not ignored
        allow_mutation = False


# ------------------------------------------------------------ data/knowledge.yml


class Format(Strict):
    name: Text
    article: constr(regex=r"^(a|an|)$")
    expansion: Optional[Text] = None
    parent: Optional[str] = None
    spellings: conlist(Text, min_items=1)
    sources: List[Text] = []

    @root_validator(skip_on_failure=True)
    def expansion_has_sources(cls, values):
        if values.get("expansion") and not values.get("sources"):
            raise ValueError("an expansion needs the article's sentence in `sources`")
        return values


class Topic(Strict):
    silent: Optional[Text] = None  # "The article doesn't say <silent>."
    offer: Optional[Text] = None  # "I can tell you <offer>, ..."
    asked: bool = True  # asked with the intent ask_<topic>
    general: bool = False  # about no format in particular

    @validator("silent")
    def only_format_placeholder(cls, silent):
        if _placeholders(silent) - {"format"}:
            raise ValueError("the only placeholder allowed is {format}")
        return silent

    @root_validator(skip_on_failure=True)
    def format_topic_has_silent(cls, values):
        if not values.get("general") and not values.get("silent"):
            raise ValueError("a topic about formats needs `silent`")
        return values


class Answer(Strict):
    text: Text
    sources: Sources

    @property
    def line(self) -> str:
        return _one_line(self.text)


class KnowledgeFile(Strict):
    formats: Dict[str, Format]
    topics: Dict[str, Topic]
    compare_default: conlist(str, min_items=2)
    answers: Dict[str, Dict[str, Answer]]
    general: Dict[str, Answer]

    @root_validator(skip_on_failure=True)
    def names_are_known(cls, values):
        formats, topics = values["formats"], values["topics"]
        errors = []
        for fmt, entry in formats.items():
            if entry.parent and entry.parent not in formats:
                errors.append(f"formats.{fmt}.parent: unknown format {entry.parent!r}")
            if not (entry.expansion or entry.parent is None
                    or formats.get(entry.parent, entry).expansion):
                errors.append(f"formats.{fmt}: its parent has no expansion")
        spelt: Dict[str, str] = {}
        for fmt, entry in formats.items():
            for spelling in entry.spellings:
                other = spelt.setdefault(spelling.lower(), fmt)
                if other != fmt:
                    errors.append(f"formats.{fmt}.spellings: {spelling!r} is also a "
                                  f"spelling of {other}")
        for fmt in FORMATS:
            if fmt not in formats:
                errors.append(f"formats.{fmt} is missing (the recommender uses it)")
        errors += [f"compare_default: unknown format {f!r}"
                   for f in values["compare_default"] if f not in formats]
        for fmt, answers in values["answers"].items():
            if fmt not in formats:
                errors.append(f"answers.{fmt}: unknown format")
            errors += [f"answers.{fmt}.{t}: unknown topic (add it to topics)"
                       for t in answers if t not in topics or topics[t].general]
        errors += [f"general.{t}: not a general topic (`general: true` in topics)"
                   for t in values["general"] if t not in topics or not topics[t].general]
        errors += [f"topics.{t}: a general topic needs its answer under general"
                   for t, topic in topics.items() if topic.general and t not in values["general"]]
        if errors:
            raise ValueError("; ".join(errors))
        return values


# ------------------------------------------------------------ data/recommendation.yml


class Threshold(Strict):
    value: StrictInt
    sources: Sources

    @validator("value")
    def positive(cls, value):
        if value < 1:
            raise ValueError("must be a positive integer")
        return value


class Entry(Answer):
    formats: List[str] = []  # shown only for these formats...
    audiences: List[str] = []  # ...and these audiences

    @validator("text")
    def known_placeholders(cls, text):
        unknown = _placeholders(text) - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}")
        return text

    @validator("formats", each_item=True)
    def known_format(cls, fmt):
        if fmt not in FORMATS:
            raise ValueError(f"unknown value {fmt!r} (one of {', '.join(FORMATS)})")
        return fmt

    @validator("audiences", each_item=True)
    def known_audience(cls, audience):
        if audience not in AUDIENCES:
            raise ValueError(f"unknown value {audience!r} (one of {', '.join(AUDIENCES)})")
        return audience


class Criterion(Strict):
    """What an answer says about one format: it supports it or conflicts with it."""
    when: Dict[str, Any]
    unless: Dict[str, Any] = {}  # ...but not when these answers are given
    supports: Optional[Text] = None
    conflicts: Optional[Text] = None
    sources: Sources

    @root_validator(skip_on_failure=True)
    def one_effect_known_answers(cls, values):
        if (values.get("supports") is None) == (values.get("conflicts") is None):
            raise ValueError("give either `supports:` or `conflicts:`")
        unknown = _placeholders(values.get("supports") or values["conflicts"]) - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}")
        for part in ("when", "unless"):
            for slot, wanted in values[part].items():
                if slot not in CRITERION_VALUES:
                    raise ValueError(f"{part}: unknown answer {slot!r}")
                for value in wanted if isinstance(wanted, list) else [wanted]:
                    if value is not None and value not in CRITERION_VALUES[slot]:
                        raise ValueError(f"{part}: {slot} cannot be {value!r}")
        return values

    @property
    def line(self) -> str:
        return _one_line(self.supports or self.conflicts)


class RecommendationFile(Strict):
    thresholds: Dict[str, Threshold]
    groups: Answer  # a SPOC for more learners than one SPOC holds
    groups_reason: Answer
    blended: Answer
    criteria: Dict[str, Dict[str, Criterion]]  # format -> key -> criterion
    fillers: Dict[str, List[Answer]]  # format -> general reasons
    replies: Dict[str, Entry]
    combine: Dict[str, Entry]
    runner_up_when: Dict[str, Entry]

    @root_validator(skip_on_failure=True)
    def complete(cls, values):
        missing = [f"thresholds.{key}" for key in THRESHOLDS if key not in values["thresholds"]]
        missing += [f"{section}.{key}" for section, keys in REQUIRED_ENTRIES.items()
                    for key in keys if key not in values[section]]
        missing += [f"{section}.{fmt}" for section in ("criteria", "fillers") for fmt in FORMATS
                    if fmt not in values[section]]
        if missing:
            raise ValueError(f"missing entries {missing}")
        t = {key: values["thresholds"][key].value for key in THRESHOLDS}
        if not (t["spoc_learners_per_trainer"] <= t["spoc_max_learners"]
                < t["mooc_massive_learners"]):
            raise ValueError("expected spoc_learners_per_trainer <= spoc_max_learners "
                             "< mooc_massive_learners")
        if _placeholders(values["groups"].text) - set(THRESHOLDS):
            raise ValueError("groups.text may only use the thresholds as placeholders")
        return values


# ------------------------------------------------------------ data/form_answers.yml


class FormAnswersFile(BaseModel):
    """The sections the dialog reads; their phrase lists stay plain YAML."""
    audience: Dict[str, List[str]]
    goal: Dict[str, List[str]]
    coaching: Dict[bool, List[str]]
    face_to_face: Dict[bool, List[str]]
    own_resources: Dict[bool, List[str]]
    theme: Dict[str, List[str]]
    exchanges: Dict[bool, List[str]]
    open_to_all: Dict[bool, List[str]]
    not_the_learners: List[str]
    when_asked: Dict[str, Dict[Any, List[str]]]
    any_question: Dict[Any, List[str]]
    questions: Dict[str, Dict[str, Any]]
    messages: Dict[str, str]
    noted: Dict[str, Dict[Any, str]]
    hints: Dict[str, str]
    open_answers: Dict[str, Dict[str, Any]]
    explanations: Dict[str, str]

    @root_validator(skip_on_failure=True)
    def every_question_is_explained(cls, values):
        missing = set(values["questions"]) - set(values["explanations"])
        if missing:
            raise ValueError(f"explanations: missing for {', '.join(sorted(missing))}")
        return values

    @root_validator(skip_on_failure=True)
    def choices_are_known(cls, values):
        for slot, allowed in (("audience", AUDIENCES), ("goal", GOALS), ("theme", THEMES)):
            if set(values[slot]) != set(allowed):
                raise ValueError(f"{slot}: expected the values {', '.join(allowed)}")
        return values


# ------------------------------------------------------------ loading


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def parse(model: type, data: Any, file_name: str) -> Any:
    """`model` from `data`; a ValueError that names the file on a bad edit."""
    try:
        return model.parse_obj(data)
    except ValueError as exc:
        raise ValueError(f"{file_name}: {exc}") from exc


@lru_cache(maxsize=None)
def knowledge(path: Optional[Path] = None) -> KnowledgeFile:
    return parse(KnowledgeFile, read_yaml(path or DATA / "knowledge.yml"), "knowledge.yml")


@lru_cache(maxsize=None)
def recommendation(path: Optional[Path] = None) -> RecommendationFile:
    return parse(RecommendationFile, read_yaml(path or DATA / "recommendation.yml"),
                 "recommendation.yml")


@lru_cache(maxsize=1)
def form_answers() -> Dict[str, Any]:
    """The file as read (the dialog looks phrases up by section), once checked."""
    data = read_yaml(DATA / "form_answers.yml")
    parse(FormAnswersFile, data, "form_answers.yml")
    return data


# ------------------------------------------------------------ generated training data


def topic_intents(k: KnowledgeFile) -> List[str]:
    """The intents that ask about a topic, in registry order."""
    return [f"ask_{topic}" for topic, entry in k.topics.items() if entry.asked]


def _rule(name: str, intents: List[str], steps: List[Dict[str, Any]],
          in_dialog: bool) -> Dict[str, Any]:
    rule: Dict[str, Any] = {"rule": name}
    if in_dialog:
        rule["condition"] = [{"active_loop": "recommendation_form"}]
    rule["steps"] = [{"or": [{"intent": intent} for intent in intents]}] + steps
    return rule


def lookup_and_synonyms(k: KnowledgeFile) -> Dict[str, Any]:
    """NLU data: every spelling is a `format` (lookup table) meaning its format's id."""
    nlu: List[Dict[str, Any]] = [{"lookup": "format", "examples": _Literal("".join(
        f"- {spelling}\n" for entry in k.formats.values() for spelling in entry.spellings))}]
    nlu += [{"synonym": fmt, "examples": _Literal("".join(f"- {s}\n" for s in entry.spellings))}
            for fmt, entry in k.formats.items()]
    return {"version": "3.1", "nlu": nlu}


def topic_rules(k: KnowledgeFile) -> Dict[str, Any]:
    """The rules that answer a question on any topic, also within the dialog."""
    intents = topic_intents(k) + ["inform_format"]
    answer = {"action": "action_answer_question"}
    back = {"action": "recommendation_form"}, {"active_loop": "recommendation_form"}
    return {"version": "3.1", "rules": [
        _rule("Answer a question about a format", intents, [answer], in_dialog=False),
        _rule("A question in the middle of the dialog, then back to it", intents,
              [dict(answer), *back], in_dialog=True),
    ]}


class _Literal(str):
    pass


yaml.SafeDumper.add_representer(
    _Literal, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text,
                                                           style="|"))

HEADER = """\
# GENERATED by `python -m assistant.content` (run by `make train`) from the {registry}
# registry in data/knowledge.yml. Do not edit: edit data/knowledge.yml.
# {note}
"""
# The generated files (in data/): the registry each is made from, what it does, how.
GENERATED = {
    "nlu/formats.yml": ("format", "RegexEntityExtractor finds these spellings (case-insensitive, "
                        "whole words);\n# the synonyms map each one to its format's id.",
                        lookup_and_synonyms),
    "topic_rules.yml": ("topic", "A question on any topic is answered, also in the middle of "
                        "the recommendation dialog.", topic_rules),
}


def generated(k: KnowledgeFile) -> Dict[str, str]:
    """The text of each generated file, by its path in data/."""
    return {name: HEADER.format(registry=registry, note=note) + yaml.safe_dump(
                make(k), sort_keys=False, allow_unicode=True, width=100)
            for name, (registry, note, make) in GENERATED.items()}


def write_generated(k: Optional[KnowledgeFile] = None, data: Optional[Path] = None) -> List[str]:
    """Writes the generated files whose content changed (so that an answer edit does not
    retrain); returns their names."""
    data = data or DATA
    written = []
    for name, text in generated(k or knowledge()).items():
        path = data / name
        if not (path.exists() and path.read_text(encoding="utf-8") == text):
            path.write_text(text, encoding="utf-8")
            written.append(name)
    return written


if __name__ == "__main__":
    written = write_generated()
    print(f"data/: {', '.join(written) or 'generated files up to date'}", file=sys.stderr)
