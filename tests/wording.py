"""The bot's editable wording, read from the content files (domain.yml's responses and
data/*.yml), so that tests recognise a reply by what the files say today: rewording a
sentence there fails no test that isn't about the sentence's facts.

  said(template, reply)   the reply is this wording ({placeholders} stand for anything)
  within(template, reply) the wording is part of the reply
  opens(template, reply)  the reply starts with it (the words before the first placeholder)
  filled(template, reply) what the reply put in the placeholders (None: not this wording)
  fill(template, **values) some placeholders filled in, the others still standing for anything
"""
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=None)
def _file(name: str) -> Dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def response(name: str) -> str:
    """The text of a domain.yml response (its first variant)."""
    return _file("domain.yml")["responses"][name][0]["text"]


def response_buttons(name: str) -> List[Dict[str, str]]:
    return _file("domain.yml")["responses"][name][0].get("buttons", [])


def handoff(key: str) -> str:
    return _file("data/handoff.yml")[key]


def form(*path: str) -> Any:
    """A value of data/form_answers.yml: form("questions", "audience", "text")."""
    value = _file("data/form_answers.yml")
    for key in path:
        value = value[key]
    return value


def question(slot: str) -> str:
    """The dialog's question for a slot."""
    return form("questions", slot, "text")


def answer(fmt: str, topic: str) -> str:
    """A format's own answer to a topic in data/knowledge.yml."""
    return _file("data/knowledge.yml")["answers"][fmt][topic]["text"]


def general(topic: str) -> str:
    return _file("data/knowledge.yml")["general"][topic]["text"]


def recommendation(*path: str) -> Any:
    """A value of data/recommendation.yml: recommendation("reasons", "x", "text")."""
    value = _file("data/recommendation.yml")
    for key in path:
        value = value[key]
    return value


def criterion(fmt: str, key: str) -> str:
    """What a criterion of data/recommendation.yml says (its `supports` or `conflicts`)."""
    entry = recommendation("criteria", fmt, key)
    return entry.get("supports") or entry["conflicts"]


def format_name(fmt: str) -> str:
    """How the format registry of data/knowledge.yml names a format: "an internal COOC"."""
    entry = _file("data/knowledge.yml")["formats"][fmt]
    return f"{entry['article']} {entry['name']}".strip()


def fill(template: str, **values: Any) -> str:
    """The template with these placeholders filled in ({learners_text}, {what}, ...)."""
    return re.sub(r"\{(\w+)[^{}]*\}", lambda m: str(values[m.group(1)])
                  if m.group(1) in values else m.group(0), template)


def _pattern(template: str) -> str:
    parts = re.split(r"\{[^{}]*\}", " ".join(template.split()))
    return ".+?".join(re.escape(part) for part in parts)


def filled(template: str, reply: str) -> Optional[Dict[str, str]]:
    """Where `template` is part of `reply`: what stands in each placeholder; else None."""
    pattern, names = "", set()
    for text, name in re.findall(r"([^{}]*)(?:\{(\w*)[^{}]*\}|$)", " ".join(template.split())):
        pattern += re.escape(text)
        if name and name not in names:
            pattern += f"(?P<{name}>.+?)"
            names.add(name)
        elif name:
            pattern += f"(?P={name})"
    match = re.search(pattern, " ".join(reply.split()), re.DOTALL)
    return match.groupdict() if match else None


def said(template: str, reply: str) -> bool:
    """Whether `reply` is `template` with its placeholders filled in."""
    return re.fullmatch(_pattern(template), " ".join(reply.split()), re.DOTALL) is not None


def within(template: str, reply: str) -> bool:
    """Whether `template`, placeholders filled in, is part of `reply`."""
    return re.search(_pattern(template), " ".join(reply.split()), re.DOTALL) is not None


def opens(template: str, reply: str) -> bool:
    """Whether `reply` starts with the words of `template` before its first placeholder."""
    return " ".join(reply.split()).startswith(" ".join(re.split(r"\{", template)[0].split()))


def topic(name: str) -> Dict[str, Any]:
    """A topic of data/knowledge.yml: its `silent` phrase ({format} to fill in), its `offer`."""
    return _file("data/knowledge.yml")["topics"][name]
