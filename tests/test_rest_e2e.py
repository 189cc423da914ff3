"""End to end over the REST channel: real servers, real model, facts in the replies."""
import pytest

from devstack import texts
from tests.wording import answer, general, response, said, topic

pytestmark = pytest.mark.integration  # servers, services or the trained model



@pytest.mark.parametrize("question,facts", [
    ("What is a SPOC?", ["Small Private Online Course", "small community"]),
    ("what does COOC stand for", ["Corporate Online Open Course", "private version of the MOOC"]),
    ("how many learners can a spoc take?", ["fifteen", "50"]),
    ("Is a MOOC free?", ["free"]),
    ("who started the moocs?", ["international universities"]),
    ("how many MOOCs were there in 2018?", ["10,000"]),
    ("How do you pronounce MOOC?", ["mouque"]),
    ("what do learners get at the end of a couque?", ["Badges", "medals"]),
    ("who is an external COOC for", ["all Internet users"]),
    ("how long does a MOOC last", ["several weeks"]),
    ("What's in a SPOC?", ["quizzes", "face-to-face"]),
    ("Can formats coexist in one training plan?", ["coexist in the same training plan"]),
])
def test_questions_get_the_articles_facts(bot, question, facts):
    reply = texts(bot.say(f"facts-{question}", question))
    for fact in facts:
        assert fact in reply, reply


def test_article_silence_is_admitted(bot):
    reply = texts(bot.say("silent", "How much does a COOC cost?"))
    assert said(response("utter_article_silent_offer"), reply)
    assert topic("cost")["silent"].format(format="a COOC") in reply


def test_fixed_wording_comes_from_domain_responses_with_their_buttons(bot):
    """Custom actions utter domain responses: filled in, with the action's own buttons."""
    which = bot.say("which", "/ask_rewards")
    assert which[0]["text"] == response("utter_which_format")
    assert [b["title"] for b in which[0]["buttons"]] == ["MOOC", "COOC", "SPOC"]
    compare = bot.say("which", "/compare_formats")
    assert said(response("utter_comparison"), compare[0]["text"])
    assert f"\n• {answer('mooc', 'summary')}" in compare[0]["text"]
    assert compare[1]["text"] == general("coexist")
    assert compare[2]["text"] == response("utter_after_comparison")
    assert compare[2]["buttons"][0]["payload"] == "/request_recommendation"
    silent = texts(bot.say("which", "/ask_duration{\"format\":\"spoc\"}"))
    assert said(response("utter_article_silent_offer"), silent)
    assert topic("duration")["silent"].format(format="a SPOC") in silent
    assert topic("definition")["offer"] in silent and topic("goals")["offer"] in silent


def test_follow_up_keeps_the_format(bot):
    assert texts(bot.say("follow", "What is a SPOC?")) == answer("spoc", "definition")
    assert texts(bot.say("follow", "and how many learners can it have?")) == \
        answer("spoc", "group_size")


def test_what_about_keeps_the_topic(bot):
    assert texts(bot.say("about", "Who is a MOOC for?")) == answer("mooc", "audience")
    assert texts(bot.say("about", "what about a COOC?")) == answer("cooc", "audience")


def test_comparison_of_all_three(bot):
    reply = texts(bot.say("compare", "COOC, MOOC, SPOC: what are the differences?"))
    assert all(f"• {answer(f, 'summary')}" in reply for f in ("mooc", "cooc", "spoc"))


def test_out_of_scope_is_declined_politely(bot):
    reply = texts(bot.say("oos", "What's the weather in London?"))
    assert reply == response("utter_out_of_scope")


def test_gibberish_gets_a_clarification(bot):
    replies = bot.say("gibberish", "xqzj vvkp blorf")
    assert texts(replies) == response("utter_default")
    assert replies[0]["buttons"]
