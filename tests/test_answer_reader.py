"""The learnt answer readers: their data (data/answers/), how the form's reader combines
them with the phrase lists (assistant/dialog_answers.py), and the component itself."""
from pathlib import Path

import pytest
import yaml

from assistant import content, dialog_answers, knowledge
from assistant.dialog_answers import UNSURE, read_all, read_answer
from components.answer_reader import read_examples
from devstack import ROOT

ANSWERS = ROOT / "data" / "answers"


def slot_values(slot: str) -> set:
    """The values a question's buttons send (its closed set of answers)."""
    return {button["payload"].split('":"')[1].rstrip('"}')
            for button in content.form_answers()["questions"][slot]["buttons"]
            if '":"' in button["payload"]}


def reading(value: str, confidence: float = 0.95) -> dict:
    return {"value": value, "confidence": confidence}


def test_every_question_has_a_reader_with_many_examples_per_class():
    examples = read_examples(ANSWERS)
    formats = examples.pop(knowledge.IMPLIED_FORMAT)
    assert set(formats) == set(knowledge.format_names()) - {"elearning", "blended"} | {"none"}
    assert all(len(texts) >= 30 for texts in formats.values()), formats.keys()
    assert set(examples) == set(dialog_answers.FORM_SLOTS) - {"learners"}
    for slot, labels in examples.items():
        assert {"unsure", "none"} <= set(labels), slot
        for label, texts in labels.items():
            assert len(texts) >= 30, (slot, label, len(texts))
        answers = set(labels) - {"unsure", "none"}
        if slot in dialog_answers.CHOICE_SLOTS:
            assert answers == slot_values(slot), slot
        else:
            assert answers <= set(dialog_answers.YES_NO_CLASSES), slot


@pytest.mark.parametrize("slot, value, expected", [
    ("own_resources", "deny", False),
    ("face_to_face", "affirm", True),
    ("open_to_all", "open", True),
    ("open_to_all", "private", False),
    ("goal", "skills", "skills"),
    ("audience", "customers", "customers"),
])
def test_a_confident_reading_decides(slot, value, expected):
    text = "honestly we have nobody who could make such a thing, no budget either"
    assert read_answer(slot, text, {slot: reading(value)}) == expected


def test_unsure_and_not_an_answer_readings():
    text = "that depends a lot on what the board decides next month"
    assert read_answer("coaching", text, {"coaching": reading("unsure")}) is UNSURE
    question_back = "what do you mean by that exactly, is it about trainers?"
    assert read_answer("own_resources", question_back, {"own_resources": reading("none")}) is None


def test_an_unsure_reading_leaves_the_phrase_lists_to_decide():
    title = content.form_answers()["questions"]["audience"]["buttons"][1]["title"]
    assert read_answer("audience", title, {"audience": reading("public", 0.4)}) == "employees"


def test_a_short_closed_set_answer_stands_before_the_reading():
    # "external" answers "private or open?" whatever a long-answer model says of one word.
    assert read_answer("open_to_all", "external", {"open_to_all": reading("private", 0.9)}) is True


def test_a_word_out_of_context_in_an_opening_is_not_an_answer():
    text = "our machine workshop trains 12 technicians on the new lathe"
    assert read_all(text).get("face_to_face") is True  # the phrase alone reads a wish
    readings = {"face_to_face": reading("none")}
    assert "face_to_face" not in read_all(text, readings)
    assert read_all(text, readings)["learners"] == 12


@pytest.mark.integration  # loads the sentence encoder (build/minilm)
def test_the_component_learns_from_examples_and_reads_every_question(tmp_path):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from components.answer_reader import AnswerReader
    from components.sentence_encoder import SentenceEncoderFeaturizer

    folder = tmp_path / "answers"
    folder.mkdir()
    for path in ANSWERS.glob("*.yml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    config = {**AnswerReader.get_default_config(), "examples": str(folder),
              "model_path": str(ROOT / "build" / "minilm")}
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    context = ExecutionContext(GraphSchema({}), "test")
    resource = Resource("answer_reader")
    AnswerReader.create(config, storage, resource, context).train(TrainingData())
    reader = AnswerReader.load(config, storage, resource, context)
    featurizer = SentenceEncoderFeaturizer.create(
        {**SentenceEncoderFeaturizer.get_default_config(), "model_path": config["model_path"]},
        storage, Resource("encoder"), context)
    message = Message({"text": "no way, everybody works remotely, no travel at all"})
    reader.process(featurizer.process([message]))
    readings = message.get("answers")
    assert set(readings) == set(read_examples(folder))
    assert readings["face_to_face"]["value"] == "deny"
    # Editing the examples changes the fingerprint, so `rasa train` retrains the reader.
    before = AnswerReader.fingerprint_addon(config)
    path = folder / "coaching.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["answers"]["unsure"].append("no clue at all, to be honest")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert AnswerReader.fingerprint_addon(config) != before
    # A node Rasa restored from its cache gets its hook called with the cached output as
    # config: `make train` failed with KeyError 'examples' after editing another component.
    assert AnswerReader.fingerprint_addon({"output": readings}) is None


def test_examples_are_read_from_every_file(tmp_path: Path):
    (tmp_path / "coaching.yml").write_text(
        'slot: coaching\nanswers:\n  affirm: ["yes please"]\n  none: ["hello"]\n')
    assert read_examples(tmp_path) == {"coaching": {"affirm": ["yes please"], "none": ["hello"]}}


@pytest.mark.parametrize("slot, text, misreading, expected", [
    ("coaching", "No, we can't follow thousands of people one by one.", "affirm", False),
    ("open_to_all", "Private, only licensed customers, not the whole internet.", "open", False),
    ("own_resources", "Yes - our two clinical educators could build it", "deny", True),
    ("theme", "Marketing, general thing, not about our software.", "company", "general"),
])
def test_an_answer_that_opens_the_message_beats_a_reader_misled_by_the_rest(
        slot, text, misreading, expected):
    """The rest of the message explains the answer and may name the other side."""
    assert read_answer(slot, text, {slot: reading(misreading, 0.8)}) == expected


def test_a_long_first_clause_is_left_to_the_reader():
    text = "Actually we'd like an in-person day, but the budget won't allow it"
    assert read_answer("face_to_face", text, {"face_to_face": reading("deny")}) is False
