"""The recommendation in words: a short reply (the format and one line on why) and
the details behind its "Why?" button (reasons, notes, runner-up, what can coexist).

Pure Python, no Rasa import. Texts come from data/recommendation.yml (article
content) and data/form_answers.yml (how the user's answers are worded).
"""

from __future__ import annotations

from typing import List, Optional

from assistant import dialog_answers
from assistant.recommendation_rules import RecommendationRules, load_rules
from assistant.recommender import Recommendation


def headline(rec: Recommendation, k: Optional[RecommendationRules] = None) -> str:
    """ "I recommend a SPOC (Small Private Online Course), combined with ..." """
    k = k or load_rules()
    text = f"I recommend {k.label(rec.format)}"
    if rec.groups:
        text += f", {k.groups}"
    if rec.blended:
        text += f", {k.blended}"
    return text + "."


def runner_up_line(rec: Recommendation, k: Optional[RecommendationRules] = None) -> str:
    k = k or load_rules()
    runner = k.label(rec.runner_up, with_expansion=False)
    if rec.runner_up_change is None:
        return f"Runner-up: {runner}, {k.text('runner_up_when', 'next_best')}."
    slot, value = rec.runner_up_change
    condition = dialog_answers.open_answer(slot)["values"][value]
    return f"Runner-up: {runner}, which would be the better choice {condition}."


def render_short(rec: Recommendation, k: Optional[RecommendationRules] = None) -> str:
    """What fits on a phone screen: the format and its strongest reason."""
    return f"{headline(rec, k)}\n{rec.reasons[0]}"


def render_details(rec: Recommendation, k: Optional[RecommendationRules] = None) -> str:
    """The answer to "Why?": every reason, the notes, the runner-up, what can coexist.
    The format's expansion was given in the headline already: not repeated here."""
    k = k or load_rules()
    name = k.label(rec.format, with_expansion=False).split(" ", 1)[1]
    lines: List[str] = [f"Why the {name}:"]
    lines += [f"- {reason}" for reason in rec.reasons]
    lines += [f"Note: {tension}" for tension in rec.tensions]
    lines.append(runner_up_line(rec, k))
    if rec.combine:
        lines.append(rec.combine)
    return "\n".join(lines)


def render(rec: Recommendation, k: Optional[RecommendationRules] = None) -> str:
    """Everything in one message (``rasa shell``-style transcripts, tests)."""
    return f"{headline(rec, k)}\n" + render_details(rec, k).split("\n", 1)[1]
