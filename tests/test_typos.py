"""The one typo matcher (assistant/typos.py) that the answer readers and the subject check share."""
from assistant.typos import closest

WORDS = ["employees", "thousand", "does", "public"]


def test_a_word_with_one_slip_is_read_as_the_known_word():
    assert closest("emplyees", WORDS) == "employees"
    assert closest("thousnd", WORDS) == "thousand"
    assert closest("dose", WORDS) == "does"  # two letters swapped, even in a short word
    assert closest("public", WORDS) == "public"


def test_a_different_word_is_not_a_typo():
    assert closest("banana", WORDS) is None
    assert closest("pub", WORDS) is None
