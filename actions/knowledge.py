"""Answers about training formats, read from data/knowledge.yml.

Plain Python with no Rasa imports, so the wording rules are easy to test. The
facts themselves live in the YAML file, which a training manager can edit.
"""
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml

KNOWLEDGE_FILE = Path(__file__).resolve().parents[1] / "data" / "knowledge.yml"


@lru_cache(maxsize=1)
def load() -> Dict:
    with KNOWLEDGE_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def format_names() -> List[str]:
    return list(load()["formats"])


def display_name(fmt: str, with_article: bool = False) -> str:
    info = load()["formats"][fmt]
    if with_article and info["article"]:
        return f"{info['article']} {info['name']}"
    return info["name"]


def _own_text(fmt: str, topic: str) -> Optional[str]:
    entry = load()["answers"].get(fmt, {}).get(topic)
    return " ".join(entry["text"].split()) if entry else None


def find_answer(topic: str, fmt: str) -> Optional[str]:
    """The article's answer on `topic` for `fmt`, or None where it is silent.

    A sub-format (internal or external COOC) falls back to its parent format.
    """
    while fmt:
        text = _own_text(fmt, topic)
        if text:
            return text
        fmt = load()["formats"][fmt].get("parent")
    return None


def known_topics(fmt: str) -> List[str]:
    """Topics the article covers for `fmt` (own and inherited), in file order."""
    data = load()
    topics: List[str] = []
    while fmt:
        for topic in data["answers"].get(fmt, {}):
            if topic not in topics and topic != "summary":
                topics.append(topic)
        fmt = data["formats"][fmt].get("parent")
    return [t for t in data["topics"] if t in topics]


TOPIC_LABELS = {
    "definition": "what it is",
    "goals": "its goals",
    "audience": "who it's for",
    "group_size": "group size",
    "content": "what's inside",
    "duration": "how long it lasts",
    "rewards": "rewards",
    "cost": "cost",
    "history": "its history",
    "pronunciation": "how to say it",
}


def _join(items: List[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def silent_answer(topic: str, fmt: str) -> str:
    """What the bot says when the article does not cover `topic` for `fmt`."""
    data = load()
    phrase = data["topics"][topic].format(format=display_name(fmt, with_article=True))
    offers = [TOPIC_LABELS[t] for t in known_topics(fmt) if t != topic]
    reply = f"Sorry, the article I learned from doesn't say {phrase}."
    if offers:
        reply += f" I can tell you {_join(offers)}."
    return reply


def answer(topic: str, fmt: str) -> str:
    return find_answer(topic, fmt) or silent_answer(topic, fmt)


def message(key: str) -> str:
    return " ".join(load()["messages"][key].split())


def general_answer(topic: str) -> str:
    return " ".join(load()["general"][topic]["text"].split())


def comparison(formats: Iterable[str]) -> str:
    """One line per format (its summary, else its definition).

    Fewer than two formats named: compare them with the main three.
    """
    chosen = list(dict.fromkeys(formats))
    if len(chosen) < 2:
        chosen += [f for f in load()["compare_default"] if f not in chosen]
    lines = []
    for fmt in chosen:
        text = _own_text(fmt, "summary") or _own_text(fmt, "definition")
        # A definition that names its format reads as one sentence, without a label.
        lines.append(f"• {text}" if display_name(fmt) in text.split(".")[0]
                     else f"• {display_name(fmt)}: {text}")
    return "Here is how they differ:\n" + "\n".join(lines)
