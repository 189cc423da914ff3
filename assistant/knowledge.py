"""Answers about training formats, read from data/knowledge.yml.

Plain Python with no Rasa imports, so the rules are easy to test. The facts live in
the YAML file, which a training manager can edit; the sentences around them ("Sorry,
the article I learned from doesn't say ...") are domain responses.
"""
from typing import Dict, Iterable, List, Optional, Tuple

from assistant import content
from assistant.content import KnowledgeFile


def load() -> KnowledgeFile:
    """data/knowledge.yml, read and checked once (assistant/content.py)."""
    return content.knowledge()


def format_names() -> List[str]:
    return list(load().formats)


def display_name(fmt: str, with_article: bool = False) -> str:
    info = load().formats[fmt]
    if with_article and info.article:
        return f"{info.article} {info.name}"
    return info.name


# A format a question means without naming it ("why is it called massive?", "and the
# internal one?"), as the implied-format reader reads it (data/answers/implied_format.yml,
# components/answer_reader.py), from this confidence on.
IMPLIED_FORMAT = "implied_format"
IMPLIED_FORMAT_CONFIDENCE = 0.6


def implied_format(readings: Optional[Dict]) -> Optional[str]:
    """The format a message describes without naming it, or None."""
    reading = (readings or {}).get(IMPLIED_FORMAT) or {}
    value = reading.get("value")
    if value in load().formats and reading.get("confidence", 0.0) >= IMPLIED_FORMAT_CONFIDENCE:
        return value
    return None


def general_topics() -> List[str]:
    return [topic for topic, entry in load().topics.items() if entry.general]


def _own_text(fmt: str, topic: str) -> Optional[str]:
    entry = load().answers.get(fmt, {}).get(topic)
    return entry.line if entry else None


def find_answer(topic: str, fmt: str) -> Optional[str]:
    """The article's answer on `topic` for `fmt`, or None where it is silent.

    A sub-format (internal or external COOC) falls back to its parent format.
    """
    while fmt:
        text = _own_text(fmt, topic)
        if text:
            return text
        fmt = load().formats[fmt].parent
    return None


def known_topics(fmt: str) -> List[str]:
    """Topics the article covers for `fmt` (own and inherited), in file order."""
    data = load()
    topics: List[str] = []
    while fmt:
        for topic in data.answers.get(fmt, {}):
            if topic not in topics and data.topics[topic].offer:
                topics.append(topic)
        fmt = data.formats[fmt].parent
    return [t for t in data.topics if t in topics]


def _join(items: List[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def silent(topic: str, fmt: str) -> Tuple[str, Dict[str, str]]:
    """Where the article does not cover `topic` for `fmt`: the domain response that
    says so (utter_article_silent*, domain.yml), and the values it is filled with."""
    data = load()
    values = {"silent": data.topics[topic].silent.format(
        format=display_name(fmt, with_article=True))}
    offers = [data.topics[t].offer for t in known_topics(fmt) if t != topic]
    if not offers:
        return "utter_article_silent", values
    return "utter_article_silent_offer", {**values, "offers": _join(offers)}


def general_answer(topic: str) -> str:
    return load().general[topic].line


# A comparison is about one aspect ("mooc vs spoc: which is bigger?") when, among the
# intent classifier's probabilities for these topics, one holds this share. Plain
# comparisons spread it or lean to the definition (checked on comparisons of each kind).
ASPECTS = ("goals", "audience", "group_size", "content", "duration", "rewards", "cost")
ASPECT_SHARE = 0.7


def compared_aspect(intent_ranking: Iterable[Dict]) -> Optional[str]:
    """The one topic a comparison asks about, from the intent ranking, or None."""
    scores = {i.get("name"): i.get("confidence", 0.0) for i in intent_ranking}
    shares = {topic: scores.get(f"ask_{topic}", 0.0) for topic in ASPECTS}
    total = sum(scores.get(f"ask_{t}", 0.0) for t in (*ASPECTS, "definition", "history"))
    best = max(shares, key=shares.get)
    return best if total and shares[best] / total >= ASPECT_SHARE else None


def comparison(formats: Iterable[str], aspect: Optional[str] = None) -> str:
    """One line per format (its summary, else its definition; or its answer on `aspect`
    when the article has one for each), for the response utter_comparison (domain.yml).

    Fewer than two formats named: compare them with the main three.
    """
    chosen = list(dict.fromkeys(formats))
    if len(chosen) < 2:
        chosen += [f for f in load().compare_default if f not in chosen]
    if aspect and all(find_answer(aspect, fmt) for fmt in chosen):
        return "\n".join(f"• {display_name(fmt)}: {find_answer(aspect, fmt)}" for fmt in chosen)
    lines = []
    for fmt in chosen:
        text = _own_text(fmt, "summary") or _own_text(fmt, "definition")
        # A definition that names its format reads as one sentence, without a label.
        lines.append(f"• {text}" if display_name(fmt) in text.split(".")[0]
                     else f"• {display_name(fmt)}: {text}")
    return "\n".join(lines)
