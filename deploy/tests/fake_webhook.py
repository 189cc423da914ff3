"""A fake hand-off webhook for the Compose check (test_deploy.py), run in a container of
the project image next to the stack: records each POST's JSON and lists them at
GET /posts. Standard library only."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

posts = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with lock:
            posts.append({"path": self.path, "json": body})
        print(f"fake-webhook: POST {self.path} for {body.get('conversation_id')}", flush=True)
        self.reply(b"ok", "text/plain")

    def do_GET(self) -> None:
        with lock:
            self.reply(json.dumps(posts).encode(), "application/json")

    def reply(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    print(f"fake-webhook: listening on {port}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
