"""Prints what the bot says at the end of the recommendation dialog for the audit
classes of issue 23 (docs/recommender-before-after.md): the first message and the
answer to "Why?", from the real actions with a fake tracker.

The form is simulated as it runs: questions are asked in FORM_SLOTS order when
required_slots asks them; an answer given as None is left open ("Not sure").

    .venv/bin/python scripts/recommender_replies.py
"""
import asyncio
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from actions.recommendation_form import (ActionExplainRecommendation,  # noqa: E402
                                         ActionRecommend, ValidateRecommendationForm)
from assistant import dialog_answers  # noqa: E402

# (title, the answers the user would give; None = "Not sure"; missing = never asked)
CASES: List[Tuple[str, Dict[str, Any]]] = [
    ("Class 1: employees, 8, loyalty, coaching",
     dict(audience="employees", learners=8.0, goal="loyalty", coaching=True,
          face_to_face=False, own_resources=True, theme=None, exchanges=None, open_to_all=None)),
    ("Class 2: my team of 10 wants to give free access to knowledge",
     dict(audience="experts", learners=10.0, goal="free_knowledge", coaching=False,
          face_to_face=False, own_resources=True, theme=None, exchanges=None, open_to_all=None)),
    ("Class 3: 3,000 selected experts, job problems, need coaching",
     dict(audience="experts", learners=3000.0, goal="productivity", coaching=True,
          face_to_face=False, own_resources=True, theme=None, exchanges=None, open_to_all=None)),
    ("Class 5: 300 employees, loyalty, private or open left open",
     dict(audience="employees", learners=300.0, goal="loyalty", coaching=False,
          face_to_face=False, own_resources=True, theme=None, exchanges=None, open_to_all=None)),
    ("Class 6: the general public, 12 learners, coaching",
     dict(audience="public", learners=12.0, goal="skills", coaching=True,
          face_to_face=False, own_resources=True, theme=None, exchanges=None, open_to_all=None)),
    ("Class 7: 200 customers, onboarding",
     dict(audience="customers", learners=200.0, goal="onboarding", coaching=False,
          face_to_face=False, own_resources=True, theme=None, exchanges=None, open_to_all=None)),
    ("SME: 20 employees, general skills, no resources to build a course",
     dict(audience="employees", learners=20.0, goal="skills", coaching=False,
          face_to_face=False, own_resources=False, theme="general", exchanges=None,
          open_to_all=None)),
    ("SME, theme left open: 20 employees, skills, no resources",
     dict(audience="employees", learners=20.0, goal="skills", coaching=False,
          face_to_face=False, own_resources=False, theme=None, exchanges=None,
          open_to_all=None)),
]
DOMAIN = {"forms": {"recommendation_form": {"required_slots": list(dialog_answers.FORM_SLOTS)}},
          "responses": {}}


def tracker(slots: Dict[str, Any]) -> Tracker:
    return Tracker("u", dict(slots), {"text": "", "intent": {}, "entities": []}, [], False,
                   None, {}, "action_listen")


def dialog_slots(answers: Dict[str, Any]) -> Dict[str, Any]:
    """The slots at the end of the form: each required question asked once, in order."""
    slots: Dict[str, Any] = {"left_open": []}
    form = ValidateRecommendationForm()
    while True:
        required = asyncio.run(form.required_slots(list(dialog_answers.FORM_SLOTS),
                                                   CollectingDispatcher(), tracker(slots),
                                                   DOMAIN))
        pending = [s for s in required if slots.get(s) is None and s not in slots["left_open"]]
        if not pending:
            return slots
        slot = pending[0]
        if answers.get(slot) is None:
            slots["left_open"].append(slot)
        else:
            slots[slot] = answers[slot]


def replies(answers: Dict[str, Any]) -> Tuple[Dict[str, Any], str, str]:
    slots = dialog_slots(answers)
    dispatcher = CollectingDispatcher()
    events = ActionRecommend().run(dispatcher, tracker(slots), DOMAIN)
    first = "\n".join(m.get("text") or f"[{m.get('response')}]" for m in dispatcher.messages)
    slots.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
    dispatcher = CollectingDispatcher()
    ActionExplainRecommendation().run(dispatcher, tracker(slots), DOMAIN)
    why = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    return slots, first, why


def main() -> None:
    for title, answers in CASES:
        slots, first, why = replies(answers)
        shown = {k: v for k, v in slots.items() if v not in (None, [])
                 and k in dialog_answers.FORM_SLOTS + ("left_open",)}
        print(f"### {title}\n\nSlots: `{shown}`\n")
        print(f"First message ({len(first)} characters):\n\n```\n{first}\n```\n")
        print(f"Why?:\n\n```\n{why}\n```\n")


if __name__ == "__main__":
    main()
