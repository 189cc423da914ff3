"""The content model (assistant/content.py): one registry per concept, checked on load, and
the training data that follows from it (data/nlu/formats.yml, data/topic_rules.yml) kept
in step."""
import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from assistant import content, knowledge

ROOT = Path(__file__).resolve().parents[1]


def read(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """A temporary copy of data/, which the content module then reads instead."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    monkeypatch.setattr(content, "DATA", data)
    content.knowledge.cache_clear()
    yield data
    content.knowledge.cache_clear()


def edit(path: Path, change) -> None:
    data = read(path)
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def nlu_of(generated: Path):
    items = read(generated)["nlu"]
    lookup = next(i for i in items if i.get("lookup") == "format")["examples"]
    synonyms = {i["synonym"]: i["examples"] for i in items if "synonym" in i}
    return lookup.splitlines(), {k: v.splitlines() for k, v in synonyms.items()}


def topic_rule_intents(generated: Path):
    return [[step["intent"] for step in rule["steps"][0]["or"]] for rule in read(generated)["rules"]]


@pytest.mark.parametrize("name", list(content.GENERATED))
def test_generated_training_data_is_current(name):
    """Written by `make train` from data/knowledge.yml: edit that file, never these."""
    current = (ROOT / "data" / name).read_text(encoding="utf-8")
    assert current == content.generated(content.knowledge())[name], \
        f"data/{name} is stale or was edited by hand: run `make train`"


def test_every_spelling_is_recognised_as_its_format_only():
    lookup, synonyms = nlu_of(ROOT / "data" / "nlu" / "formats.yml")
    assert "- small private online course" in synonyms["spoc"]
    assert "- couque" in synonyms["cooc"] and "- private COOC" in synonyms["cooc_internal"]
    assert sorted(lookup) == sorted(s for spellings in synonyms.values() for s in spellings)
    assert len(set(lookup)) == len(lookup)


def test_topic_rules_cover_every_topic_intent_declared_in_the_domain():
    domain_intents = set(read(ROOT / "domain.yml")["intents"])
    outside, in_dialog = topic_rule_intents(ROOT / "data" / "topic_rules.yml")
    assert outside == in_dialog
    assert outside[:2] == ["ask_definition", "ask_goals"] and outside[-1] == "inform_format"
    assert "ask_coexist" in outside and "ask_summary" not in outside
    assert set(outside) <= domain_intents
    # ... and are written in one place: no hand-written rule repeats them.
    hand_written = (ROOT / "data" / "rules.yml").read_text(encoding="utf-8")
    assert "ask_definition" not in hand_written


def test_adding_a_spelling_is_one_yaml_edit(project_copy):
    """A new spelling in the format registry reaches the lookup table and the synonyms
    (then `make train` puts them in the model); nothing else changes."""
    lookup_before, synonyms_before = nlu_of(project_copy / "nlu" / "formats.yml")
    edit(project_copy / "knowledge.yml",
         lambda d: d["formats"]["spoc"]["spellings"].append("small private course"))

    assert content.write_generated(data=project_copy) == ["nlu/formats.yml"]
    lookup, synonyms = nlu_of(project_copy / "nlu" / "formats.yml")
    assert set(lookup) - set(lookup_before) == {"- small private course"}
    assert synonyms["spoc"] == synonyms_before["spoc"] + ["- small private course"]
    assert {k: v for k, v in synonyms.items() if k != "spoc"} == \
        {k: v for k, v in synonyms_before.items() if k != "spoc"}
    assert content.write_generated(data=project_copy) == []  # now current


def formats_found(generated: Path, text: str):
    """The formats Rasa's RegexEntityExtractor and EntitySynonymMapper (as config.yml
    sets them) find in `text`, trained on `generated` and the annotated questions."""
    import tempfile

    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.extractors.entity_synonyms import EntitySynonymMapper
    from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.message import Message

    data = load_data(str(generated)).merge(load_data(str(ROOT / "data" / "nlu" / "questions.yml")))
    storage = LocalModelStorage(Path(tempfile.mkdtemp()))
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**RegexEntityExtractor.get_default_config(), "use_lookup_tables": True,
              "use_regexes": False}
    extractor = RegexEntityExtractor.create(config, storage, Resource("regex"), context)
    extractor.train(data)
    synonyms = EntitySynonymMapper.create(EntitySynonymMapper.get_default_config(), storage,
                                          Resource("synonyms"), context, synonyms=None)
    synonyms.train(data)
    message = Message.build(text)
    extractor.process([message])
    synonyms.process([message])
    return [entity["value"] for entity in message.get("entities", [])]


def test_a_new_spelling_is_recognised_by_rasa_after_make_train(project_copy):
    question = "Is a Small Private Course better than a couque?"
    assert formats_found(project_copy / "nlu" / "formats.yml", question) == ["cooc"]
    edit(project_copy / "knowledge.yml",
         lambda d: d["formats"]["spoc"]["spellings"].append("small private course"))
    content.write_generated(data=project_copy)
    assert formats_found(project_copy / "nlu" / "formats.yml", question) == ["spoc", "cooc"]


def test_adding_a_topic_is_one_yaml_edit_plus_its_intent(project_copy):
    """A topic is a registry entry (and its answers) in data/knowledge.yml; the rules
    follow, and the bot offers it and admits where the article is silent on it. Rasa
    also needs the intent ask_<topic> in domain.yml and NLU examples for it."""
    def add_topic(data):
        data["topics"]["format_history"] = {"silent": "when {format} appeared",
                                            "offer": "when it appeared"}
        data["answers"]["mooc"]["format_history"] = {
            "text": "The MOOC was the first digital learning model.",
            "sources": ["It is the first digital learning model that paved the way for "
                        "other, more targeted formats."]}
    edit(project_copy / "knowledge.yml", add_topic)

    assert content.write_generated(data=project_copy) == ["topic_rules.yml"]
    for intents in topic_rule_intents(project_copy / "topic_rules.yml"):
        assert intents[-2:] == ["ask_format_history", "inform_format"]
    assert knowledge.find_answer("format_history", "mooc").startswith("The MOOC was the first")
    assert "when it appeared" in knowledge.silent("cost", "mooc")[1]["offers"]
    assert knowledge.silent("format_history", "spoc")[1]["silent"] == "when a SPOC appeared"


def test_a_wording_edit_does_not_retrain():
    """Content read at run time is not training input: editing an answer, a reason or a
    dialog phrase needs no `make train` (the generated file is rewritten only when the
    registries change)."""
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval",
         "print-training-files: ; @echo $(TRAINING_FILES)", "print-training-files"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert {"data/nlu/formats.yml", "data/topic_rules.yml", "data/rules.yml", "domain.yml"} <= set(out)
    for runtime in ("knowledge.yml", "recommendation.yml", "form_answers.yml", "handoff.yml"):
        assert f"data/{runtime}" not in out


KNOWLEDGE = read(ROOT / "data" / "knowledge.yml")


@pytest.mark.parametrize("change, message", [
    (lambda d: d["formats"]["cooc"]["spellings"].append("spoc"),
     "formats.spoc.spellings: 'SPOC' is also a spelling of cooc"),
    (lambda d: d["answers"]["mooc"].update(price=d["answers"]["mooc"]["cost"]),
     "answers.mooc.price: unknown topic"),
    (lambda d: d["answers"]["mooc"]["cost"].update(source="x"), "extra fields not permitted"),
    (lambda d: d["answers"]["mooc"]["cost"].update(sources=[]), "at least 1 items"),
    (lambda d: d["topics"]["cost"].update(silent="how much {fmt} costs"),
     "the only placeholder allowed is {format}"),
    (lambda d: d["formats"]["cooc_internal"].update(parent="coocs"), "unknown format 'coocs'"),
    (lambda d: d["formats"].pop("spoc"), "formats.spoc is missing"),
    (lambda d: d["formats"]["spoc"].update(article="the"), "article"),
])
def test_bad_knowledge_edits_are_refused_with_the_entry_to_fix(change, message):
    data = copy.deepcopy(KNOWLEDGE)
    change(data)
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        content.parse(content.KnowledgeFile, data, "knowledge.yml")


def test_every_file_of_the_content_model_loads():
    assert set(content.knowledge().formats) >= set(content.FORMATS)
    assert content.recommendation().thresholds["spoc_max_learners"].value == 50
    assert content.form_answers()["questions"]["audience"]["text"]
