"""Insights for the training team: what the assistant is asked, what went unanswered,
what it recommended (docs/insights.md).

  settings.py  where the tracker store is, and the privacy settings (environment)
  summary.py   the summary tables kept in the tracker store's database, updated
               incrementally from the new rows of Rasa's `events` table
  report.py    the figures of a window of days, as a dict (/insights.json) and CSV
  store.py     the tracker store opened on first use, its summary kept current
  page.py      what the page shows (chart geometry, table cells) for its template,
               web/templates/insights.html; web/app.py serves it
"""
