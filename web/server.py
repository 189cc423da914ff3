"""Serves the intranet chat page: the files in web/public/ plus deep-chat's bundle.

Standard library only, but for the insights (SQLAlchemy, one of Rasa's dependencies).
Routes (GET and HEAD, nothing else):
  /                      web/public/index.html
  /<file>                a file directly inside web/public/ (no sub-folders)
  /vendor/deep-chat.js   node_modules/deep-chat/dist/deepChat.bundle.js (installed by `make install`)
  /env.js                where the browser reaches Rasa, generated from the environment
  /insights, /insights.json, /insights.csv, POST /insights/sign-in
                         the training team's insights (insights/web.py, docs/insights.md)

Environment:
  WEB_HOST, WEB_PORT  where to listen (default 127.0.0.1:8080); --host/--port override them.
  RASA_URL            Rasa's base URL as the browser must call it. Default: the page's own
                      host name with port RASA_PORT (default 5005), e.g. http://127.0.0.1:5005.
  CORS_ORIGINS        space-separated origins of other pages allowed to embed the widget's
                      scripts (the same list is given to `rasa run --cors`). Never "*".
"""
import argparse
import gzip
import json
import mimetypes
import os
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the insights package, config.endpoints
from config.endpoints import ConfigError, cors_origins  # noqa: E402
PUBLIC = ROOT / "web" / "public"
DEEP_CHAT = ROOT / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
         ".json": "application/json", ".ico": "image/x-icon"}
COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".json")
INSIGHTS_PATHS = ("/insights", "/insights.json", "/insights.csv", "/insights/sign-in")
# The insights page has no script; its only form posts to this server.
INSIGHTS_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class WidgetHandler(BaseHTTPRequestHandler):
    server_version = "TrainingAssistantWidget"
    protocol_version = "HTTP/1.1"
    rasa_url: Optional[str] = None
    rasa_port = 5005
    cors_origins: Tuple[str, ...] = ()
    insights = None  # insights.web.Insights, set by main()
    _gzip_cache: Dict[Tuple[Path, float], bytes] = {}

    def version_string(self) -> str:
        return self.server_version

    # -- routing ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/insights/sign-in":
            return self.send_error(HTTPStatus.NOT_IMPLEMENTED, "Unsupported method ('POST')")
        raw = self.headers.get("Content-Length") or "0"
        length = int(raw) if raw.isdigit() else -1
        if not 0 <= length <= 4096:
            return self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Too large\n", ".txt", False)
        self._serve_insights(head=False, body=self.rfile.read(length))

    def _serve(self, head: bool) -> None:
        path = urlsplit(self.path).path
        if path in INSIGHTS_PATHS and self.insights is not None:
            return self._serve_insights(head)
        if path == "/env.js":
            body = f"export default {json.dumps({'rasaUrl': self._rasa_url()})};\n".encode()
            return self._send(HTTPStatus.OK, body, ".js", head)
        file = self._resolve(path)
        if file is None:
            return self._send(HTTPStatus.NOT_FOUND, b"Not found\n", ".txt", head)
        stat = file.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(HTTPStatus.NOT_MODIFIED, b"", file.suffix, True, etag=etag)
        body = file.read_bytes()
        self._send(HTTPStatus.OK, body, file.suffix, head, etag=etag, cache_key=(file, stat.st_mtime))

    def _serve_insights(self, head: bool, body: bytes = b"") -> None:
        parts = urlsplit(self.path)
        answer = self.insights.handle(self.command, parts.path, parts.query,
                                      self.client_address[0], self.headers, body)
        self.send_response(answer.status)
        self.send_header("Content-Type", f"{answer.content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", INSIGHTS_CSP)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(answer.body)

    def _resolve(self, path: str) -> Optional[Path]:
        if path == "/vendor/deep-chat.js":
            return DEEP_CHAT if DEEP_CHAT.is_file() else None
        name = "index.html" if path == "/" else path[1:]
        if not name or "/" in name or "\\" in name or name.startswith(".") or name == "..":
            return None
        file = PUBLIC / name
        return file if file.is_file() else None

    def _rasa_url(self) -> str:
        if self.rasa_url:
            return self.rasa_url.rstrip("/")
        host = self.headers.get("Host") or "127.0.0.1"
        hostname = urlsplit(f"//{host}").hostname or "127.0.0.1"
        if ":" in hostname:  # IPv6 literal
            hostname = f"[{hostname}]"
        return f"http://{hostname}:{self.rasa_port}"

    # -- responses -------------------------------------------------------------------------
    def _send(self, status: HTTPStatus, body: bytes, suffix: str, head: bool,
              etag: Optional[str] = None, cache_key=None) -> None:
        content_type = TYPES.get(suffix) or mimetypes.guess_type("x" + suffix)[0] or "text/plain"
        gzipped = (suffix in COMPRESSIBLE and len(body) > 1024
                   and "gzip" in self.headers.get("Accept-Encoding", ""))
        if gzipped:
            body = self._gzip(body, cache_key)
        self.send_response(status)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")  # revalidate: config changes show at once
        self.send_header("Vary", "Origin, Accept-Encoding")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if suffix == ".html":
            self.send_header("Content-Security-Policy", self._csp())
        origin = self.headers.get("Origin")
        if origin and origin in self.cors_origins:  # lets an allowed intranet page import the widget
            self.send_header("Access-Control-Allow-Origin", origin)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _gzip(self, body: bytes, cache_key) -> bytes:
        if cache_key is None:
            return gzip.compress(body, 6)
        if cache_key not in self._gzip_cache:
            self._gzip_cache[cache_key] = gzip.compress(body, 6)
        return self._gzip_cache[cache_key]

    def _csp(self) -> str:
        # deep-chat styles its shadow DOM with inline styles; scripts only from this server.
        return ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data: blob: https:; connect-src 'self' {origin_of(self._rasa_url())}; "
                "base-uri 'none'; form-action 'none'; object-src 'none'")

    def log_message(self, fmt: str, *args) -> None:  # keep `make run`'s console for errors only
        if len(args) > 1 and str(args[1]).startswith(("4", "5")):
            sys.stderr.write(f"web: {self.address_string()} {fmt % args}\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8080")))
    args = parser.parse_args(argv)
    try:
        origins = tuple(cors_origins(os.environ))
    except ConfigError as e:
        parser.error(str(e))
    if not DEEP_CHAT.is_file():
        parser.error(f"{DEEP_CHAT.relative_to(ROOT)} is missing: run `make install` (npm ci)")
    WidgetHandler.rasa_url = os.environ.get("RASA_URL") or None
    WidgetHandler.rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    WidgetHandler.cors_origins = origins
    from insights.web import Insights
    WidgetHandler.insights = Insights()
    WidgetHandler.insights.start_background_refresh()
    httpd = ThreadingHTTPServer((args.host, args.port), WidgetHandler)
    httpd.daemon_threads = True
    print(f"Chat page: http://{args.host}:{args.port}/", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
