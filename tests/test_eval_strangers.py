"""The gates on evaluation data written by someone who never read data/ or tests/
(tests/eval/, never used for training): whole guided dialogs of simulated training
managers, off-subject messages and in-subject questions, over the REST channel.

Results (per dialog and per message) go to artifacts/eval/ for the README figures.
`EVAL_SET=second_blind pytest tests/test_eval_strangers.py` runs the same checks on the
second blind set (tests/eval/second_blind/, by another stranger; not in `make test`),
results in artifacts/eval/second_blind/.
"""
import json
import os
import re
import shutil
import uuid

import pytest
import yaml

from tests.dialog import declines, declines_or_redirects, run_manager
from devstack import ROOT, RasaStack, texts

pytestmark = pytest.mark.integration  # servers, services or the trained model

EVAL_SET = os.environ.get("EVAL_SET", "")
EVAL = ROOT / "tests" / "eval" / EVAL_SET
RESULTS = ROOT / "artifacts" / "eval" / EVAL_SET
# The minimum sizes, for the main set (the second blind set is smaller).
MIN_MANAGERS, MIN_OFF_SUBJECT, MIN_IN_SUBJECT = (60, 150, 200) if not EVAL_SET else (1, 1, 1)
# Issue 10's gates: 95% of dialogs right (no question asked more than twice), 95% of
# off-subject declined, at most 2% of in-subject declined. The intent classifier (sentence
# encoder + logistic regression, docs/nlu.md) is deterministic: retrained from scratch it
# gives the same model: 67/68, 187/190 declined and 1/287 declined here (docs/nlu.md).
MANAGERS_RIGHT_FLOOR = 0.95
OFF_SUBJECT_DECLINED_FLOOR = 0.95
IN_SUBJECT_DECLINED_CEILING = 0.02


def load(name: str, key: str):
    with (EVAL / name).open(encoding="utf-8") as f:
        return yaml.safe_load(f)[key]


def in_subject_questions():
    """The stranger-written in-subject set plus the older held-out set's in-subject intents."""
    items = [item["text"] for item in load("in_subject.yml", "in_subject")]
    if EVAL_SET:
        return [_plain(text) for text in items]
    with (ROOT / "tests" / "nlu_heldout.yml").open(encoding="utf-8") as f:
        heldout = yaml.safe_load(f)["nlu"]
    skip = {"out_of_scope", "affirm", "deny", "inform", "cancel", "greet", "goodbye", "thank"}
    for block in heldout:
        if block.get("intent") and block["intent"] not in skip:
            items += [line[2:].strip() for line in block["examples"].splitlines()
                      if line.startswith("- ")]
    return [_plain(text) for text in items]


def _plain(text: str) -> str:
    """Held-out examples mark entities as [MOOC](format): keep the words only."""
    return re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)



def _first_reply(bot: RasaStack, text: str) -> str:
    return texts(bot.say(f"eval-{uuid.uuid4().hex[:12]}", text))


def _save(name: str, data) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(data, indent=1, ensure_ascii=False))


def test_simulated_managers_reach_the_expected_format_without_loops(bot):
    managers = load("managers.yml", "managers")
    assert len(managers) >= MIN_MANAGERS
    shutil.rmtree(RESULTS / "dialogs", ignore_errors=True)
    results = [run_manager(bot, "manager", m, RESULTS / "dialogs") for m in managers]
    _save("managers.json", results)
    right = [r for r in results if r["format"] in r["expected"]]
    looped = [r for r in results if r["max_asked"] > 2]
    wrong = [(r["id"], r["format"], r["expected"], r.get("error", "")) for r in results
             if r not in right]
    assert len(right) >= MANAGERS_RIGHT_FLOOR * len(results), \
        f"{len(right)}/{len(results)} right; wrong: {wrong}"
    assert not looped, f"a question asked more than twice: {[r['id'] for r in looped]}"


def test_off_subject_messages_are_declined(bot):
    messages = load("off_subject.yml", "off_subject")
    assert len(messages) >= MIN_OFF_SUBJECT
    replies = {text: _first_reply(bot, text) for text in messages}
    answered = {t: r.splitlines()[0] for t, r in replies.items() if not declines_or_redirects(r)}
    _save("off_subject.json", {"total": len(messages), "not_declined": answered})
    assert len(messages) - len(answered) >= OFF_SUBJECT_DECLINED_FLOOR * len(messages), answered


def test_in_subject_questions_are_not_declined(bot):
    questions = in_subject_questions()
    assert len(questions) >= MIN_IN_SUBJECT
    replies = {text: _first_reply(bot, text) for text in questions}
    declined = [t for t, r in replies.items() if declines(r)]
    _save("in_subject.json", {"total": len(questions), "declined": declined})
    assert len(declined) <= IN_SUBJECT_DECLINED_CEILING * len(questions), declined
