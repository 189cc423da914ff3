"""End to end over the REST channel: real servers, real model, facts in the replies."""
import pytest

from devstack import texts

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
    assert "doesn't say how much a COOC costs" in reply


def test_fixed_wording_comes_from_domain_responses_with_their_buttons(bot):
    """Custom actions utter domain responses: filled in, with the action's own buttons."""
    which = bot.say("which", "/ask_rewards")
    assert which[0]["text"] == "Which format do you mean?"
    assert [b["title"] for b in which[0]["buttons"]] == ["MOOC", "COOC", "SPOC"]
    compare = bot.say("which", "/compare_formats")
    assert compare[0]["text"].startswith("Here is how they differ:\n• MOOC")
    assert compare[1]["text"].endswith("Want me to recommend one?")
    assert compare[1]["buttons"][0]["payload"] == "/request_recommendation"
    silent = texts(bot.say("which", "/ask_duration{\"format\":\"spoc\"}"))
    assert silent.startswith("Sorry, the article I learned from doesn't say how long a SPOC lasts.")
    assert "I can tell you what it is, its goals" in silent


def test_follow_up_keeps_the_format(bot):
    assert "Small Private Online Course" in texts(bot.say("follow", "What is a SPOC?"))
    assert "up to 50 learners" in texts(bot.say("follow", "and how many learners can it have?"))


def test_what_about_keeps_the_topic(bot):
    assert "open to everyone" in texts(bot.say("about", "Who is a MOOC for?"))
    assert "private community" in texts(bot.say("about", "what about a COOC?"))


def test_comparison_of_all_three(bot):
    reply = texts(bot.say("compare", "COOC, MOOC, SPOC: what are the differences?"))
    assert "• MOOC" in reply and "• COOC" in reply and "• SPOC" in reply


def test_out_of_scope_is_declined_politely(bot):
    reply = texts(bot.say("oos", "What's the weather in London?"))
    assert reply.startswith("Sorry, I can't help with that")


def test_gibberish_gets_a_clarification(bot):
    replies = bot.say("gibberish", "xqzj vvkp blorf")
    assert texts(replies).startswith("Sorry, I didn't get that")
    assert replies[0]["buttons"]
