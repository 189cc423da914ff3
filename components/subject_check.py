"""Three checks the intent classifier can't make on its own, from the words of a message.

1. Gibberish goes to the fallback.

Why stock Rasa falls short: FallbackClassifier only catches low confidence, and a
classifier reading character n-grams can be confident about pure gibberish ("xqzj vvkp blorf"
came out as `affirm` at 0.74 with DIET, so the bot answered "Okay!"). A message none of whose
words appear in the training examples cannot be understood, whatever the classifier says, so this
component predicts `nlu_fallback` for it, as FallbackClassifier would. Messages with a
number ("about 40") or a recognised entity (a format name) are left alone.

2. Off-subject questions go to `out_of_scope`. The same vocabulary catches off-subject questions that the classifier confidently files under a
format topic ("who was the first man on the moon?" came out as `ask_history`, "what does
HTML stand for" as `ask_definition`): a question on a training-format topic that names
no format, has no word about training (`subject_words` in config.yml, matched as word
beginnings: "train" covers "trainees") and uses a word never seen in an in-subject
example (nor a near spelling of one, so typos pass) is about something else, and
becomes `out_of_scope`. A message naming a format is never off-subject: when the classifier says
`out_of_scope` for it, the next intent of its ranking is taken, and when it is unsure
its best guess is taken from FORMAT_GUESS_CONFIDENCE on.

3. A message that describes a training need is a recommendation request: "museum here,
want to teach art history to anyone for free online" came out as `ask_history`, "I need
to roll out GDPR compliance training for the whole company" as `ask_not_covered`. When a
message names no format, has a word saying it is about training (`need_words`), and
states an intention ("we want", "thinking about") or an answer of the recommendation dialog
(a number of people, or the audience or goal as the answer readers read them), it becomes
`request_recommendation`, and the dialog starts from what it said. Needs told in other words are the classifier's to learn
(data/nlu/needs.yml).
"""
import re
from typing import Any, Dict, List, Optional, Set, Text

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (ENTITIES, INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY,
                                       PREDICTED_CONFIDENCE_KEY, TEXT, TEXT_TOKENS)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.knowledge import IMPLIED_FORMAT
from assistant.learner_count import people_count
from assistant.typos import closest
from components.answer_reader import ANSWERS


VOCABULARY_FILE = "vocabulary.json"
SUBJECT_VOCABULARY_FILE = "subject_vocabulary.json"
OUT_OF_SCOPE = "out_of_scope"
RECOMMENDATION = "request_recommendation"
# A message naming a format is about the subject: when the classifier is unsure (below
# the FallbackClassifier's threshold), its best guess from this confidence on is taken
# rather than a request to rephrase (cross-validated on data/nlu by scripts/tune_nlu.py:
# 92% of such guesses from 0.1 on are right).
FORMAT_GUESS_CONFIDENCE = 0.1
# Intents a training need never overrides: requests, answers and comparisons.
NOT_A_NEED = {RECOMMENDATION, "compare_formats", "cancel", "start_over", "human_handoff",
              "affirm", "deny", "inform", "goodbye", "thank", "training_logistics",
              "instructions"}
# A confident prediction of a format question stands when the message is phrased as a
# question; a statement ("museum here, want to teach art history") is a need. From 0.7
# on, 96% of the classifier's topic predictions are right (cross-validated on data/nlu).
CONFIDENT = 0.7
QUESTION = re.compile(r"\?|^\W*(what|what's|how|who|why|when|where|which|can|could|is|are|"
                      r"does|do|should|would|will)\b", re.IGNORECASE)
# "we want / need / are thinking about / are planning ... a course".
INTENTION = re.compile(r"\b(want|wants|need|needs|looking for|thinking (about|of)|planning|"
                       r"plan to|would like|'d like|going to|have to|help me|help us)\b",
                       re.IGNORECASE)
# Whole words saying a message is about a course (not "learn": "how do I learn to swim").
DEFAULT_NEED_WORDS = ("course", "courses", "training", "trainings", "train", "teach",
                      "teaching", "format", "formats", "programme", "program", "e-learning",
                      "elearning", "curriculum", "onboarding", "upskill", "upskilling")
# Intents about the subject itself, whose examples define its vocabulary.
TOPIC_INTENTS = {"ask_definition", "ask_goals", "ask_audience", "ask_group_size",
                 "ask_content", "ask_duration", "ask_rewards", "ask_cost", "ask_history",
                 "ask_pronunciation", "ask_coexist", "compare_formats", "inform_format",
                 "ask_not_covered", "request_recommendation"}
# The intents whose predictions the vocabulary can overrule as off-subject: questions. A
# request for a recommendation is left to the classifier, which learnt from hundreds of
# need descriptions (data/nlu/needs.yml) that needs are told in words no list can hold.
QUESTION_INTENTS = TOPIC_INTENTS - {RECOMMENDATION}
# A learnt reading of the audience or the goal from this probability on counts as stated.
STATED = 0.8
# A question the classifier reads as a format question, giving a request less than this
# probability, stays a question even when it mentions learners ("how many people enrol in
# these open online courses?"): the classifier learnt requests from hundreds of needs.
NEED_PLAUSIBLE = 0.1
# ... and a question naming a format, or one read confidently, from this probability on.
NEED_LIKELY = 0.2
# A message that describes a format this surely (data/answers/implied_format.yml) is about
# the subject, like one that names it.
DESCRIBED_FORMAT = 0.9
NOT_ANSWERS = ("none", "unsure")


def _words(message: Message) -> List[Text]:
    """The message's tokens that contain a letter, lower-cased (punctuation dropped)."""
    return [token.text.lower() for token in message.get(TEXT_TOKENS) or []
            if any(char.isalpha() for char in token.text)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SubjectCheck(GraphComponent, IntentClassifier):
    def __init__(self, model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[Set[Text]] = None,
                 subject_vocabulary: Optional[Set[Text]] = None,
                 subject_words: Optional[List[Text]] = None) -> None:
        self._model_storage = model_storage
        self.subject_words = tuple(w.lower() for w in subject_words or ())
        self.need_words = set(DEFAULT_NEED_WORDS)
        self._resource = resource
        self.vocabulary = vocabulary or set()
        self.subject_vocabulary = subject_vocabulary or set()

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"subject_words": []}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SubjectCheck":
        return cls(model_storage, resource, subject_words=config.get("subject_words"))

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SubjectCheck":
        with model_storage.read_from(resource) as directory:
            words = rasa.shared.utils.io.read_json_file(directory / VOCABULARY_FILE)
            subject = rasa.shared.utils.io.read_json_file(directory / SUBJECT_VOCABULARY_FILE)
        return cls(model_storage, resource, set(words), set(subject), config.get("subject_words"))

    def train(self, training_data: TrainingData) -> Resource:
        examples = training_data.intent_examples
        self.vocabulary = {word for example in examples for word in _words(example)}
        self.subject_vocabulary = {word for example in examples
                                   if example.get(INTENT) != OUT_OF_SCOPE
                                   for word in _words(example)}
        with self._model_storage.write_to(self._resource) as directory:
            rasa.shared.utils.io.dump_obj_as_json_to_file(directory / VOCABULARY_FILE,
                                                          sorted(self.vocabulary))
            rasa.shared.utils.io.dump_obj_as_json_to_file(directory / SUBJECT_VOCABULARY_FILE,
                                                          sorted(self.subject_vocabulary))
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self._states_a_training_need(message):
                self._set_intent(message, RECOMMENDATION)
            elif self._is_unknown(message):
                self._set_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
            elif self._is_off_subject(message):
                self._set_intent(message, OUT_OF_SCOPE)
            elif self._intent(message) == OUT_OF_SCOPE and (self._names_format(message)
                                                            or self._describes_format(message)):
                self._take_next_intent(message)
            elif self._intent(message) == DEFAULT_NLU_FALLBACK_INTENT_NAME and self._names_format(message):
                self._take_next_intent(message, min_confidence=FORMAT_GUESS_CONFIDENCE)
        return messages

    @staticmethod
    def _set_intent(message: Message, name: Text) -> None:
        intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [i for i in message.get(INTENT_RANKING_KEY) or []
                   if i.get(INTENT_NAME_KEY) != name]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(intent)] + ranking, add_to_output=True)

    @staticmethod
    def _intent(message: Message) -> Optional[Text]:
        return (message.get(INTENT) or {}).get(INTENT_NAME_KEY)

    @staticmethod
    def _probability(message: Message, intent: Text) -> float:
        return next((i.get(PREDICTED_CONFIDENCE_KEY, 0.0) for i in message.get(INTENT_RANKING_KEY) or []
                     if i.get(INTENT_NAME_KEY) == intent), 0.0)

    @staticmethod
    def _names_format(message: Message) -> bool:
        return any(e.get("entity") == "format" for e in message.get(ENTITIES) or [])

    @staticmethod
    def _describes_format(message: Message) -> bool:
        """ "why is it called massive?": the implied-format reader is sure which format."""
        reading = (message.get(ANSWERS) or {}).get(IMPLIED_FORMAT) or {}
        return (reading.get("value") not in (None, "none")
                and reading.get("confidence", 0.0) >= DESCRIBED_FORMAT)

    @staticmethod
    def _take_next_intent(message: Message, min_confidence: float = 0.0) -> None:
        ranking = [i for i in message.get(INTENT_RANKING_KEY) or []
                   if i.get(INTENT_NAME_KEY) not in (OUT_OF_SCOPE, DEFAULT_NLU_FALLBACK_INTENT_NAME)]
        if ranking and ranking[0].get(PREDICTED_CONFIDENCE_KEY, 0) >= min_confidence:
            message.set(INTENT, dict(ranking[0]), add_to_output=True)

    def _states_a_training_need(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        if self._intent(message) in NOT_A_NEED or text.startswith("/"):
            return False
        # A question the classifier reads as a format question stays one, unless it also
        # gives a request some probability ("can we train prospects before they sign?
        # ~300 companies, private access only"; "we'd like a free course for anyone to
        # keep our members loyal, is that a mooc?").
        request = self._probability(message, RECOMMENDATION)
        confidence = (message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY, 0)
        is_question = self._intent(message) in QUESTION_INTENTS and QUESTION.search(text)
        if request < NEED_PLAUSIBLE and (is_question or self._names_format(message)):
            return False
        if request < NEED_LIKELY and (self._names_format(message)
                                      or (is_question and confidence >= CONFIDENT)):
            return False  # "do we need to stick to one type of course, or can we mix them?"
        if not self.need_words & set(_words(message)):
            return False
        if INTENTION.search(text):
            return True  # "we want a free online course on internet basics"
        # Or it states who the learners are, how many, or the goal ("hi, 12 engineers to
        # train"), as the learnt answer readers (components/answer_reader.py) read it.
        readings = message.get(ANSWERS) or {}
        return people_count(text) is not None or any(
            reading["value"] not in NOT_ANSWERS and reading["confidence"] >= STATED
            for slot, reading in readings.items() if slot in ("audience", "goal"))

    def _is_off_subject(self, message: Message) -> bool:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        text = message.get(TEXT) or ""
        if (intent not in QUESTION_INTENTS | {DEFAULT_NLU_FALLBACK_INTENT_NAME}
                or text.startswith("/") or message.get(ENTITIES)):
            return False
        words = _words(message)
        if any(word.startswith(self.subject_words) for word in words):
            return False
        return any(not self._known_in_subject(word) for word in words)

    def _known_in_subject(self, word: Text) -> bool:
        if len(word) <= 2:
            return True
        return closest(word, self.subject_vocabulary) is not None

    def _is_unknown(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        if text.startswith("/") or message.get(ENTITIES) or any(c.isdigit() for c in text):
            return False
        words = _words(message)
        return bool(words) and not any(word in self.vocabulary for word in words)
