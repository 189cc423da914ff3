"""The insights' figures (insights/), on a small hand-made tracker store with known counts."""
import json
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from assistant import knowledge
from insights import report, summary
from insights.settings import Settings, load
from devstack.insights_events import Conversation, create_events_table, insert

DAY = 86400.0
# Shortly after midnight (UTC) today, so that "today" holds whatever the time of the run.
NOW = time.time() // DAY * DAY + 60
QUESTIONS = ["audience", "learners", "goal", "coaching", "face_to_face", "own_resources",
             "open_to_all"]
RESPONSES = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml")
                           .read_text(encoding="utf-8"))["responses"]


def silent_reply(topic: str, fmt: str):
    """The reply where the article is silent, as Rasa fills its domain response; and the
    response's name."""
    response, values = knowledge.silent(topic, fmt)
    return RESPONSES[response][0]["text"].format(**values), response


SILENT = silent_reply("cost", "spoc")


def recommendation_dialog(conv: Conversation, answers: int, face_to_face=None,
                          recommend: str = None, cancel: bool = False) -> Conversation:
    """The guided dialog as Rasa stores it: started by a button, `answers` questions
    answered one message each, then recommended or cancelled."""
    conv.user("/request_recommendation", "request_recommendation")
    conv.action("recommendation_form").loop("recommendation_form")
    conv.slot("requested_slot", QUESTIONS[0]).reply("action_ask_audience", "Who is it for?")
    for i in range(answers):
        conv.user(f"answer {i}", "inform").action("recommendation_form")
        conv.slot(QUESTIONS[i], face_to_face if QUESTIONS[i] == "face_to_face" else "x")
        if i + 1 < len(QUESTIONS):
            conv.slot("requested_slot", QUESTIONS[i + 1])
            conv.reply(f"action_ask_{QUESTIONS[i + 1]}", "Next question?")
    if recommend:
        conv.loop(None).slot("requested_slot", None).action("action_recommend")
        conv.bot("I recommend ...").slot("recommended_format", recommend)
        conv.slot("format", recommend).action("action_listen")
    if cancel:
        conv.user("stop", "cancel").action("action_deactivate_loop").loop(None)
        conv.slot("requested_slot", None).reply("utter_recommendation_paused", "Okay, stopped.")
    return conv


def hand_made_conversations():
    web = Conversation("web-0a1b", NOW, "rest")
    web.user("What is a SPOC?", "ask_definition", ["spoc"]).action("action_answer_question")
    web.bot("A SPOC is ...").slot("topic", "definition").slot("format", "spoc").action("action_listen")
    web.user("and how long does it last?", "ask_duration").action("action_answer_question")
    web.bot("It lasts ...").slot("topic", "duration").slot("format", "spoc").action("action_listen")
    web.user("What does a SPOC cost?", "ask_cost", ["spoc"]).action("action_answer_question")
    web.bot(*SILENT).slot("topic", "cost").slot("format", "spoc").action("action_listen")

    rest = Conversation("rest-1", NOW - DAY, "rest")
    rest.user("asdf qwer", "nlu_fallback").reply("utter_default", "Sorry, I didn't get that.")
    rest.user("Who won the World Cup?", "out_of_scope").reply("utter_out_of_scope", "Sorry, ...")
    rest.user("Compare a MOOC and a COOC", "compare_formats", ["mooc", "cooc"])
    rest.reply("action_compare_formats", "Here is how they differ")
    rest2 = Conversation("rest-2", NOW - 2 * DAY, "rest")
    rest2.user("who won the world cup", "out_of_scope").reply("utter_out_of_scope", "Sorry, ...")
    # Rasa's core fallback reverts the user's message but the rows stay.
    rest2.user("blorf", "greet").action("action_default_fallback")
    rest2.bot("Sorry, I didn't get that.", "utter_default").action("action_listen")

    slack = recommendation_dialog(Conversation("U0SLACK", NOW + 600, "slack"), answers=7,
                                  face_to_face=True, recommend="spoc")
    teams = recommendation_dialog(Conversation("29:teams", NOW + 1200, "botframework"),
                                  answers=2, cancel=True)
    # A second dialog after the cancelled one, recommended after 7 more answers.
    recommendation_dialog(teams, answers=7, face_to_face=False, recommend="cooc_internal")

    shell = Conversation("default", NOW - 5 * DAY, "cmdline")
    shell.user("What is a COOC?", "ask_definition", ["cooc"]).reply("action_answer_question", "...")
    shell.session(at=NOW - 4 * DAY)  # a new session: a second conversation
    shell.user("compare them", "compare_formats").reply("action_compare_formats", "...")

    old = Conversation("web-old", NOW - 40 * DAY, "rest")
    old.user("What is a MOOC?", "ask_definition", ["mooc"]).reply("action_answer_question", "...")
    old.user("xkcd zzz", "nlu_fallback").reply("utter_default", "Sorry, I didn't get that.")
    return [web, rest, rest2, slack, teams, shell, old]


def rows_in_id_order(conversations):
    """All conversations' rows interleaved by time, as Rasa would have written them."""
    return sorted((row for conv in conversations for row in conv.rows),
                  key=lambda r: r["timestamp"])


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    create_events_table(engine)
    insert(engine, rows_in_id_order(hand_made_conversations()))
    summary.create_tables(engine)
    return engine


def summarise(engine, batch=summary.BATCH, days_kept=90):
    while not summary.refresh(engine, report.format_names(), days_kept, 10, batch):
        pass


def test_counts_of_a_hand_made_store(engine):
    summarise(engine)
    data = report.build(engine, 30)
    assert data["conversations"] == 7  # the shell's two sessions are two conversations
    assert data["by_channel"] == {
        "web": {"conversations": 1, "user_messages": 3},
        "REST": {"conversations": 2, "user_messages": 5},
        "Slack": {"conversations": 1, "user_messages": 8},
        "Teams": {"conversations": 1, "user_messages": 12},
        "shell": {"conversations": 2, "user_messages": 2},
    }
    assert data["user_messages"] == 30
    assert data["recommendations"] == {"SPOC (blended)": 1, "internal COOC": 1}
    assert data["recommendation_requests"] == 3
    assert data["asks"] == {"cost": {"SPOC": 1}, "definition": {"COOC": 1, "SPOC": 1},
                            "duration": {"SPOC": 1}}  # the follow-up counts for the SPOC
    assert data["comparisons"] == {"MOOC vs COOC": 1, "the main formats": 1}
    assert {s["step"]: s["count"] for s in data["funnel"]} == {
        "started": 3, "asked audience": 3, "asked learners": 3, "asked goal": 3,
        "asked coaching": 2, "asked face_to_face": 2, "asked own_resources": 2,
        "asked open_to_all": 2, "asked theme": 0, "asked exchanges": 0,  # asked only when they matter
        "recommended": 2, "cancelled": 1}
    assert data["median_turns_to_recommendation"] == 8  # the request and 7 answers

    unanswered = {(u["text"], u["kind"]): u for u in data["unanswered"]}
    # The two "world cup" questions are one group, shown with the latest text.
    assert unanswered[("Who won the World Cup?", "off-subject")]["count"] == 2
    assert unanswered[("Who won the World Cup?", "off-subject")]["last_seen"] == summary.utc_day(NOW - DAY + 4)
    assert unanswered[("asdf qwer", "fallback")]["count"] == 1
    assert unanswered[("blorf", "fallback")]["count"] == 1
    assert unanswered[("What does a SPOC cost?", "not in the article")]["count"] == 1
    assert "data/knowledge.yml" in unanswered[("What does a SPOC cost?", "not in the article")]["edit"]
    assert len(unanswered) == 4 and data["unanswered_messages"] == 5
    assert data["unanswered"][0]["text"] == "Who won the World Cup?"  # most frequent first


def test_the_window_and_retention(engine):
    summarise(engine)
    assert report.build(engine, 1)["conversations"] == 3  # web, Slack and Teams today
    wide = report.build(engine, 90)
    assert wide["conversations"] == 8 and wide["user_messages"] == 32
    assert ("xkcd zzz", 1) in [(u["text"], u["count"]) for u in wide["unanswered"]]
    with engine.begin() as conn:
        summary.prune(conn, days_kept=30)  # the 40-day-old conversation's figures go
    assert report.build(engine, 90)["conversations"] == 7


def test_small_batches_give_the_same_figures(engine, tmp_path):
    """Refreshes that stop anywhere (mid-turn, mid-dialog) count exactly the same."""
    summarise(engine)
    expected = report.build(engine, 90)
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    create_events_table(other)
    summary.create_tables(other)
    rows = rows_in_id_order(hand_made_conversations())
    half = len(rows) // 2
    insert(other, rows[:half])
    summarise(other, batch=7)
    insert(other, rows[half:])  # new events arrive after a refresh
    summarise(other, batch=7)
    got = report.build(other, 90)
    for key in ("conversations", "user_messages", "by_channel", "recommendations", "asks",
                "funnel", "comparisons", "median_turns_to_recommendation", "unanswered_messages"):
        assert got[key] == expected[key], key
    assert [(u["kind"], u["count"]) for u in got["unanswered"]] == \
        [(u["kind"], u["count"]) for u in expected["unanswered"]]


def test_a_refresh_counts_only_new_events(engine):
    summarise(engine)
    before = report.build(engine, 30)
    late = Conversation("web-late", NOW + 3000, "rest")
    late.user("Is there a podcast?", "ask_not_covered").reply("utter_not_covered", "Sorry, ...")
    insert(engine, late.rows)
    summarise(engine)
    summarise(engine)  # nothing new: nothing counted twice
    after = report.build(engine, 30)
    assert after["conversations"] == before["conversations"] + 1
    assert after["user_messages"] == before["user_messages"] + 1
    assert ("Is there a podcast?", 1) in [(u["text"], u["count"]) for u in after["unanswered"]]


def test_texts_can_be_switched_off(engine):
    summarise(engine)
    data = report.build(engine, 30, keep_texts=False)
    assert {(u["kind"], u["count"]) for u in data["unanswered"]} == {
        ("fallback", 2), ("off-subject", 2), ("not in the article", 1)}
    shown = " ".join(u["text"] for u in data["unanswered"])
    assert "World Cup" not in shown and "asdf" not in shown


def test_no_sender_id_is_kept_or_shown(engine):
    summarise(engine)
    page = report.build(engine, 90)
    with engine.connect() as conn:
        states = " ".join(r[0] + r[1] for r in conn.execute(
            sa.select(summary.SENDERS.c.sender_key, summary.SENDERS.c.state)))
        daily = " ".join(str(tuple(r)) for r in conn.execute(sa.select(summary.DAILY)))
    for sender in ("web-0a1b", "rest-1", "U0SLACK", "29:teams", "web-old"):
        assert sender not in states and sender not in daily and sender not in str(page)


def test_silent_answers_are_recognised():
    """Every "the article doesn't say" reply is sent by a response the summary looks for."""
    for fmt in knowledge.format_names():
        for topic, entry in knowledge.load().topics.items():
            if not entry.general:
                event = json.dumps({"metadata": {"utter_action": silent_reply(topic, fmt)[1]}})
                assert summary.SILENT_RESPONSE in event


def test_csv_tables(engine):
    summarise(engine)
    tables = report.tables(report.build(engine, 30))
    assert tables["recommendations"] == [["format", "count"], ["SPOC (blended)", 1],
                                         ["internal COOC", 1]]
    assert tables["unanswered"][1][:3] == ["Who won the World Cup?", "off-subject", 2]
    assert report.to_csv([["=cmd()", 1]]) == "'=cmd(),1\r\n"  # no spreadsheet formulas


def test_settings_follow_the_tracker_store(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: stores.cached_sql.CachedSQLTrackerStore\n"
                         "  dialect: postgresql\n  url: db.example\n  port: 5433\n"
                         "  username: rasa\n  password: ${DB_PASSWORD}\n  db: tracker\n")
    settings = load({"INSIGHTS_ENDPOINTS": str(endpoints), "DB_PASSWORD": "s3cret"})
    assert settings.db_url.render_as_string(hide_password=False) == \
        "postgresql://rasa:s3cret@db.example:5433/tracker"
    assert settings.keep_texts and settings.days_kept == 90 and settings.token is None
    endpoints.write_text("tracker_store:\n  type: stores.cached_sql.CachedSQLTrackerStore\n"
                         "  dialect: sqlite\n  db: rasa_tracker.db\n")
    settings = load({"INSIGHTS_ENDPOINTS": str(endpoints), "INSIGHTS_TEXTS": "off",
                     "INSIGHTS_DAYS_KEPT": "14", "INSIGHTS_TOKEN": "t"})
    assert isinstance(settings, Settings) and not settings.keep_texts
    assert settings.days_kept == 14 and settings.token == "t"
    assert settings.db_url.database.endswith("/rasa_tracker.db")


@pytest.fixture
def postgres_engine():
    """The hand-made store in a database of its own on the shared PostgreSQL."""
    import psycopg2

    name = f"insights_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    engine = sa.create_engine(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        create_events_table(engine)
        insert(engine, rows_in_id_order(hand_made_conversations()))
        summary.create_tables(engine)
        yield engine
    finally:
        engine.dispose()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


@pytest.mark.integration  # PostgreSQL
def test_the_same_counts_on_postgresql(postgres_engine, engine):
    summarise(engine)
    summarise(postgres_engine, batch=11)
    summarise(postgres_engine)  # nothing new: nothing counted twice
    on_sqlite, on_postgres = report.build(engine, 90), report.build(postgres_engine, 90)
    assert on_postgres["conversations"] == 8
    for key in ("conversations", "user_messages", "by_channel", "recommendations", "asks",
                "funnel", "comparisons", "median_turns_to_recommendation", "unanswered"):
        assert on_postgres[key] == on_sqlite[key], key
