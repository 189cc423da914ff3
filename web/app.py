"""The web app: the intranet chat page (the files in web/public/ plus deep-chat's bundle)
and the training team's insights, one Sanic app with Jinja2 templates (web/templates/).

Routes (GET and HEAD, but the sign-in form's POST):
  /                      web/public/index.html
  /<file>                a file directly inside web/public/ (no sub-folders)
  /vendor/deep-chat.js   node_modules/deep-chat/dist/deepChat.bundle.js (installed by `make install`)
  /env.js                where the browser reaches Rasa, generated from the environment
  /insights              the insights page (HTML, charts drawn as SVG on the server: no script)
  /insights.json         the same figures as JSON; ?days=N (1 to INSIGHTS_DAYS_KEPT, default 30)
  /insights.csv?table=T  one table of the page as CSV (T: see insights/report.py tables)
  POST /insights/sign-in the sign-in form's token; sets a cookie (INSIGHTS_TOKEN set)

Insights access: with INSIGHTS_TOKEN set, the sign-in form's cookie or `Authorization: Bearer
<token>`; without it, clients on the loopback address only, and never a request relayed by a
proxy (it would come from the loopback address on behalf of anyone). docs/insights.md.

Environment:
  WEB_HOST, WEB_PORT  where to listen (default 127.0.0.1:8080); --host/--port override them.
  RASA_URL            Rasa's base URL as the browser must call it. Default: the page's own
                      host name with port RASA_PORT (default 5005), e.g. http://127.0.0.1:5005.
  CORS_ORIGINS        space-separated origins of other pages allowed to embed the widget's
                      scripts (the same list is given to `rasa run --cors`). Never "*".
  INSIGHTS_*          insights/settings.py
"""
import argparse
import asyncio
import gzip
import hashlib
import hmac
import ipaddress
import json
import logging
import mimetypes
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.exceptions import NotFound

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python web/app.py`: the project's packages
    sys.path.insert(0, str(ROOT))
from config.endpoints import ConfigError, cors_origins  # noqa: E402
from insights import page, report  # noqa: E402
from insights.store import InsightsStore, NoStore  # noqa: E402

logger = logging.getLogger(__name__)

PUBLIC = ROOT / "web" / "public"
DEEP_CHAT = ROOT / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
         ".json": "application/json", ".ico": "image/x-icon"}
COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".json")
# The insights page has no script; its only form posts to this server.
INSIGHTS_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
INSIGHTS_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "Content-Security-Policy": INSIGHTS_CSP}
COOKIE = "insights_session"
DEFAULT_DAYS = 30
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")

templates = Environment(loader=FileSystemLoader(ROOT / "web" / "templates"),
                        autoescape=select_autoescape(["html"]))
templates.filters["number"] = page.number


# -- insights access -----------------------------------------------------------------------
def session_value(token: str) -> str:
    """The cookie's value: derived from the token, so the cookie never holds the token."""
    return hmac.new(token.encode(), b"insights-session", hashlib.sha256).hexdigest()


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def access(client_ip: str, headers: Mapping[str, str], cookies: Mapping[str, str],
           token: Optional[str]) -> Optional[int]:
    """None when the request may see the insights, else 401 or 403."""
    if token:
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(),
                                                              token.encode()):
            return None
        if hmac.compare_digest((cookies.get(COOKIE) or "").encode(),
                               session_value(token).encode()):
            return None
        return 401
    if is_loopback(client_ip) and not any(headers.get(h) for h in PROXY_HEADERS):
        return None
    return 403


# -- responses -----------------------------------------------------------------------------
def html(template: str, status: int = 200, **values) -> response.HTTPResponse:
    return response.html(templates.get_template(template).render(**values), status=status,
                         headers=INSIGHTS_HEADERS)


def error(status: int, message: str, **headers: str) -> response.HTTPResponse:
    return response.json({"error": message}, status=status, headers={**INSIGHTS_HEADERS, **headers})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=32)
def gzipped(file: Path, mtime_ns: int) -> bytes:
    return gzip.compress(file.read_bytes(), 6)


def create_app(env: Mapping[str, str] = os.environ) -> Sanic:
    """The app, configured from `env`; nothing is opened until it serves."""
    origins: Tuple[str, ...] = tuple(cors_origins(env))
    rasa_url = (env.get("RASA_URL") or "").rstrip("/")
    rasa_port = int(env.get("RASA_PORT") or "5005")
    store = InsightsStore(dict(env))
    app = Sanic("web")
    app.config.REQUEST_MAX_SIZE = 4096  # the sign-in form is the only body accepted

    def browser_rasa_url(request) -> str:
        if rasa_url:
            return rasa_url
        hostname = urlsplit(f"//{request.host}").hostname or "127.0.0.1"
        if ":" in hostname:  # IPv6 literal
            hostname = f"[{hostname}]"
        return f"http://{hostname}:{rasa_port}"

    def send(request, body: bytes, suffix: str, status: int = 200, etag: Optional[str] = None,
             packed: Optional[bytes] = None) -> response.HTTPResponse:
        headers: Dict[str, str] = {
            "Cache-Control": "no-cache",  # revalidate: config changes show at once
            "Vary": "Origin, Accept-Encoding", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}
        if etag:
            headers["ETag"] = etag
        if suffix in COMPRESSIBLE and len(body) > 1024 \
                and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = packed or gzip.compress(body, 6)
            headers["Content-Encoding"] = "gzip"
        if suffix == ".html":
            # deep-chat styles its shadow DOM with inline styles; scripts only from here.
            headers["Content-Security-Policy"] = (
                "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data: blob: https:; connect-src 'self' "
                f"{origin_of(browser_rasa_url(request))}; "
                "base-uri 'none'; form-action 'none'; object-src 'none'")
        origin = request.headers.get("Origin")
        if origin and origin in origins:  # lets an allowed intranet page import the widget
            headers["Access-Control-Allow-Origin"] = origin
        content_type = TYPES.get(suffix) or mimetypes.guess_type("x" + suffix)[0] or "text/plain"
        return response.raw(body, status=status, headers=headers, content_type=content_type)

    def send_file(request, file: Optional[Path]) -> response.HTTPResponse:
        if file is None or not file.is_file():
            raise NotFound("Not found")
        stat = file.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if request.headers.get("If-None-Match") == etag:
            return response.empty(status=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
        packed = gzipped(file, stat.st_mtime_ns) if file.suffix in COMPRESSIBLE else None
        return send(request, file.read_bytes(), file.suffix, etag=etag, packed=packed)

    # -- the chat page ---------------------------------------------------------------------
    @app.route("/env.js", methods=["GET", "HEAD"])
    async def env_js(request):
        body = f"export default {json.dumps({'rasaUrl': browser_rasa_url(request)})};\n"
        return send(request, body.encode(), ".js")

    @app.route("/vendor/deep-chat.js", methods=["GET", "HEAD"])
    async def deep_chat(request):
        return send_file(request, DEEP_CHAT)

    @app.route("/", methods=["GET", "HEAD"])
    async def index(request):
        return send_file(request, PUBLIC / "index.html")

    @app.route("/<name:str>", methods=["GET", "HEAD"])
    async def public_file(request, name: str):
        hidden = name.startswith(".") or "/" in name or "\\" in name
        return send_file(request, None if hidden else PUBLIC / name)

    @app.exception(NotFound)
    async def not_found(request, exception):
        return send(request, b"Not found\n", ".txt", status=404)

    # -- the insights ----------------------------------------------------------------------
    def days_asked(request) -> Tuple[int, Optional[str]]:
        kept = store.settings.days_kept
        raw = request.args.get("days", str(min(DEFAULT_DAYS, kept))).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= kept:
            return 0, f"days must be a whole number from 1 to {kept}, got {raw!r}."
        return int(raw), None

    def refused(request, as_page: bool):
        """The answer when the request may not see the figures, else None."""
        if store.problem:
            return unavailable(as_page, f"The insights are not configured: {store.problem}.")
        denied = access(request.ip, request.headers, request.cookies, store.token)
        if denied == 401:
            return html("sign_in.html", 401) if as_page else error(
                401, "Sign in at /insights, or send 'Authorization: Bearer <INSIGHTS_TOKEN>'.",
                **{"WWW-Authenticate": 'Bearer realm="insights"'})
        if denied == 403:
            message = ("The insights can only be opened on the assistant's own machine. "
                       "Set INSIGHTS_TOKEN to open them to others (docs/insights.md).")
            return html("message.html", 403, title="Not available here", message=message) \
                if as_page else error(403, message)
        return None

    def unavailable(as_page: bool, message: str):
        return html("message.html", 503, title="Insights unavailable", message=message) \
            if as_page else error(503, message)

    async def figures(request, as_page: bool, answer):
        """The figures of the days asked, given to `answer`; or why not."""
        denied = refused(request, as_page)
        if denied:
            return denied
        days, problem = days_asked(request)
        if problem:
            return html("message.html", 400, title="Bad request", message=problem) \
                if as_page else error(400, problem)
        try:
            data = await asyncio.to_thread(store.figures, days)  # blocking database reads
        except NoStore as e:
            return unavailable(as_page, str(e))
        except sa.exc.SQLAlchemyError:
            logger.exception("insights: the tracker store could not be read")
            return unavailable(as_page, "The tracker store could not be read; the server's "
                                        "log says why. Try again in a minute.")
        except Exception:  # noqa: BLE001 - a clear answer rather than Sanic's error page
            logger.exception("insights: the request failed")
            return error(500, "The insights failed; the server's log says why.")
        return answer(data, days)

    @app.route("/insights", methods=["GET", "HEAD"])
    async def insights_page(request):
        return await figures(request, True, lambda data, days: html(
            "insights.html", **page.view(data, store.settings.days_kept)))

    @app.route("/insights.json", methods=["GET", "HEAD"])
    async def insights_json(request):
        return await figures(request, False, lambda data, days: response.json(
            data, headers=INSIGHTS_HEADERS))

    @app.route("/insights.csv", methods=["GET", "HEAD"])
    async def insights_csv(request):
        def csv(data, days):
            tables = report.tables(data)
            name = request.args.get("table", "")
            if name not in tables:
                return error(404, f"No table {name!r}; one of: {', '.join(tables)}.")
            return response.text(
                report.to_csv(tables[name]), content_type="text/csv; charset=utf-8",
                headers={**INSIGHTS_HEADERS, "Content-Disposition":
                         f'attachment; filename="insights-{name}-{days}d.csv"'})
        return await figures(request, False, csv)

    @app.route("/insights/sign-in", methods=["GET", "HEAD", "POST"])
    async def sign_in(request):
        if request.method != "POST":
            return response.text("Use the form at /insights.\n", status=405,
                                 headers={**INSIGHTS_HEADERS, "Allow": "POST"})
        if not store.token:
            return response.redirect("/insights", status=303, headers=INSIGHTS_HEADERS)
        try:
            given = (parse_qs(request.body.decode("utf-8")).get("token") or [""])[0]
        except UnicodeDecodeError:
            given = ""
        if not hmac.compare_digest(given.strip().encode(), store.token.encode()):
            return html("sign_in.html", 401, problem="That token is not right. Try again.")
        redirect = response.redirect("/insights", status=303, headers=INSIGHTS_HEADERS)
        redirect.cookies[COOKIE] = session_value(store.token)
        redirect.cookies[COOKIE]["path"] = "/"
        redirect.cookies[COOKIE]["httponly"] = True
        redirect.cookies[COOKIE]["samesite"] = "Strict"
        return redirect

    # -- the summary, kept current while serving -------------------------------------------
    @app.before_server_start
    async def start_refreshing(app, loop):
        app.ctx.stop_refreshing = store.start_background_refresh()

    @app.after_server_stop
    async def stop_refreshing(app, loop):
        app.ctx.stop_refreshing.set()

    return app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8080")))
    args = parser.parse_args(argv)
    try:
        app = create_app(os.environ)
    except ConfigError as e:
        parser.error(str(e))
    if not DEEP_CHAT.is_file():
        parser.error(f"{DEEP_CHAT.relative_to(ROOT)} is missing: run `make install` (npm ci)")
    print(f"Chat page: http://{args.host}:{args.port}/", flush=True)
    # One process; errors on stderr, no access log (keeps `make run`'s console readable).
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
