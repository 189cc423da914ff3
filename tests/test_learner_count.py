"""Tests for assistant/learner_count.py."""


from pathlib import Path

import pytest
import yaml

from assistant.learner_count import (people_count,
    as_count,
    MAX_LEARNERS,
    PROBLEMS,
    LearnerCount,
    parse_learner_count,
    validate_learner_count,
)

RESPONSES = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml")
                           .read_text(encoding="utf-8"))["responses"]


def said(problem: str) -> str:
    """What the bot says about a refused count: its domain response."""
    return RESPONSES[f"utter_learners_{problem}"][0]["text"]


@pytest.mark.parametrize(
    "text, value, approximate",
    [
        # digits
        ("12", 12, False),
        ("We have 12.", 12, False),
        ("1,500", 1500, False),
        ("1,500,000 users", 1_500_000, False),
        ("1.500", 1500, False),
        ("12.5", 13, True),
        # words (text2num)
        ("twelve", 12, False),
        ("twenty five people", 25, False),
        ("twenty-five", 25, False),
        ("one hundred and twenty", 120, False),
        ("two thousand five hundred", 2500, False),
        ("one", 1, False),
        ("eleven", 11, False),
        ("ten thousand", 10_000, False),
        # dozens
        ("a dozen", 12, False),
        ("half a dozen", 6, False),
        ("three dozen", 36, False),
        ("3 dozen", 36, False),
        ("dozens", 36, True),
        ("a few dozen", 36, True),
        # approximations
        ("about 200", 200, True),
        ("around 1,500", 1500, True),
        ("roughly twenty", 20, True),
        ("~40", 40, True),
        ("200+", 200, True),
        ("15-ish", 15, True),
        ("fifteen or so", 15, True),
        ("up to 50", 50, True),
        ("approximately 2,500 employees", 2500, True),
        # vague quantities
        ("a few thousand", 3000, True),
        ("a few hundred", 300, True),
        ("several thousand", 3000, True),
        ("hundreds", 300, True),
        ("thousands of customers", 3000, True),
        ("a couple of hundred", 200, True),
        ("a couple", 2, False),
        # multipliers
        ("2k", 2000, False),
        ("2K", 2000, False),
        ("1.5k", 1500, False),
        ("about 1.5 k learners", 1500, True),
        ("2 thousand", 2000, False),
        ("1.5 million", 1_500_000, False),
        ("1.5m", 1_500_000, False),
        # ranges: the upper bound, approximate
        ("between 10 and 20", 20, True),
        ("between ten and twenty", 20, True),
        ("10-20", 20, True),
        ("10 - 20", 20, True),
        ("10–20", 20, True),
        ("10 to 20", 20, True),
        ("ten to twenty", 20, True),
        ("from 30 to 45 people", 45, True),
        ("20-10", 20, True),
        ("one or two hundred", 200, True),
        # several numbers: the one that counts people
        ("1 trainer and 12 learners", 12, False),
        ("we have one trainer and twelve people", 12, False),
        ("one team of eight", 8, False),
        ("in 2024 we will train 30 people", 30, False),
        ("1 to 1 coaching for 12 people", 12, False),
        ("nobody knows, maybe twenty", 20, True),
        # zero and negatives are read as said (validation rejects them)
        ("0", 0, False),
        ("zero", 0, False),
        ("no one", 0, False),
        ("-5", -5, False),
        (" -5 learners", -5, False),
        ("minus five", -5, False),
        ("−5", -5, False),
        # absurd values are read too
        ("20 million", 20_000_000, False),
        ("10,000,001", 10_000_001, False),
    ],
)
def test_parse(text, value, approximate):
    assert parse_learner_count(text) == LearnerCount(value, approximate)


@pytest.mark.parametrize("text", ["", "   ", "hello", "I don't know", "3 teams", "5 weeks", None])
def test_no_number(text):
    assert parse_learner_count(text) is None


def test_numbers_from_slots_are_accepted():
    assert parse_learner_count(12) == LearnerCount(12, False)
    assert parse_learner_count(12.0) == LearnerCount(12, False)
    assert parse_learner_count(12.4) == LearnerCount(12, True)
    assert parse_learner_count(True) is None
    assert parse_learner_count(float("nan")) is None
    assert parse_learner_count(float("inf")) is None


def test_negative_is_not_read_as_positive():
    result = parse_learner_count("-5")
    assert result is not None and result.value < 0
    assert validate_learner_count(result.value) == "negative"


def test_range_uses_upper_bound():
    assert parse_learner_count("10-60").value == 60  # too many for a SPOC, on purpose


@pytest.mark.parametrize("value", [1, 12, 50, 1000, MAX_LEARNERS, 2.5])
def test_valid_values(value):
    assert validate_learner_count(value) is None


@pytest.mark.parametrize(
    "value, key",
    [
        (0, "zero"),
        (0.4, "zero"),
        (-1, "negative"),
        (-5, "negative"),
        (MAX_LEARNERS + 1, "too_large"),
        (10**12, "too_large"),
        (None, "not_a_number"),
        ("12", "not_a_number"),
        (True, "not_a_number"),
        (float("nan"), "not_a_number"),
    ],
)
def test_invalid_values(value, key):
    assert validate_learner_count(value) == key
    assert f"{MAX_LEARNERS:,}" in said(key)  # every refusal says what the limit is


def test_messages_differ():
    assert len({said(problem) for problem in PROBLEMS}) == len(PROBLEMS)


@pytest.mark.parametrize(
    "text, error",
    [("-5", "negative"), ("zero", "zero"), ("20 million", "too_large"), ("a dozen", None)],
)
def test_parse_then_validate(text, error):
    assert validate_learner_count(parse_learner_count(text).value) == error


@pytest.mark.parametrize("value,count", [
    (12, 12), (12.0, 12), (12.6, 13), ("about 200", 200), ("a few thousand", 3000),
    (None, None), (True, None), (0, None), (-3, None), ("-5", None), (20_000_000, None),
    ("hello", None), (float("nan"), None),
])
def test_one_conversion_to_a_whole_number_of_learners(value, count):
    assert as_count(value) == count


def test_the_form_and_the_recommender_convert_counts_alike():
    from actions.recommendation_form import profile_from
    from assistant.recommender import Profile, learner_count, same_answer
    assert profile_from({"learners": 12.6}).learners == 13 == as_count(12.6)
    assert learner_count(Profile(learners=12.6)) == 13
    assert profile_from({"learners": 0.0}).learners is None
    assert same_answer("learners", 15.4, 15) and not same_answer("learners", 15.6, 15)


# ---- a count stated in passing counts people, never shops, request numbers or hours
@pytest.mark.parametrize("text, expected", [
    ("we have 20 senior engineers who must work agile", 20),
    ("a team of 7 in marketing struggles with comments", 7),
    ("about two hundred employees", 200),
    ("a few thousand people, free access to knowledge", 3000),
    ("we run 4 warehouses and 60 pickers", 60),
    ("three sites and a dozen librarians", 12),
    ("approve my training request no. 4471 please", None),
    ("translate this: the course starts at 9", None),
    ("founded in 1987, 3 production lines stop often", None),
    ("our 12 branches need a course", None),
])
def test_people_count_takes_only_a_number_that_counts_people(text, expected):
    assert people_count(text) == expected
