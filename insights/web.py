"""The insights routes of the chat page's server (web/server.py), with their access rules.

  GET  /insights              the page (HTML, charts drawn as SVG here: no script at all)
  GET  /insights.json         the same figures as JSON; ?days=N (1 to INSIGHTS_DAYS_KEPT, default 30)
  GET  /insights.csv?table=T  one table of the page as CSV (T: see report.tables)
  POST /insights/sign-in      the sign-in form's token; sets a cookie (INSIGHTS_TOKEN set)

Access: with INSIGHTS_TOKEN set, the cookie of the sign-in form or `Authorization: Bearer
<token>`; without it, clients on the loopback address only, and never a request relayed
by a proxy (it would come from the loopback address on behalf of anyone).
"""
import hashlib
import hmac
import ipaddress
import json
import logging
import threading
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import parse_qs

import sqlalchemy as sa

from insights import page, report, settings, summary

logger = logging.getLogger(__name__)

COOKIE = "insights_session"
DEFAULT_DAYS = 30
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
# A request summarises new events for at most this long; a background thread does the rest.
REQUEST_REFRESH_SECONDS = 0.5
REQUEST_REFRESH_BATCH = 5000
BACKGROUND_REFRESH_SECONDS = 5.0


@dataclass
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str
    headers: Dict[str, str]


def _json(status: HTTPStatus, data: dict, **headers: str) -> Response:
    return Response(status, json.dumps(data).encode(), "application/json", headers)


def session_value(token: str) -> str:
    """The cookie's value: derived from the token, so the cookie never holds the token."""
    return hmac.new(token.encode(), b"insights-session", hashlib.sha256).hexdigest()


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def access(client_ip: str, headers, token: Optional[str]) -> Optional[HTTPStatus]:
    """None when the request may see the insights, else 401 or 403."""
    if token:
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(),
                                                              token.encode()):
            return None
        cookies = _cookies(headers.get("Cookie") or "")
        if hmac.compare_digest(cookies.get(COOKIE, "").encode(), session_value(token).encode()):
            return None
        return HTTPStatus.UNAUTHORIZED
    if is_loopback(client_ip) and not any(headers.get(h) for h in PROXY_HEADERS):
        return None
    return HTTPStatus.FORBIDDEN


def _cookies(header: str) -> Dict[str, str]:
    pairs = (part.strip().split("=", 1) for part in header.split(";") if "=" in part)
    return {name: value for name, value in pairs}


class Insights:
    """The store, opened on first use, and kept summarised by a background thread."""

    def __init__(self, env: Optional[Dict[str, str]] = None) -> None:
        self.env = env
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
            self.engine = sa.create_engine(self.settings.db_url, pool_pre_ping=True,
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

    def start_background_refresh(self) -> None:
        """Keeps the summary current (and catches up a big store) between requests."""
        def loop() -> None:
            while True:
                try:
                    if self.problem is None:
                        while not self.refresh(BACKGROUND_REFRESH_SECONDS):
                            stop.wait(0.05)  # yields to requests, and to a busy store
                except NoStore:
                    pass
                except Exception:  # noqa: BLE001 - logged; the next round tries again
                    logger.exception("insights: refreshing the summary failed")
                stop.wait(BACKGROUND_REFRESH_SECONDS)
        stop = threading.Event()
        threading.Thread(target=loop, name="insights-refresh", daemon=True).start()

    # -- routes ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, client_ip: str, headers,
               body: bytes = b"") -> Response:
        try:
            return self._handle(method, path, query, client_ip, headers, body)
        except NoStore as e:
            return self._unavailable(path, str(e))
        except sa.exc.SQLAlchemyError:
            logger.exception("insights: the tracker store could not be read")
            return self._unavailable(path, "The tracker store could not be read; the "
                                           "server's log says why. Try again in a minute.")
        except Exception:  # noqa: BLE001 - a clear answer rather than a dropped connection
            logger.exception("insights: the request failed")
            return _json(HTTPStatus.INTERNAL_SERVER_ERROR,
                         {"error": "The insights failed; the server's log says why."})

    def _handle(self, method, path, query, client_ip, headers, body) -> Response:
        if path == "/insights/sign-in":
            return self._sign_in(method, body)
        if self.problem:
            return self._unavailable(path, f"The insights are not configured: {self.problem}.")
        denied = access(client_ip, headers, self.token)
        if denied is HTTPStatus.UNAUTHORIZED:
            if path == "/insights":
                return Response(denied, page.sign_in(), "text/html", {})
            return _json(denied, {"error": "Sign in at /insights, or send "
                                           "'Authorization: Bearer <INSIGHTS_TOKEN>'."},
                         **{"WWW-Authenticate": 'Bearer realm="insights"'})
        if denied is HTTPStatus.FORBIDDEN:
            message = ("The insights can only be opened on the assistant's own machine. "
                       "Set INSIGHTS_TOKEN to open them to others (docs/insights.md).")
            if path == "/insights":
                return Response(denied, page.message_page("Not available here", message),
                                "text/html", {})
            return _json(denied, {"error": message})
        params = parse_qs(query)
        days, problem = self._days(params)
        if problem:
            return _json(HTTPStatus.BAD_REQUEST, {"error": problem}) if path != "/insights" \
                else Response(HTTPStatus.BAD_REQUEST, page.message_page("Bad request", problem),
                              "text/html", {})
        up_to_date = self.refresh(REQUEST_REFRESH_SECONDS, REQUEST_REFRESH_BATCH)
        data = report.build(self._engine(), days, self.settings.keep_texts, up_to_date)
        if path == "/insights.json":
            return _json(HTTPStatus.OK, data)
        if path == "/insights.csv":
            tables = report.tables(data)
            name = (params.get("table") or [""])[0]
            if name not in tables:
                return _json(HTTPStatus.NOT_FOUND, {"error": f"No table {name!r}; one of: "
                                                             f"{', '.join(tables)}."})
            return Response(HTTPStatus.OK, report.to_csv(tables[name]).encode(), "text/csv",
                            {"Content-Disposition":
                             f'attachment; filename="insights-{name}-{days}d.csv"'})
        return Response(HTTPStatus.OK, page.render(data, self.settings.days_kept), "text/html", {})

    def _days(self, params) -> Tuple[int, Optional[str]]:
        kept = self.settings.days_kept
        raw = (params.get("days") or [str(min(DEFAULT_DAYS, kept))])[0].strip()
        if not raw.isdigit() or not 1 <= int(raw) <= kept:
            return 0, f"days must be a whole number from 1 to {kept}, got {raw!r}."
        return int(raw), None

    def _sign_in(self, method: str, body: bytes) -> Response:
        if method != "POST":
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, b"Use the form at /insights.\n",
                            "text/plain", {"Allow": "POST"})
        if not self.token:
            return Response(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": "/insights"})
        try:
            given = (parse_qs(body.decode("utf-8")).get("token") or [""])[0]
        except UnicodeDecodeError:
            given = ""
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return Response(HTTPStatus.UNAUTHORIZED,
                            page.sign_in("That token is not right. Try again."), "text/html", {})
        return Response(HTTPStatus.SEE_OTHER, b"", "text/plain", {
            "Location": "/insights",
            "Set-Cookie": f"{COOKIE}={session_value(self.token)}; Path=/; HttpOnly; "
                          f"SameSite=Strict"})

    @staticmethod
    def _unavailable(path: str, message: str) -> Response:
        if path == "/insights":
            return Response(HTTPStatus.SERVICE_UNAVAILABLE,
                            page.message_page("Insights unavailable", message), "text/html", {})
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": message})


class NoStore(Exception):
    pass
