"""A scripted user in a REST conversation: sends messages, keeps the transcript and
recognises which question of the recommendation dialog the bot just asked."""
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from assistant import content, dialog_answers, knowledge
from assistant.learner_count import PROBLEMS
from devstack import ROOT, RasaStack, texts

TRANSCRIPTS = ROOT / "artifacts" / "transcripts"


def domain_text(response: str) -> str:
    with (ROOT / "domain.yml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)["responses"][response][0]["text"]


def _asking(slot: str) -> Tuple[str, ...]:
    """How the bot asks for a slot, as data/form_answers.yml words it: the question, its
    re-ask after an answer it couldn't read (the hint), and for the learner count the
    domain responses that say why a count was refused (utter_learners_<problem>)."""
    texts = [dialog_answers.question(slot)["text"], dialog_answers.hint(slot)]
    if slot == "learners":
        texts += [domain_text(f"utter_learners_{problem}") for problem in PROBLEMS]
    return tuple(" ".join(text.split()) for text in texts)


# Each question of the recommendation dialog (some asked only when the answer can still
# change the recommendation), by the ways it is asked.
QUESTIONS = {slot: _asking(slot) for slot in dialog_answers.FORM_SLOTS}
# How a recommendation names each format ("I recommend an internal COOC ...").
FORMATS = {knowledge.display_name(fmt, with_article=True): fmt for fmt in content.FORMATS}


class Dialog:
    def __init__(self, bot: RasaStack, name: str):
        self.bot, self.name, self.lines = bot, name, []
        self.last_message = ""

    def say(self, message: str) -> str:
        replies = self.bot.say(self.name, message)
        reply = texts(replies)
        self.last_message = replies[-1].get("text", "") if replies else ""
        self.lines += [f"User: {message}", *[f"Bot:  {line}" for line in reply.splitlines()]]
        return reply

    def save(self, folder: Path = TRANSCRIPTS) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.name}.txt").write_text("\n".join(self.lines) + "\n")


def asked(reply: str) -> List[str]:
    """The questions a reply asks (the last one is pending)."""
    last = " ".join(reply.strip().splitlines()[-1].split()) if reply.strip() else ""
    return [slot for slot, texts in QUESTIONS.items() if any(text in last for text in texts)]


def recommended_format(reply: str) -> Optional[str]:
    for line in reply.splitlines():
        if line.startswith("I recommend "):
            return next((fmt for name, fmt in FORMATS.items()
                         if line.startswith(f"I recommend {name}")), "unknown")
    return None


# What a scripted user without an answer for a question says (the questions asked only
# when they matter may come up for a user whose script predates them).
NO_SCRIPTED_ANSWER = "not sure"


def answer_until_recommended(dialog: Dialog, reply: str, answers: Dict[str, str],
                             midway: Optional[Dict[str, str]] = None,
                             max_turns: int = 20) -> Dict[str, int]:
    """Answers each question from `answers` (sending `midway[slot]` once before that
    answer; "not sure" to a question `answers` has nothing for) until the
    recommendation. Returns how often each question was asked in reply to an answer
    (the re-ask after a midway message is not counted)."""
    midway = dict(midway or {})
    counts: Dict[str, int] = {}
    after_midway = False
    for _ in range(max_turns):
        if recommended_format(reply):
            return counts
        pending = asked(reply)
        assert pending, f"no question and no recommendation in: {reply!r}"
        slot = pending[-1]
        if not after_midway:
            counts[slot] = counts.get(slot, 0) + 1
        if slot in midway:
            reply, after_midway = dialog.say(midway.pop(slot)), True
            continue
        reply, after_midway = dialog.say(answers.get(slot, NO_SCRIPTED_ANSWER)), False
    raise AssertionError(f"no recommendation after {max_turns} turns")


def run_manager(bot: RasaStack, name: str, manager: Dict, folder: Path) -> Dict:
    """One simulated manager's whole dialog (its opening, then its scripted answers until
    the recommendation); the transcript is saved in `folder`. Returns the outcome: the
    format recommended (None and the error when there was none) and how often the most
    asked question was asked."""
    dialog = Dialog(bot, f"{name}-{manager['id']}-{uuid.uuid4().hex[:6]}")
    outcome = {"id": manager["id"], "expected": manager["expected"]}
    try:
        counts = answer_until_recommended(dialog, dialog.say(manager["opening"]),
                                          manager["answers"], manager.get("midway"))
        outcome["format"] = recommended_format("\n".join(
            line[6:] for line in dialog.lines if line.startswith("Bot:  ")))
        outcome["max_asked"] = max(counts.values(), default=0)
    except AssertionError as error:
        outcome.update(format=None, error=str(error)[:300], max_asked=0)
    dialog.save(folder)
    return outcome


def opening(text: str) -> str:
    """What every variant of a reply starts with: its text up to the first placeholder."""
    return text.split("{", 1)[0].strip()


REFUSALS = ("utter_out_of_scope", "utter_default", "utter_training_logistics",
            "utter_instructions")


@lru_cache(maxsize=1)
def refusing_openings() -> tuple:
    """The first words of the replies that decline, read from domain.yml (so a wording
    edit there changes no test): off-subject, "please rephrase", training logistics and
    instructions."""
    return tuple(opening(domain_text(name)) for name in REFUSALS)


@lru_cache(maxsize=1)
def handoff_openings() -> tuple:
    """The first words of the hand-off's offer and of its "who can help" replies."""
    with (ROOT / "data" / "handoff.yml").open(encoding="utf-8") as f:
        handoff = yaml.safe_load(f)
    return tuple(opening(handoff[key]) for key in ("offer", "unavailable", "no_contact"))


def declines(reply: str) -> bool:
    """An in-subject message declined: no reply, or a refusal."""
    return not reply.strip() or reply.lstrip().startswith(refusing_openings())


def declines_or_redirects(reply: str) -> bool:
    """An off-subject message handled: declined, or told who can help (the hand-off)."""
    return declines(reply) or reply.lstrip().startswith(handoff_openings())
