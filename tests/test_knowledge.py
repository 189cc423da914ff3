"""The knowledge base says only what the article says, and says so when it can't."""
import hashlib
import re
from pathlib import Path

import pytest
import yaml

from assistant import knowledge
from tests.wording import answer, response, said

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_COPY = ROOT / "docs" / "source-article.txt"
SHARED_ARTICLE = ROOT.parent / "shared" / "seed" / "000_a33449038a87945a.txt"


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


ARTICLE = normalise(ARTICLE_COPY.read_text(encoding="utf-8"))
RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def reply_to(topic: str, fmt: str) -> str:
    """What action_answer_question says: the answer, or the domain response admitting
    the article's silence, filled in as Rasa fills it."""
    answer = knowledge.find_answer(topic, fmt)
    if answer:
        return answer
    response, values = knowledge.silent(topic, fmt)
    return RESPONSES[response][0]["text"].format(**values)


def all_entries():
    data = knowledge.load()
    for fmt, topics in data.answers.items():
        for topic, entry in topics.items():
            yield f"{fmt}/{topic}", entry
    for topic, entry in data.general.items():
        yield f"general/{topic}", entry
    for fmt, entry in data.formats.items():
        if entry.sources:
            yield f"formats/{fmt}", entry


# The seed article's SHA-256 (../shared/seed/000_a33449038a87945a.txt, checked on 2026-12-06),
# so that a clone without the shared folder beside it still checks its copy.
SEED_SHA256 = "3c1116a655603856824b739d5929942204728e8775a0cca1f565918e3ebae9be"


def test_article_copy_matches_the_shared_seed():
    assert hashlib.sha256(ARTICLE_COPY.read_bytes()).hexdigest() == SEED_SHA256
    if SHARED_ARTICLE.exists():  # beside the workspace's clone: the seed itself
        assert ARTICLE_COPY.read_bytes() == SHARED_ARTICLE.read_bytes()


@pytest.mark.parametrize("key,entry", list(all_entries()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_answer_cites_sentences_that_are_in_the_article(key, entry):
    assert key.startswith("formats/") or entry.text.strip()
    assert entry.sources, f"{key} has no source"
    for sentence in entry.sources:
        assert normalise(sentence) in ARTICLE, f"{key}: not in the article: {sentence!r}"


def test_every_answer_is_about_a_known_format_and_topic():
    data = knowledge.load()
    assert set(data.answers) <= set(data.formats)
    for topics in data.answers.values():
        assert set(topics) <= set(data.topics)


@pytest.mark.parametrize("topic,fmt,expected", [
    ("definition", "spoc", "Small Private Online Course"),
    ("definition", "cooc", "Corporate Online Open Course"),
    ("definition", "mooc", "Massive Open Online Course"),
    ("group_size", "spoc", "fifteen"),
    ("group_size", "spoc", "50"),
    ("group_size", "mooc", "thousands"),
    ("cost", "mooc", "free"),
    ("history", "mooc", "10,000"),
    ("history", "mooc", "universities"),
    ("duration", "mooc", "several weeks"),
    ("pronunciation", "mooc", "mouque"),
    ("pronunciation", "spoc", "spoque"),
    ("pronunciation", "cooc", "couque"),
    ("rewards", "cooc", "Badges"),
    ("audience", "cooc_external", "all Internet users"),
    ("goals", "cooc_external", "e-reputation"),
    ("definition", "blended", "face-to-face"),
    # Sub-formats fall back to the COOC's answer.
    ("rewards", "cooc_internal", "medals"),
])
def test_answers_carry_the_articles_facts(topic, fmt, expected):
    assert expected in reply_to(topic, fmt)


@pytest.mark.parametrize("topic,fmt,named", [
    ("cost", "cooc", "a COOC"),
    ("cost", "spoc", "a SPOC"),
    ("duration", "spoc", "a SPOC"),
    ("duration", "cooc_internal", "an internal COOC"),
    ("history", "spoc", "a SPOC"),
    ("group_size", "blended", "blended learning"),
])
def test_silence_is_admitted_and_other_topics_offered(topic, fmt, named):
    reply = reply_to(topic, fmt)
    topics = knowledge.load().topics
    phrase = topics[topic].silent.format(format=named)
    if fmt == "blended":
        assert said(response("utter_article_silent"), reply)
    else:
        assert said(response("utter_article_silent_offer"), reply)
        offered = reply[len(response("utter_article_silent_offer").split("{offers}")[0]
                             .format(silent=phrase)):]
        assert topics["definition"].offer in offered and topics[topic].offer not in offered
    assert phrase in reply


def test_comparison_of_two_formats_lists_exactly_those():
    reply = knowledge.comparison(["mooc", "spoc"])
    assert reply.splitlines() == [f"• {answer('mooc', 'summary')}", f"• {answer('spoc', 'summary')}"]


def test_comparison_without_formats_covers_the_main_three_with_their_sizes():
    reply = knowledge.comparison([])
    assert reply.splitlines() == [f"• {answer(f, 'summary')}" for f in ("mooc", "cooc", "spoc")]
    assert "thousands" in reply and "fifteen" in reply


def test_comparison_of_one_format_adds_the_others():
    reply = knowledge.comparison(["spoc"])
    assert reply.splitlines()[0] == f"• {answer('spoc', 'summary')}"
    assert answer("mooc", "summary") in reply


def test_internal_and_external_cooc_are_told_apart():
    reply = knowledge.comparison(["cooc_internal", "cooc_external"])
    assert "private community" in reply and "all Internet users" in reply


# ---- a comparison on one aspect compares that aspect
def _ranking(**scores):
    return [{"name": name, "confidence": value} for name, value in scores.items()]


def test_a_comparison_about_one_aspect_is_recognised_from_the_intent_ranking():
    assert knowledge.compared_aspect(_ranking(compare_formats=0.9, ask_group_size=0.09,
                                              ask_goals=0.005)) == "group_size"
    # Spread over several topics, or leaning to the definition: a plain comparison.
    assert knowledge.compared_aspect(_ranking(compare_formats=0.9, ask_content=0.04,
                                              ask_goals=0.03, ask_audience=0.03)) is None
    assert knowledge.compared_aspect(_ranking(compare_formats=0.9, ask_definition=0.08,
                                              ask_goals=0.02)) is None
    assert knowledge.compared_aspect([]) is None


def test_an_aspect_comparison_gives_each_format_its_answer_on_that_aspect():
    lines = knowledge.comparison(["mooc", "spoc"], "group_size").splitlines()
    assert lines == [f"• MOOC: {knowledge.find_answer('group_size', 'mooc')}",
                     f"• SPOC: {knowledge.find_answer('group_size', 'spoc')}"]
    assert knowledge.comparison(["mooc", "spoc"], None) != "\n".join(lines)
