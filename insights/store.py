"""The insights' access to the tracker store: opened on first use, its summary kept current
by refresh() (a request, briefly) and by a background thread the web app starts."""
import logging
import threading
from pathlib import Path
from typing import Dict, Optional

import sqlalchemy as sa

from insights import report, settings, summary

logger = logging.getLogger(__name__)

# A request summarises new events for at most this long; a background thread does the rest.
REQUEST_REFRESH_SECONDS = 0.5
REQUEST_REFRESH_BATCH = 5000
BACKGROUND_REFRESH_SECONDS = 5.0


class NoStore(Exception):
    """Rasa has written nothing yet: the message says so."""


class InsightsStore:
    def __init__(self, env: Optional[Dict[str, str]] = None) -> None:
        self.settings: Optional[settings.Settings] = None
        self.problem: Optional[str] = None
        self.engine: Optional[sa.engine.Engine] = None
        self.lock = threading.Lock()
        self.ready = False
        try:
            self.settings = settings.load(env)
        except settings.SettingsError as e:
            self.problem = str(e)

    @property
    def token(self) -> Optional[str]:
        return self.settings.token if self.settings else None

    def _engine(self) -> sa.engine.Engine:
        url = self.settings.db_url
        if url.get_backend_name() == "sqlite" and not Path(url.database).exists():
            raise NoStore("The tracker store has no conversations yet (no database file): "
                          "talk to the assistant first.")  # and don't create the file
        if self.engine is None:
            self.engine = sa.create_engine(url, pool_pre_ping=True,
                                           connect_args=self._connect_args())
        if not self.ready:
            if not sa.inspect(self.engine).has_table("events"):
                raise NoStore("The tracker store has no conversations yet (no events table): "
                              "talk to the assistant first.")
            summary.create_tables(self.engine)
            self.ready = True
        return self.engine

    def _connect_args(self) -> dict:
        # SQLite: wait for Rasa's writes rather than fail; PostgreSQL: fail fast when down.
        return {"timeout": 10} if self.settings.db_url.get_backend_name() == "sqlite" \
            else {"connect_timeout": 5}

    def refresh(self, seconds: float, batch: int = summary.BATCH) -> bool:
        with self.lock:
            return summary.refresh_quietly(self._engine(), report.format_names(),
                                           self.settings.days_kept, seconds, batch)

    def figures(self, days: int) -> dict:
        """The report of the last `days` days, after summarising what is new (briefly)."""
        up_to_date = self.refresh(REQUEST_REFRESH_SECONDS, REQUEST_REFRESH_BATCH)
        return report.build(self._engine(), days, self.settings.keep_texts, up_to_date)

    def start_background_refresh(self) -> threading.Event:
        """Keeps the summary current (and catches up a big store) between requests;
        set the returned event to stop."""
        def loop() -> None:
            while not stop.is_set():
                try:
                    if self.problem is None:
                        while not self.refresh(BACKGROUND_REFRESH_SECONDS) and not stop.is_set():
                            stop.wait(0.05)  # yields to requests, and to a busy store
                except NoStore:
                    pass
                except Exception:  # noqa: BLE001 - logged; the next round tries again
                    logger.exception("insights: refreshing the summary failed")
                stop.wait(BACKGROUND_REFRESH_SECONDS)
        stop = threading.Event()
        threading.Thread(target=loop, name="insights-refresh", daemon=True).start()
        return stop
