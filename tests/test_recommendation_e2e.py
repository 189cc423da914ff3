"""Whole recommendation dialogs over the REST channel, against the real servers."""
from pathlib import Path
from typing import Dict, List

import pytest

from tests.stack import ROOT, RasaStack, texts

TRANSCRIPTS = ROOT / "artifacts" / "transcripts"
# Answers by a piece of each question's wording.
QUESTIONS = {
    "Who are the learners": "audience",
    "How many learners": "learners",
    "main goal": "goal",
    "individual coaching": "coaching",
    "face-to-face": "face_to_face",
    "resources to build": "own_resources",
    "private to your organisation": "open_to_all",
}


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    with RasaStack(tmp_path_factory.mktemp("recommend")) as stack:
        yield stack


class Dialog:
    def __init__(self, bot: RasaStack, name: str):
        self.bot, self.name, self.lines = bot, name, []

    def say(self, message: str) -> str:
        reply = texts(self.bot.say(self.name, message))
        self.lines += [f"User: {message}", *[f"Bot:  {line}" for line in reply.splitlines()]]
        return reply

    def save(self) -> None:
        TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
        (TRANSCRIPTS / f"{self.name}.txt").write_text("\n".join(self.lines) + "\n")


def asked(reply: str) -> List[str]:
    return [slot for words, slot in QUESTIONS.items() if words in reply]


def answer_until_recommended(dialog: Dialog, reply: str, answers: Dict[str, str]) -> List[str]:
    """Answers each question from `answers` until the recommendation; returns the slots asked."""
    questions = []
    for _ in range(len(QUESTIONS) + 1):
        if "I recommend" in reply:
            return questions
        pending = asked(reply)
        assert pending, f"no question and no recommendation in: {reply!r}"
        questions.append(pending[-1])
        reply = dialog.say(answers[pending[-1]])
    raise AssertionError("the dialog never ended")


def recommendation(dialog: Dialog) -> str:
    return next(line for line in reversed(dialog.lines) if "I recommend" in line)


@pytest.mark.parametrize("opening,answers,expected", [
    ("which format should I choose?",
     {"audience": "the general public", "learners": "a few thousand", "goal": "free access to knowledge",
      "coaching": "no", "face_to_face": "no", "own_resources": "no", "open_to_all": "open to all"},
     "I recommend a MOOC"),
    ("help me pick a training format",
     {"audience": "a team of experts", "learners": "twelve", "goal": "solving productivity problems",
      "coaching": "yes", "face_to_face": "yes", "own_resources": "yes", "open_to_all": "private"},
     "I recommend a SPOC"),
    ("MOOC, COOC or SPOC for us?",
     {"audience": "our customers and partners", "learners": "2k", "goal": "customer loyalty",
      "coaching": "no", "face_to_face": "no", "own_resources": "yes",
      "open_to_all": "open to all internet users"},
     "I recommend an external COOC"),
    ("recommend a format",
     {"audience": "our employees", "learners": "between 150 and 300", "goal": "onboarding new hires",
      "coaching": "no", "face_to_face": "no", "own_resources": "yes", "open_to_all": "private"},
     "I recommend an internal COOC"),
])
def test_whole_dialogs_end_with_the_expected_format(bot, opening, answers, expected):
    dialog = Dialog(bot, f"dialog-{expected.split()[-1]}-{len(answers['learners'])}")
    questions = answer_until_recommended(dialog, dialog.say(opening), answers)
    dialog.save()
    assert recommendation(dialog).startswith(f"Bot:  {expected}"), dialog.lines
    assert len(questions) == len(set(questions)), "a question was asked twice"


def test_prefilled_answers_are_not_asked_again_and_a_question_and_a_correction_fit_in(bot):
    dialog = Dialog(bot, "interruption-and-correction")
    reply = dialog.say("We need to train 12 project managers who need coaching")
    assert asked(reply) == ["goal"]
    reply = dialog.say("wait, what's a SPOC?")
    assert "Small Private Online Course" in reply and asked(reply) == ["goal"]
    reply = dialog.say("solving our team's productivity problems")
    assert asked(reply) == ["face_to_face"]
    reply = dialog.say("actually it's 200 people")
    assert "updated" in reply and asked(reply) == ["face_to_face"]
    questions = answer_until_recommended(dialog, reply, {
        "face_to_face": "no", "own_resources": "yes", "open_to_all": "private"})
    dialog.save()
    assert not {"audience", "learners", "coaching"} & set(questions)
    # 200 learners is more than a SPOC's 50, so the correction changed the answer.
    assert "SPOC" not in recommendation(dialog).split("(")[0]
    follow_up = dialog.say("how long does it last?")
    assert "Sorry" in follow_up or "weeks" in follow_up


def test_bad_counts_are_refused_then_the_question_is_explained(bot):
    dialog = Dialog(bot, "bad-counts")
    dialog.say("which format should I choose?")
    assert asked(dialog.say("our employees")) == ["learners"]
    assert "at least one learner" in dialog.say("0")
    assert dialog.say("minus three").startswith("I ask because size matters")
    assert asked(dialog.say("about 40")) == ["goal"]


def test_cancel_keeps_the_answers_and_resume_picks_up(bot):
    dialog = Dialog(bot, "cancel")
    dialog.say("which format should I choose?")
    dialog.say("our employees")
    assert "stopped the recommendation" in dialog.say("never mind")
    assert "Massive Open Online Course" in dialog.say("What is a MOOC?")
    assert asked(dialog.say("/request_recommendation")) == ["learners"]


def test_start_over_forgets_the_answers(bot):
    dialog = Dialog(bot, "restart")
    dialog.say("which format should I choose?")
    dialog.say("our employees")
    reply = dialog.say("let's start over")
    assert "start over" in reply and asked(reply) == ["audience"]
