"""The recommendation in words: a short first message (the format, one reason or the
trade-off, at most FIRST_MESSAGE_MAX characters) and the details behind its "Why?" button
(reasons, conflicts, open answers, runner-up, what can coexist).

Pure Python, no Rasa import. Texts come from data/recommendation.yml (article
content) and data/form_answers.yml (how the user's answers are worded).
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Sequence, Tuple

from assistant import dialog_answers, recommender
from assistant.learner_count import as_count
from assistant.recommendation_rules import RecommendationRules, load_rules
from assistant.recommender import Profile, Recommendation

FIRST_MESSAGE_MAX = 320  # a phone screen


def headline(rec: Recommendation, k: Optional[RecommendationRules] = None,
             with_expansion: bool = True) -> str:
    """ "I recommend a SPOC (Small Private Online Course), combined with ..." """
    k = k or load_rules()
    text = f"I recommend {k.label(rec.format, with_expansion)}"
    if rec.groups:
        text += f", {k.groups}"
    if rec.blended:
        text += f", {k.blended}"
    return text + "."


def answers(pairs: Sequence[Tuple[str, Any]]) -> str:
    """ "selected experts or one team, 10 learners and individual coaching" """
    words = [dialog_answers.describe({slot: as_count(value) if slot == "learners"
                                      else value}) for slot, value in pairs]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def runner_up_line(rec: Recommendation, k: Optional[RecommendationRules] = None) -> str:
    k = k or load_rules()
    runner = k.label(rec.runner_up, with_expansion=False)
    if rec.runner_up_change is None:
        return f"Runner-up: {runner}, {k.text('runner_up_when', 'next_best')}."
    slot, value = rec.runner_up_change
    condition = dialog_answers.open_answer(slot)["values"][value]
    return f"Runner-up: {runner}, which would be the better choice {condition}."


def _second_lines(rec: Recommendation, k: RecommendationRules) -> List[str]:
    """What may follow the headline, longest first: the trade-off when an answer conflicts
    with the format (every conflicting answer named), else the strongest reason."""
    if rec.against:
        against = answers(rec.against)
        matters = ([" " + k.text("replies", "if_it_matters", alternative=k.label(
            rec.alternative, with_expansion=False))] if rec.alternative else [])
        return [k.text("replies", "trade_off", fits=answers(rec.fits), against=against) + m
                for m in matters + [""]] + [
                k.text("replies", "trade_off_short", against=against) + m
                for m in matters + [""]]
    return [rec.reasons[0], k.text("replies", "fits", fits=answers(rec.fits))]


def render_short(rec: Recommendation, k: Optional[RecommendationRules] = None,
                 open_changes: int = 0) -> str:
    """The first message: the format, one reason or the trade-off, and one line when some
    open answers could change it; the longest wording that fits FIRST_MESSAGE_MAX."""
    k = k or load_rules()
    tails: List[List[str]] = [[]]
    if open_changes == 1:
        tails = [[k.text("replies", key)] for key in ("one_open", "one_open_short")]
    elif open_changes > 1:
        tails = [[k.text("replies", key, count=_number(open_changes))]
                 for key in ("some_open", "some_open_short")]
    texts = ["\n".join([headline(rec, k, expansion), second] + tail)
             for expansion in (True, False) for second in _second_lines(rec, k)
             for tail in tails]
    return next((text for text in texts if len(text) <= FIRST_MESSAGE_MAX), texts[-1])


def _number(n: int) -> str:
    words = ("Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
    return words[n - 2] if 2 <= n <= 9 else str(n)


def open_answer_notes(profile: Profile, open_slots: Iterable[str]) -> Tuple[List[str], int]:
    """For the answers left open: the notes shown under "Why?", and how many of them
    could change the format. A note names another format only when the article ties that
    answer to it (``recommender.answer_that_changes``)."""
    k = load_rules()
    notes, unchanged = [], []
    for slot in open_slots:
        wording = dialog_answers.open_answer(slot)
        change = recommender.answer_that_changes(profile, slot, list(wording["values"]), k)
        if change is None:
            unchanged.append(wording["what"])
            continue
        value, fmt = change
        notes.append(dialog_answers.message(
            "open_answer_matters", what=wording["what"], condition=wording["values"][value],
            format=k.label(fmt, with_expansion=False)))
    changing = len(notes)
    if unchanged:
        notes.append(dialog_answers.message("open_answers_intro", what=" or ".join(unchanged)))
    return notes, changing


def render_details(rec: Recommendation, k: Optional[RecommendationRules] = None,
                   notes: Sequence[str] = ()) -> str:
    """The answer to "Why?": every reason, every conflict, the open answers, the runner-up,
    what can coexist. The format's expansion was given in the headline already."""
    k = k or load_rules()
    name = k.label(rec.format, with_expansion=False).split(" ", 1)[1]
    lines: List[str] = [f"Why the {name}:"]
    lines += [f"- {reason}" for reason in rec.reasons]
    lines += [f"Note: {tension}" for tension in rec.tensions]
    lines += list(notes)
    lines.append(runner_up_line(rec, k))
    if rec.combine:
        lines.append(rec.combine)
    return "\n".join(lines)


def render(rec: Recommendation, k: Optional[RecommendationRules] = None) -> str:
    """Everything in one message (``rasa shell``-style transcripts, tests)."""
    return f"{headline(rec, k)}\n" + render_details(rec, k).split("\n", 1)[1]
