"""Tests for assistant/recommender.py and data/recommendation.yml.

Each profile row carries the article sentence that decides it; the sentence
must occur verbatim in the article, so a row cannot cite something the
article does not say.
"""

import copy
import itertools
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from assistant.recommendation_rules import RecommendationRules, load_rules, parse_knowledge
from assistant.recommendation_text import render, render_details, render_short
from assistant.content import FORMATS
from assistant.recommender import (Profile, Recommendation, can_change, learner_count,
                                 needs_open_to_all, recommend, same_answer)

REPO = Path(__file__).resolve().parents[1]

# A copy of shared/seed/000_a33449038a87945a.txt (tests/test_knowledge.py checks they match).
ARTICLE_PATH = REPO / "docs" / "source-article.txt"
KNOWLEDGE_PATH = REPO / "data" / "recommendation.yml"


@pytest.fixture(scope="module")
def article() -> str:
    assert ARTICLE_PATH.is_file(), f"article not found at {ARTICLE_PATH}"
    return ARTICLE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def raw_knowledge() -> dict:
    return yaml.safe_load(KNOWLEDGE_PATH.read_text(encoding="utf-8"))


def family(fmt: str) -> str:
    return "cooc" if fmt.startswith("cooc") else fmt


# --------------------------------------------------------------------------
# The decision table: (id, profile, expected format, expected blended, sentence)

P = Profile
MOOC_OPEN = "The MOOC is open to everyone."
THOUSANDS = ("Those enrolled in these types of online courses number in the thousands and are "
             "scattered all over the world.")
SME = ("SMEs that want to train their employees, but do not have the resources to develop "
       "internal training, can also benefit from the advantages of the MOOC.")
FREE = ("Initiated by international universities, the MOOC was set up in order to facilitate "
        "learning and offer free access to knowledge.")
COOC_GOALS = ("It can be set up in order to support the company in its digital transformation, "
              "to develop the skills of employees, to train customers or the company's new "
              "collaborators.")
CULTURE = ("This may involve, for example, promoting work tools, services or products, "
           "recruiting partners, strengthening team spirit, or developing company culture.")
PRIVATE = ("The internal COOC is dedicated to a private community, which may include employees, "
           "collaborators, customers or prospects of the company.")
EXTERNAL = "The external COOC, for its part, is accessible to all Internet users."
LOYALTY = ("Most of the time, the external COOC is part of a company loyalty program and aims to "
           "improve its e-reputation.")
UNPRODUCTIVE = ("It is a solution implemented in order to identify and resolve sources of "
                "unproductivity in one or more services.")
COACHING = ("They are similar to a coaching system, allowing participants to be supported "
            "individually, while evolving in a collective framework.")
PER_TRAINER = ("In general, the training brings together about fifteen students per trainer, but "
               "some formats allow up to 50 learners to be brought together.")
BLENDED = ("Training can be 100% digitized or combined with face-to-face courses, which is "
           "similar to blended learning.")
STAKEHOLDERS = ("Stakeholders may include experts in a specific field or employees in the same "
                "department.")
PRODUCTS = CULTURE  # "promoting work tools, services or products"
ORG_EXPERTISE = ("In this case, the themes dealt with are often oriented around the expertise of "
                 "the organization.")
PRACTICES = ("Focused on a technical level, SPOC is often about practices, as well as ways of "
             "working in society.")
TOPICS = ("The training can cover various topics, such as marketing actions, communication "
          "techniques, or bank loans, for example.")
CATALOGUE = "It aims to develop skills among learners, who are free to choose from thousands of MOOCs."
INTERNAL_EXCHANGES = ("The internal COOC values exchanges between participants, and supports "
                      "learners throughout the training.")
FORUMS = ("In order to facilitate sharing, interactive spaces such as discussion forums are set up "
          "on the platform, in a social learning spirit.")
SHARING = "The courses are mainly focused on practices and the sharing of experiences."
LIMITED = ("Unlike the MOOC, which is “Massive”, the SPOC is “Small”, that is to say that the "
           "courses are intended only for a limited audience.")

CASES = [
    # --- MOOC
    ("public_thousands_free_knowledge",
     P(audience="public", learners=20000, goal="free_knowledge"), "mooc", False,
     "The MOOC is open to everyone."),
    ("public_free_knowledge_no_size",
     P(audience="public", goal="free_knowledge"), "mooc", False,
     "Initiated by international universities, the MOOC was set up in order to facilitate "
     "learning and offer free access to knowledge."),
    ("public_massive",
     P(audience="public", learners=5000), "mooc", False,
     "Those enrolled in these types of online courses number in the thousands and are "
     "scattered all over the world."),
    ("sme_without_resources",
     P(audience="employees", learners=200, goal="skills", own_resources=False), "mooc", False,
     "SMEs that want to train their employees, but do not have the resources to develop "
     "internal training, can also benefit from the advantages of the MOOC."),
    ("no_resources_does_not_beat_spoc_signals",
     P(audience="experts", learners=10, coaching=True, own_resources=False), "spoc", False,
     "They are similar to a coaching system, allowing participants to be supported "
     "individually, while evolving in a collective framework."),
    ("public_small_but_free_knowledge",
     P(audience="public", learners=30, goal="free_knowledge"), "mooc", False,
     "The MOOC or Massive Online Open Course is a free online course, available to the "
     "general public."),
    ("free_knowledge_only",
     P(goal="free_knowledge"), "mooc", False,
     "Initiated by international universities, the MOOC was set up in order to facilitate "
     "learning and offer free access to knowledge."),
    # --- internal COOC
    ("ten_new_collaborators",
     P(audience="employees", learners=10, goal="onboarding"), "cooc_internal", False,
     "It can be set up in order to support the company in its digital transformation, to "
     "develop the skills of employees, to train customers or the company's new collaborators."),
    ("team_spirit_for_12",
     P(audience="employees", learners=12, goal="culture"), "cooc_internal", False,
     "This may involve, for example, promoting work tools, services or products, recruiting "
     "partners, strengthening team spirit, or developing company culture."),
    ("twenty_customers",
     P(audience="customers", learners=20), "cooc_internal", False,
     "The internal COOC is dedicated to a private community, which may include employees, "
     "collaborators, customers or prospects of the company."),
    ("employees_skills",
     P(audience="employees", learners=300, goal="skills"), "cooc_internal", False,
     "It can be set up in order to support the company in its digital transformation, to "
     "develop the skills of employees, to train customers or the company's new collaborators."),
    ("employees_onboarding_40",
     P(audience="employees", learners=40, goal="onboarding"), "cooc_internal", False,
     "It can be set up in order to support the company in its digital transformation, to "
     "develop the skills of employees, to train customers or the company's new collaborators."),
    ("employees_culture",
     P(audience="employees", learners=500, goal="culture"), "cooc_internal", False,
     "This may involve, for example, promoting work tools, services or products, recruiting "
     "partners, strengthening team spirit, or developing company culture."),
    ("customers_private",
     P(audience="customers", learners=800, goal="skills", open_to_all=False), "cooc_internal",
     False,
     "The internal COOC is dedicated to a private community, which may include employees, "
     "collaborators, customers or prospects of the company."),
    ("employees_only",
     P(audience="employees"), "cooc_internal", False,
     "The internal COOC is dedicated to a private community, which may include employees, "
     "collaborators, customers or prospects of the company."),
    ("many_employees_need_support",
     P(audience="employees", learners=2000, goal="skills", coaching=True), "cooc_internal",
     False,
     "The internal COOC values exchanges between participants, and supports learners "
     "throughout the training."),
    ("productivity_but_100_learners",
     P(audience="employees", learners=100, goal="productivity"), "cooc_internal", False,
     "Thus, the themes addressed relate to business problems."),
    ("employees_500_onboarding_face_to_face",
     P(audience="employees", learners=500, goal="onboarding", face_to_face=True),
     "cooc_internal", False, COOC_GOALS),
    ("experts_over_spoc_limit",
     P(audience="experts", learners=500, goal="skills"), "cooc_internal", False,
     "In general, the training brings together about fifteen students per trainer, but some "
     "formats allow up to 50 learners to be brought together."),
    ("face_to_face_but_3000",
     P(audience="employees", learners=3000, goal="skills", face_to_face=True), "cooc_internal",
     False,
     "Training can be 100% digitized or combined with face-to-face courses, which is similar "
     "to blended learning."),
    # --- external COOC
    ("customers_loyalty_open",
     P(audience="customers", learners=5000, goal="loyalty", open_to_all=True), "cooc_external",
     False,
     "Most of the time, the external COOC is part of a company loyalty program and aims to "
     "improve its e-reputation."),
    ("customers_loyalty_open_unknown",
     P(audience="customers", learners=5000, goal="loyalty"), "cooc_external", False,
     "Most of the time, the external COOC is part of a company loyalty program and aims to "
     "improve its e-reputation."),
    ("public_open_cooc",
     P(audience="public", learners=400, goal="loyalty", open_to_all=True), "cooc_external",
     False,
     "The external COOC, for its part, is accessible to all Internet users."),
    # --- SPOC
    ("experts_productivity",
     P(audience="experts", learners=12, goal="productivity"), "spoc", False,
     "It is a solution implemented in order to identify and resolve sources of "
     "unproductivity in one or more services."),
    ("experts_15",
     P(audience="experts", learners=15), "spoc", False,
     "Stakeholders may include experts in a specific field or employees in the same "
     "department."),
    ("team_of_45_coached",
     P(audience="experts", learners=45, coaching=True), "spoc", False,
     "In general, the training brings together about fifteen students per trainer, but some "
     "formats allow up to 50 learners to be brought together."),
    ("department_coaching_productivity",
     P(audience="employees", learners=20, coaching=True, goal="productivity"), "spoc", False,
     "They are similar to a coaching system, allowing participants to be supported "
     "individually, while evolving in a collective framework."),
    ("employees_30_need_coaching",
     P(audience="employees", learners=30, coaching=True), "spoc", False,
     "They are similar to a coaching system, allowing participants to be supported "
     "individually, while evolving in a collective framework."),
    ("contradictory_public_8_coaching",
     P(audience="public", learners=8, coaching=True), "spoc", False,
     "Unlike the MOOC, which is “Massive”, the SPOC is “Small”, that is to say that the "
     "courses are intended only for a limited audience."),
    # --- blended (SPOC + face-to-face)
    ("experts_face_to_face",
     P(audience="experts", learners=12, face_to_face=True), "spoc", True,
     "Training can be 100% digitized or combined with face-to-face courses, which is similar "
     "to blended learning."),
    ("department_blended_coaching",
     P(audience="employees", learners=25, coaching=True, face_to_face=True), "spoc", True,
     "Training can be 100% digitized or combined with face-to-face courses, which is similar "
     "to blended learning."),
    ("employees_40_face_to_face",
     P(audience="employees", learners=40, face_to_face=True), "spoc", True,
     "Training can be 100% digitized or combined with face-to-face courses, which is similar "
     "to blended learning."),
    ("employees_face_to_face",
     P(audience="employees", face_to_face=True), "spoc", True,
     "Stakeholders may include experts in a specific field or employees in the same "
     "department."),
    ("face_to_face_only",
     P(face_to_face=True), "spoc", True,
     "Training can be 100% digitized or combined with face-to-face courses, which is similar "
     "to blended learning."),
    # --- issue 11: K, T, R
    # K: everything points to a SPOC; the missing resources are a note, not a switch.
    ("K_experts_productivity_coaching_no_resources",
     P(audience="experts", learners=15, goal="productivity", coaching=True,
       own_resources=False), "spoc", False, COACHING),
    # T: somebody else's MOOC cannot serve a company loyalty program.
    ("T_customers_loyalty_no_resources",
     P(audience="customers", learners=500, goal="loyalty", own_resources=False),
     "cooc_external", False, LOYALTY),
    # R: more than one SPOC holds and nothing for anything else: SPOC groups, blended.
    ("R_60_experts_productivity_coaching_face_to_face",
     P(audience="experts", learners=60, goal="productivity", coaching=True, face_to_face=True),
     "spoc", True, PER_TRAINER),
    ("R_with_exchanges_and_own_products_stays_spoc_groups",
     P(audience="experts", learners=60, goal="productivity", coaching=True, face_to_face=True,
       theme="company", exchanges=True), "spoc", True, PER_TRAINER),
    ("experts_80_coaching_in_groups",
     P(audience="experts", learners=80, coaching=True), "spoc", False, PER_TRAINER),
    ("experts_200_productivity_in_groups",
     P(audience="experts", learners=200, goal="productivity"), "spoc", False, UNPRODUCTIVE),
    # --- more MOOC rows
    ("public_only", P(audience="public"), "mooc", False, MOOC_OPEN),
    ("thousands_only", P(learners=3000), "mooc", False, THOUSANDS),
    ("no_resources_only", P(own_resources=False), "mooc", False, SME),
    ("public_2000_skills", P(audience="public", learners=2000, goal="skills"), "mooc", False,
     MOOC_OPEN),
    ("public_free_knowledge_no_resources",
     P(audience="public", goal="free_knowledge", own_resources=False), "mooc", False, FREE),
    ("employees_skills_no_resources_size_unknown",
     P(audience="employees", goal="skills", own_resources=False), "mooc", False, SME),
    ("employees_5000_skills_no_resources",
     P(audience="employees", learners=5000, goal="skills", own_resources=False), "mooc", False,
     SME),
    ("customers_free_knowledge",
     P(audience="customers", learners=200, goal="free_knowledge"), "mooc", False, FREE),
    ("public_5000_face_to_face",
     P(audience="public", learners=5000, face_to_face=True), "mooc", False, THOUSANDS),
    # --- more internal COOC rows
    ("eight_new_hires", P(audience="employees", learners=8, goal="onboarding"),
     "cooc_internal", False, COOC_GOALS),
    ("customers_trained_privately",
     P(audience="customers", learners=200, goal="skills", open_to_all=False), "cooc_internal",
     False, COOC_GOALS),
    ("culture_for_300", P(audience="employees", learners=300, goal="culture"), "cooc_internal",
     False, CULTURE),
    ("onboarding_only", P(goal="onboarding"), "cooc_internal", False, COOC_GOALS),
    ("culture_only", P(goal="culture"), "cooc_internal", False, CULTURE),
    ("skills_only", P(goal="skills"), "cooc_internal", False, COOC_GOALS),
    ("customers_only", P(audience="customers"), "cooc_internal", False, PRIVATE),
    ("onboarding_40_no_resources",
     P(audience="employees", learners=40, goal="onboarding", own_resources=False),
     "cooc_internal", False, COOC_GOALS),
    ("customers_skills_private_no_resources",
     P(audience="customers", goal="skills", own_resources=False, open_to_all=False),
     "cooc_internal", False, COOC_GOALS),
    # --- more external COOC rows
    ("loyalty_only", P(goal="loyalty"), "cooc_external", False, LOYALTY),
    ("public_loyalty", P(audience="public", goal="loyalty"), "cooc_external", False, LOYALTY),
    ("employees_skills_open_to_all",
     P(audience="employees", goal="skills", open_to_all=True), "cooc_external", False,
     EXTERNAL),
    ("customers_2000_skills_open",
     P(audience="customers", learners=2000, goal="skills", open_to_all=True), "cooc_external",
     False, EXTERNAL),
    ("ten_customers_loyalty", P(audience="customers", learners=10, goal="loyalty"),
     "cooc_external", False, LOYALTY),
    # --- more SPOC rows
    ("productivity_only", P(goal="productivity"), "spoc", False, UNPRODUCTIVE),
    ("coaching_only", P(coaching=True), "spoc", False, COACHING),
    ("twelve_learners_only", P(learners=12), "spoc", False, PER_TRAINER),
    ("experts_productivity_no_resources",
     P(audience="experts", goal="productivity", own_resources=False), "spoc", False,
     UNPRODUCTIVE),
    ("department_of_40_productivity",
     P(audience="employees", learners=40, goal="productivity"), "spoc", False, STAKEHOLDERS),
    ("twelve_experts_skills", P(audience="experts", learners=12, goal="skills"), "spoc", False,
     STAKEHOLDERS),
    ("public_12_productivity", P(audience="public", learners=12, goal="productivity"), "spoc",
     False, LIMITED),
    # --- more blended rows
    ("experts_20_face_to_face_no_resources",
     P(audience="experts", learners=20, goal="productivity", face_to_face=True,
       own_resources=False), "spoc", True, BLENDED),
    ("fifteen_new_hires_coached_face_to_face",
     P(audience="employees", learners=15, goal="onboarding", coaching=True, face_to_face=True),
     "spoc", True, COACHING),
    # --- the theme: the organisation's own products (COOC), practices (SPOC), general
    #     knowledge (MOOC); only general knowledge lets somebody else's MOOC serve an
    #     organisation without resources
    ("sme_own_products_no_resources",
     P(audience="employees", goal="skills", own_resources=False, theme="company"),
     "cooc_internal", False, PRODUCTS),
    ("sme_general_knowledge_no_resources",
     P(audience="employees", goal="skills", own_resources=False, theme="general"), "mooc",
     False, CATALOGUE),
    ("sme_practices_30_no_resources",
     P(audience="employees", learners=30, own_resources=False, theme="practices"), "spoc",
     False, PRACTICES),
    ("customers_product_range_no_resources",
     P(audience="customers", learners=400, theme="company", own_resources=False),
     "cooc_internal", False, PRODUCTS),
    ("public_300_skills", P(audience="public", learners=300, goal="skills"), "cooc_external",
     False, EXTERNAL),
    ("public_300_skills_general_knowledge",
     P(audience="public", learners=300, goal="skills", theme="general"), "mooc", False, TOPICS),
    ("public_organisation_expertise", P(audience="public", theme="company"), "cooc_external",
     False, ORG_EXPERTISE),
    ("employees_30_practices", P(audience="employees", learners=30, theme="practices"), "spoc",
     False, PRACTICES),
    ("experts_practices_no_resources",
     P(audience="experts", theme="practices", own_resources=False), "spoc", False, PRACTICES),
    ("onboarding_general_theme", P(audience="employees", goal="onboarding", theme="general"),
     "cooc_internal", False, COOC_GOALS),
    ("free_knowledge_about_own_products", P(goal="free_knowledge", theme="company"), "mooc",
     False, FREE),
    # --- exchanges between learners: the COOC's forums and collaborative work, the SPOC's
    #     sharing of experiences; nothing said of it for the MOOC
    ("public_5000_skills_exchanges",
     P(audience="public", learners=5000, goal="skills", exchanges=True), "cooc_external", False,
     FORUMS),
    ("public_5000_skills_no_exchanges",
     P(audience="public", learners=5000, goal="skills", exchanges=False), "mooc", False,
     THOUSANDS),
    ("employees_30_exchanges", P(audience="employees", learners=30, exchanges=True),
     "cooc_internal", False, INTERNAL_EXCHANGES),
    ("public_free_knowledge_exchanges",
     P(audience="public", goal="free_knowledge", exchanges=True), "mooc", False, FREE),
    ("public_40_exchanges", P(audience="public", learners=40, exchanges=True),
     "cooc_external", False, FORUMS),
    ("experts_500_practices_in_groups", P(audience="experts", learners=500, theme="practices"),
     "spoc", False, PRACTICES),
    ("experts_coached_sharing_experiences",
     P(audience="employees", learners=45, exchanges=True, coaching=True), "spoc", False,
     SHARING),
    ("sme_general_no_resources_exchanges",
     P(audience="employees", goal="skills", own_resources=False, theme="general",
       exchanges=True), "mooc", False, SME),
]


@pytest.mark.parametrize(
    "profile, expected_format, expected_blended, sentence",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decision_table(article, profile, expected_format, expected_blended, sentence):
    assert sentence in article, "the deciding sentence must be verbatim in the article"
    rec = recommend(profile)
    assert rec.format == expected_format, rec.scores
    assert rec.blended is expected_blended
    assert 2 <= len(rec.reasons) <= 3
    assert family(rec.runner_up) != family(rec.format)
    assert rec.scores[family(rec.format)] > 0, "a format never wins with nothing for it"


def test_table_is_big_and_covers_every_format():
    assert len(CASES) >= 60
    assert {case[2] for case in CASES} == set(FORMATS)
    assert any(case[3] for case in CASES), "blended must be covered"
    assert len({case[0] for case in CASES}) == len(CASES)


# --------------------------------------------------------------------------
# RecommendationRules file: every source verbatim, every quoted fragment verbatim


def _entries_with_source(node, path=""):
    if isinstance(node, dict):
        if "sources" in node:
            yield path, node
        for key, value in node.items():
            yield from _entries_with_source(value, f"{path}.{key}" if path else str(key))


def test_every_yaml_source_is_verbatim_in_article(article, raw_knowledge):
    entries = list(_entries_with_source(raw_knowledge))
    assert len(entries) >= 40
    missing = [(path, sentence) for path, entry in entries for sentence in entry["sources"]
               if sentence not in article]
    assert missing == []


def test_every_text_entry_has_a_source(raw_knowledge):
    for section in ("reasons", "tensions", "runner_up_when", "combine"):
        for key, entry in raw_knowledge[section].items():
            assert entry.get("sources"), f"{section}.{key} has no source"
    for section in ("groups", "blended"):
        assert raw_knowledge[section].get("sources"), f"{section} has no source"
    for fmt in FORMATS:  # how each format is named: the format registry (knowledge.yml)
        assert load_rules().formats[fmt].sources


def test_quoted_fragments_in_texts_are_verbatim(article, raw_knowledge):
    quoted = []
    for _, entry in _entries_with_source(raw_knowledge):
        quoted += re.findall(r"“([^”]+)”", entry.get("text", ""))
    assert len(quoted) >= 10
    assert [q for q in quoted if q not in article] == []


def test_thresholds_come_from_the_article(raw_knowledge):
    t = raw_knowledge["thresholds"]
    assert t["spoc_learners_per_trainer"]["value"] == 15
    assert "fifteen students per trainer" in t["spoc_learners_per_trainer"]["sources"][0]
    assert t["spoc_max_learners"]["value"] == 50
    assert "up to 50 learners" in t["spoc_max_learners"]["sources"][0]
    assert t["mooc_massive_learners"]["value"] == 2000  # "thousands": two thousand and up
    assert "number in the thousands" in t["mooc_massive_learners"]["sources"][0]


def test_format_expansions(article):
    label = load_rules().label
    assert label("spoc") == "a SPOC (Small Private Online Course)"
    assert label("cooc_internal") == "an internal COOC (Corporate Online Open Course)"
    assert label("cooc_external") == "an external COOC (Corporate Online Open Course)"
    assert label("mooc") == "a MOOC (Massive Open Online Course)"
    for expansion in ("Small Private Online Course", "Corporate Online Open Course"):
        assert expansion in article


# --------------------------------------------------------------------------
# Thresholds drive the rules; bad edits are refused


def _knowledge_with(raw: dict, **thresholds) -> RecommendationRules:
    data = copy.deepcopy(raw)
    for key, value in thresholds.items():
        data["thresholds"][key]["value"] = value
    return parse_knowledge(data)


def test_thresholds_are_read_from_yaml(raw_knowledge):
    profile = P(audience="employees", learners=80, coaching=True)
    assert recommend(profile).format != "spoc"  # 80 > 50
    bigger = _knowledge_with(raw_knowledge, spoc_max_learners=100)
    rec = recommend(profile, knowledge=bigger)
    assert rec.format == "spoc" and not rec.groups
    assert any("up to 100" in reason for reason in rec.reasons)


def test_mooc_threshold_is_read_from_yaml(raw_knowledge):
    profile = P(learners=2500)
    rec = recommend(profile)
    assert rec.format == "mooc"
    assert any("2,500 learners is thousands" in r for r in rec.reasons)
    higher = _knowledge_with(raw_knowledge, mooc_massive_learners=5000)
    assert recommend(profile, knowledge=higher).format != "mooc"


def test_thousands_means_two_thousand_or_more():
    """The article's "number in the thousands" gives no figure: "thousands" (plural)
    starts at two thousand, so 1,000 or 1,999 learners is not yet MOOC-sized."""
    assert load_rules().mooc_massive == 2000
    for n in (1000, 1999):
        assert recommend(P(learners=n)).scores["mooc"] == 0
    assert recommend(P(learners=2000)).scores["mooc"] > 0


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["reasons"]["coaching_spoc"].pop("sources"),
         "reasons -> coaching_spoc -> sources\n  field required"),
        (lambda d: d["reasons"]["coaching_spoc"].update(sources=[]),
         "reasons -> coaching_spoc -> sources\n  ensure this value has at least 1 items"),
        # `source:` (the old spelling) is refused, not ignored.
        (lambda d: d["reasons"]["coaching_spoc"].update(source="It is."),
         "coaching_spoc -> source\n  extra fields not permitted"),
        (lambda d: d["reasons"].pop("coaching_spoc"), "missing entries"),
        (lambda d: d["tensions"]["public_but_small"].update(text="{learnerz}"), "placeholder"),
        (lambda d: d["thresholds"]["spoc_max_learners"].update(value=5), "spoc_learners_per_trainer <="),
        (lambda d: d["thresholds"]["spoc_max_learners"].update(value="fifty"),
         "spoc_max_learners -> value\n  value is not a valid integer"),
        (lambda d: d["thresholds"]["spoc_max_learners"].update(value=0), "positive integer"),
        (lambda d: d["reasons"]["cooc_internal"].update(formats=["cooc"]), "unknown value 'cooc'"),
        (lambda d: d.pop("groups"), "groups\n  field required"),
    ],
)
def test_bad_yaml_edits_are_refused(raw_knowledge, mutate, message):
    data = copy.deepcopy(raw_knowledge)
    mutate(data)
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_knowledge(data)


def test_knowledge_is_loaded_once():
    assert load_rules() is load_rules()


# --------------------------------------------------------------------------
# Reasons, tensions, runner-up, combination


def test_reasons_cite_the_decisive_criteria():
    rec = recommend(P(audience="experts", learners=12, goal="productivity"))
    text = " ".join(rec.reasons)
    assert "experts in a specific field" in text
    assert "unproductivity" in text
    assert "12 learners" in text


def test_cooc_reasons_say_internal_or_external():
    internal = recommend(P(audience="employees", goal="skills", open_to_all=False))
    external = recommend(P(audience="employees", goal="skills", open_to_all=True))
    assert internal.format == "cooc_internal" and external.format == "cooc_external"
    assert any("internal COOC" in r for r in internal.reasons)
    assert any("accessible to all Internet users" in r for r in external.reasons)


def test_rewards_complete_thin_reasons():
    rec = recommend(P(audience="experts"))
    assert rec.format == "spoc"
    assert len(rec.reasons) == 2
    assert any("medals or certificates" in r or "dedicated to specific stakeholders" in r
               for r in rec.reasons)


def test_contradiction_public_8_coaching_is_explained():
    rec = recommend(P(audience="public", learners=8, coaching=True))
    assert rec.format == "spoc"
    joined = " ".join(rec.tensions)
    assert "general public" in joined
    assert "8 learners" in joined
    assert "limited audience" in joined
    assert "selected according to their skill level and profile" in joined
    assert rec.runner_up == "mooc"
    assert rec.combine and "coexist in the same training plan" in rec.combine


@pytest.mark.parametrize(
    "profile, fragment",
    [
        (P(audience="employees", learners=2000, coaching=True), "individual coaching for 2,000"),
        (P(audience="experts", learners=500, goal="skills"), "fewer than your 500"),
        (P(audience="employees", learners=3000, face_to_face=True), "face-to-face"),
        (P(audience="experts", learners=10, own_resources=False), "resources to develop internal"),
        (P(audience="employees", goal="skills", open_to_all=True), "open to all Internet users"),
        (P(audience="public", goal="skills", open_to_all=False), "reserved for a private community"),
        (P(audience="customers", goal="loyalty", open_to_all=False), "closed to the public"),
        (P(audience="experts", learners=10, open_to_all=True), "a SPOC is private"),
    ],
)
def test_tensions_are_explained(profile, fragment):
    rec = recommend(profile)
    assert any(fragment in tension for tension in rec.tensions), rec.tensions


@pytest.mark.parametrize(
    "profile",
    [
        P(audience="experts", learners=12, goal="productivity", coaching=True, face_to_face=True),
        P(audience="public", learners=20000, goal="free_knowledge"),
        P(audience="employees", learners=300, goal="skills"),
        P(audience="customers", learners=5000, goal="loyalty", open_to_all=True),
    ],
)
def test_consistent_profiles_have_no_tension(profile):
    assert recommend(profile).tensions == []


def test_runner_up_when_no_resources_says_so():
    rec = recommend(P(audience="employees", learners=200, goal="skills", own_resources=False))
    assert rec.format == "mooc"
    assert rec.reasons[0] == (
        "Without the resources to develop internal training, organisations “can also "
        "benefit from the advantages of the MOOC”."
    )
    assert rec.runner_up == "cooc_internal"
    assert rec.runner_up_change == ("own_resources", True)
    assert "if your organisation could build its own course" in render(rec)
    assert rec.combine is None


def test_runner_up_is_the_second_best():
    rec = recommend(P(audience="experts", learners=30, coaching=True, goal="skills"))
    assert rec.format == "spoc"
    assert family(rec.runner_up) == "cooc", "the COOC has the next most points"
    slot, value = rec.runner_up_change
    assert recommend(replace(P(audience="experts", learners=30, coaching=True, goal="skills"),
                             **{slot: value})).format == rec.runner_up


# --------------------------------------------------------------------------
# Issue 11: K, T, R and the runner-up sentences that contradicted the user


def test_K_no_resources_is_a_note_not_a_switch():
    rec = recommend(P(audience="experts", learners=15, goal="productivity", coaching=True,
                      own_resources=False))
    assert rec.format == "spoc"
    assert not any("MOOC" in reason for reason in rec.reasons), rec.reasons
    assert any("can also benefit from the advantages of the MOOC" in t for t in rec.tensions)
    assert any("plan how to provide a SPOC" in t for t in rec.tensions)


def test_T_loyalty_without_resources_stays_an_external_cooc():
    rec = recommend(P(audience="customers", learners=500, goal="loyalty", own_resources=False))
    assert rec.format == "cooc_external"
    assert rec.scores["mooc"] == 0, "missing resources are no point for somebody else's MOOC"
    assert any("loyalty program" in reason for reason in rec.reasons)
    assert any("resources" in t for t in rec.tensions)


def test_R_late_answers_never_overturn_the_spoc_groups():
    """The theme and exchanges give the COOC or the MOOC a few points; they do not hand
    R to a format with far fewer points than the SPOC, so R is not asked them."""
    r = P(audience="experts", learners=60, goal="productivity", coaching=True,
          face_to_face=True)
    for theme, exchanges in itertools.product((None, "company", "practices", "general"),
                                              (None, True, False)):
        rec = recommend(replace(r, theme=theme, exchanges=exchanges))
        assert (rec.format, rec.groups) == ("spoc", True), (theme, exchanges, rec.scores)
    assert not can_change(r, "theme") and not can_change(r, "exchanges")


def test_R_sixty_experts_get_spoc_groups_not_a_zero_point_cooc():
    rec = recommend(P(audience="experts", learners=60, goal="productivity", coaching=True,
                      face_to_face=True))
    assert (rec.format, rec.blended, rec.groups) == ("spoc", True, True)
    text = render(rec)
    assert text.startswith("I recommend a SPOC (Small Private Online Course), run as several "
                           "groups of about 15 learners per trainer, combined with face-to-face "
                           "sessions (blended learning).")
    assert "60 learners is more than one SPOC holds" in text
    assert rec.tensions == [], "no note that the SPOC cannot hold them: it is in groups"


@pytest.mark.parametrize("profile, not_said", [
    (P(audience="employees", learners=8, goal="onboarding"), "new collaborators"),
    (P(audience="employees", learners=10, goal="onboarding"), "about 10 learners"),
    (P(audience="employees", learners=30), "about 40 learners"),
    (P(audience="employees", learners=2000, goal="skills", coaching=True), "thousands"),
    (P(audience="public", learners=400, goal="loyalty"), "open to all Internet users"),
    (P(audience="public", goal="skills", open_to_all=False), "open to all Internet users"),
])
def test_runner_up_never_names_an_answer_already_given(profile, not_said):
    line = render(recommend(profile)).splitlines()
    runner = next(l for l in line if l.startswith("Runner-up:"))
    assert not_said not in runner, runner


def test_external_cooc_never_shows_the_internal_cooc_private_community():
    for profile in (P(audience="employees", goal="skills", open_to_all=True),
                    P(audience="customers", goal="skills", open_to_all=True),
                    P(audience="customers", goal="loyalty")):
        rec = recommend(profile)
        assert rec.format == "cooc_external"
        assert not any("private community" in r or "internal COOC" in r for r in rec.reasons)


def test_customers_are_not_told_about_employees_skills():
    rec = recommend(P(audience="customers", learners=300, goal="skills"))
    assert rec.format == "cooc_internal"
    assert not any("skills of employees" in r for r in rec.reasons), rec.reasons
    assert any("Training customers" in r for r in rec.reasons)


def test_combine_for_coached_subgroup_of_large_audience():
    rec = recommend(P(audience="employees", learners=2000, goal="skills", coaching=True))
    assert rec.combine is not None
    assert "SPOC" in rec.combine and "coexist" in rec.combine


def test_combine_for_close_call():
    # employees (COOC 3, SPOC 1) + 30 learners (SPOC 2): 3 vs 3.
    rec = recommend(P(audience="employees", learners=30))
    assert rec.format == "cooc_internal"
    assert rec.combine is not None and "both" in rec.combine


def test_no_combine_for_clear_cut_case():
    rec = recommend(P(audience="experts", learners=12, goal="productivity", coaching=True))
    assert rec.combine is None


def test_float_learner_slot_is_accepted():
    assert recommend(P(audience="experts", learners=12.0)).format == "spoc"
    assert any("12 learners" in r for r in recommend(P(audience="experts", learners=12.0)).reasons)


# --------------------------------------------------------------------------
# needs_open_to_all


@pytest.mark.parametrize(
    "profile, expected",
    [
        (P(audience="employees", goal="skills"), True),
        (P(audience="customers", learners=5000, goal="loyalty"), True),
        (P(audience="experts", learners=12), False),
        (P(audience="public", learners=20000, goal="free_knowledge"), False),
        (P(audience="employees", goal="skills", own_resources=False), False),
    ],
)
def test_needs_open_to_all(profile, expected):
    assert needs_open_to_all(profile) is expected


def test_open_to_all_answer_never_changes_the_leading_family():
    values = {
        "audience": (None, "public", "employees", "customers", "experts"),
        "learners": (None, 10, 40, 300, 5000),
        "goal": (None, "free_knowledge", "skills", "loyalty", "productivity"),
        "coaching": (None, True),
        "face_to_face": (None, True),
    }
    for combo in itertools.product(*values.values()):
        profile = Profile(**dict(zip(values, combo)))
        asked = needs_open_to_all(profile)
        for answer in (True, False):
            answered = Profile(**{**profile.__dict__, "open_to_all": answer})
            assert needs_open_to_all(answered) is asked
            rec = recommend(answered)
            assert (family(rec.format) == "cooc") is asked


# --------------------------------------------------------------------------
# render()


def test_render_spoc_blended():
    text = render(recommend(P(audience="experts", learners=12, face_to_face=True)))
    assert text.startswith(
        "I recommend a SPOC (Small Private Online Course), "
        "combined with face-to-face sessions (blended learning)."
    )
    assert "Runner-up: a MOOC, which would be the better choice with thousands of learners." in text
    assert text.count("(Small Private Online Course)") == 1


def test_render_mooc_and_runner_up():
    rec = recommend(P(audience="public", learners=20000, goal="free_knowledge"))
    text = render(rec)
    assert text.startswith("I recommend a MOOC (Massive Open Online Course).")
    assert ("Runner-up: an external COOC, which would be the better choice if the goal were a "
            "loyalty program or e-reputation.") in text
    assert "Note:" not in text


def test_render_cooc_and_tension_and_combine():
    rec = recommend(P(audience="employees", learners=2000, goal="skills", coaching=True))
    text = render(rec)
    assert text.startswith("I recommend an internal COOC (Corporate Online Open Course).")
    assert "Note: You want individual coaching for 2,000 learners" in text
    assert rec.combine in text
    for reason in rec.reasons:
        assert f"- {reason}" in text


def test_render_contradiction():
    text = render(recommend(P(audience="public", learners=8, coaching=True)))
    assert text.startswith("I recommend a SPOC (Small Private Online Course).")
    assert text.count("Note:") == 2
    assert "Runner-up: a MOOC, which would be the better choice" in text


def test_render_shape_for_a_hand_made_recommendation():
    rec = Recommendation(
        format="cooc_external", blended=False, reasons=["R1.", "R2."],
        runner_up="spoc", runner_up_change=("coaching", True), combine=None, tensions=["T."],
    )
    assert render(rec).splitlines() == [
        "I recommend an external COOC (Corporate Online Open Course).",
        "- R1.",
        "- R2.",
        "Note: T.",
        "Runner-up: a SPOC, which would be the better choice if the learners needed individual "
        "coaching.",
    ]
    assert render_short(rec) == ("I recommend an external COOC (Corporate Online Open Course)."
                                 "\nR1.")
    assert render_details(rec).splitlines()[0] == "Why the external COOC:"
    no_change = replace(rec, runner_up_change=None)
    assert "Runner-up: a SPOC, the next best fit for your answers" in render(no_change)


# --------------------------------------------------------------------------
# Never raises, always well-formed


# Words that show which format or audience a reason speaks of.
OTHER_FORMAT_WORDS = {
    "mooc": ("SPOC", "COOC"),
    "spoc": ("MOOC", "COOC"),
    "cooc_internal": ("MOOC", "SPOC", "external COOC", "accessible to all Internet users"),
    "cooc_external": ("MOOC", "SPOC", "internal COOC", "private community"),
}
AUDIENCE_WORDS = {
    "Your audience is the general public": ("public",),
    "Your learners are employees": ("employees",),
    "Your learners are customers": ("customers",),
    "Your learners are a selected group": ("experts",),
    "skills of employees": (None, "employees", "experts"),
    "Training customers": ("customers",),
    "team spirit": (None, "employees", "experts"),
}
# Words of a reason that repeat one of the user's answers: shown only for that answer.
ANSWER_WORDS = {
    "your own products, tools or expertise": ("theme", "company"),
    "about practices and ways of working": ("theme", "practices"),
    "about general knowledge": ("theme", "general"),
    "You want learners to exchange": ("exchanges", True),
    "You want face-to-face sessions": ("face_to_face", True),
    "need individual support": ("coaching", True),
    "Without the resources": ("own_resources", False),
}


def assert_consistent(profile: Profile, rec: Recommendation) -> None:
    """What a user could catch the bot at: a winner with nothing for it, a runner-up
    "if" they already said, a reason about another format, another audience or an
    answer they didn't give."""
    if any(rec.scores.values()):
        assert rec.scores[family(rec.format)] > 0, "a format never wins with nothing for it"
    if rec.runner_up_change:
        slot, value = rec.runner_up_change
        assert slot != "open_to_all"
        assert not same_answer(slot, getattr(profile, slot), value), "condition = an answer"
        assert recommend(replace(profile, **{slot: value})).format == rec.runner_up
    for reason in rec.reasons:
        assert not any(word in reason for word in OTHER_FORMAT_WORDS[rec.format]), reason
        for words, audiences in AUDIENCE_WORDS.items():
            assert words not in reason or profile.audience in audiences, reason
        for words, (slot, value) in ANSWER_WORDS.items():
            assert words not in reason or getattr(profile, slot) == value, reason
        counts = re.findall(r"^([\d,]+) learners", reason)
        assert not counts or int(counts[0].replace(",", "")) == learner_count(profile)


def assert_well_formed(profile: Profile, rec: Recommendation) -> None:
    assert rec.format in FORMATS
    assert rec.runner_up in FORMATS
    assert family(rec.runner_up) != family(rec.format)
    assert 2 <= len(rec.reasons) <= 3
    assert len(set(rec.reasons)) == len(rec.reasons)
    assert rec.blended == (rec.format == "spoc" and profile.face_to_face is True)
    assert_consistent(profile, rec)
    text = render(rec)
    assert text.startswith("I recommend a")
    assert "Runner-up:" in text
    assert "{" not in text and "}" not in text
    assert text.count(" Course)") == 1, "the expansion once per reply"


def _every_combination(values: dict) -> int:
    count = 0
    for combo in itertools.product(*values.values()):
        profile = Profile(**dict(zip(values, combo)))
        assert_well_formed(profile, recommend(profile))
        count += 1
    return count


# Learner counts on each side of every threshold (15, 50, 2,000), and two that are not
# counts; "unknown" stands for any answer outside the known values.
LEARNERS = (None, 1, 15, 16, 50, 51, 1999, 2000, 0, -3)
AUDIENCES = (None, "public", "employees", "customers", "experts", "unknown")
GOALS = (None, "free_knowledge", "skills", "onboarding", "loyalty", "productivity", "culture",
         "unknown")
THEMES = (None, "company", "practices", "general", "unknown")


@pytest.mark.slow  # every profile: about a minute on a busy machine; in `make test` only
def test_every_profile_gives_a_well_formed_and_consistent_answer(article):
    """Every combination of the first seven answers (the theme and exchanges not asked)."""
    values = {"audience": AUDIENCES, "learners": LEARNERS, "goal": GOALS[:-1],
              "coaching": (None, True, False), "face_to_face": (None, True, False),
              "own_resources": (None, True, False), "open_to_all": (None, True, False)}
    assert _every_combination(values) == 6 * 10 * 7 * 3 ** 4


@pytest.mark.slow
def test_every_theme_and_exchanges_answer_gives_a_consistent_answer(article):
    """Every theme and exchanges answer (unknown ones included) with every audience, goal
    and resources answer; the other answers at the values that score (the full grid above
    shows None and False score the same)."""
    values = {"audience": AUDIENCES, "learners": (None, 15, 51, 2000, -3), "goal": GOALS,
              "coaching": (None, True), "face_to_face": (None, True),
              "own_resources": (None, True, False), "theme": THEMES,
              "exchanges": (None, True, False)}
    assert _every_combination(values) == 6 * 5 * 8 * 2 * 2 * 3 * 5 * 3


def test_internal_cooc_never_gives_external_only_reasons():
    for profile in (
        P(audience="public", goal="skills", open_to_all=False),
        P(audience="customers", goal="loyalty", open_to_all=False),
    ):
        rec = recommend(profile)
        assert rec.format == "cooc_internal"
        assert not any("external COOC" in reason for reason in rec.reasons), rec.reasons


def test_spoc_limit_is_explained_once():
    rec = recommend(P(audience="employees", learners=80, coaching=True))
    assert rec.format != "spoc"
    assert rec.runner_up == "spoc"
    assert sum("at most 50" in t for t in rec.tensions) == 1
