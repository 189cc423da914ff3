"""Rasa-level checks: data validation, test stories, and the NLU held-out gate."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assistant import content

from devstack import MODEL, ROOT

pytestmark = pytest.mark.integration  # servers, services or the trained model

RASA = str(Path(sys.executable).parent / "rasa")
INTENT_ACCURACY_GATE = 0.97  # issue 10
ENTITY_F1_GATE = 0.95


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=ROOT, capture_output=True, text=True, timeout=1800)


def responses_uttered_by_actions() -> set:
    """The domain responses the custom actions utter (dispatcher.utter_message(response=)):
    the names written in actions/ and in the core they call (assistant/), and
    utter_learners_<problem>."""
    from assistant.learner_count import PROBLEMS

    code = "".join(path.read_text(encoding="utf-8") for folder in ("actions", "assistant")
                   for path in (ROOT / folder).glob("*.py"))
    return (set(re.findall(r"[\"'](utter_\w+)[\"']", code))
            | {f"utter_learners_{problem}" for problem in PROBLEMS})


def test_responses_uttered_by_actions_exist():
    """A misspelt name would leave the user without an answer (Rasa skips it)."""
    import yaml

    responses = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    assert len(responses_uttered_by_actions()) >= 8
    assert responses_uttered_by_actions() <= set(responses)


def test_training_data_validates_without_warnings():
    """Clean, except that Rasa 3.6's validator counts only stories and rules as users of
    a response: a response only a custom action utters is reported as unused."""
    result = rasa("data", "validate")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    unused = re.findall(r"UserWarning: The utterance '(\w+)' is not used in any story or rule",
                        output)
    assert set(unused) <= responses_uttered_by_actions(), output[-4000:]
    assert output.count("UserWarning") == len(unused), output[-4000:]


def test_stories_pass_without_prediction_errors(tmp_path):
    result = rasa("test", "core", "--model", str(MODEL), "--stories", "tests/stories",
                  "--fail-on-prediction-errors", "--out", str(tmp_path))
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:] + details


@pytest.fixture(scope="module")
def nlu_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("nlu")
    result = rasa("test", "nlu", "--model", str(MODEL), "--nlu", "tests/nlu_heldout.yml",
                  "--out", str(out))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return out


def test_heldout_set_is_big_enough():
    from rasa.shared.nlu.training_data.loading import load_data
    data = load_data(str(ROOT / "tests" / "nlu_heldout.yml"))
    training = load_data(str(ROOT / "data" / "nlu"))
    assert len(data.intent_examples) >= 150
    # Held-out messages must not be copies of training examples.
    seen = {m.get("text").lower() for m in training.intent_examples}
    copies = [m.get("text") for m in data.intent_examples if m.get("text").lower() in seen]
    assert not copies


def _plain_words(text: str) -> str:
    """"What is a [MOOC](format)?" -> "what is a mooc": what a copy keeps of a message."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text).lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _evaluation_messages():
    """Every message of tests/eval/: openings, questions, off-subject messages, and the
    scripted answers of four words or more (a bare "yes" or "12" is everybody's)."""
    for path in sorted((ROOT / "tests" / "eval").rglob("*.yml")):
        for key, items in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            for item in items:
                if key != "managers":
                    yield item["text"] if isinstance(item, dict) else item
                    continue
                yield item["opening"]
                said = [*item["answers"].values(), *(item.get("midway") or {}).values()]
                yield from (str(m) for m in said if len(str(m).split()) >= 4)


def test_evaluation_messages_are_not_in_the_training_data():
    """tests/eval/ measures how the bot reads strangers' words: a message also found in
    data/nlu or data/answers (case and punctuation aside) would measure memory instead."""
    from rasa.shared.nlu.training_data.loading import load_data
    training = {_plain_words(m.get("text"))
                for m in load_data(str(ROOT / "data" / "nlu")).intent_examples}
    for path in (ROOT / "data" / "answers").glob("*.yml"):
        for examples in yaml.safe_load(path.read_text(encoding="utf-8"))["answers"].values():
            training |= {_plain_words(e) for e in examples}
    buttons = {_plain_words(button["title"]) for question in content.form_answers()["questions"].values()
               for button in question.get("buttons", [])}
    messages = list(_evaluation_messages())
    assert len(messages) > 1500
    # Two words or fewer ("ok", "hi there") and the buttons' titles are everybody's words.
    assert not [m for m in messages if len(_plain_words(m).split()) > 2
                and _plain_words(m) in training - buttons]


def test_heldout_intent_accuracy_meets_the_gate(nlu_results):
    report = json.loads((nlu_results / "intent_report.json").read_text())
    errors = json.loads((nlu_results / "intent_errors.json").read_text())
    wrong = [(e["text"], e["intent"], e["intent_prediction"]["name"]) for e in errors]
    assert report["accuracy"] >= INTENT_ACCURACY_GATE, wrong


def test_heldout_entity_f1_meets_the_gate(nlu_results):
    report = json.loads((nlu_results / "RegexEntityExtractor_report.json").read_text())
    assert report["format"]["support"] > 30
    assert report["format"]["f1-score"] >= ENTITY_F1_GATE, report["format"]
