"""How gunicorn serves the API (``gunicorn -c gunicorn.conf.py 'callback:create_app()'``, as ``make run``, the API
image and the tests start it) with its own worker, which answers in the API's JSON error format even the requests
gunicorn refuses itself, and stops once on a Ctrl-C.

gunicorn reads the request line and headers before the app sees them and refuses a URL over ``limit_request_line``
(4094 bytes) or headers over their limits with an HTML page, which a client of a JSON API cannot read. Raising the
limits would not help (8190 bytes is the most gunicorn allows; 0, no limit, lets one request line fill the memory),
so the worker answers those refusals as the app answers its own errors.

A Ctrl-C in a terminal (``make run``) reaches every process of its group: the worker quits on it, and a moment
later on the master's own order to quit (SIGQUIT); the second ``sys.exit`` broke into the first exit's clean-up
(joining the analysis processes) with a traceback. The worker quits once. This file runs in gunicorn's master process,
which must not import the app (Flask, the engine): it imports gunicorn only.
"""

from __future__ import annotations

import contextlib
import json

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

# gunicorn's refusals that a well-meant client meets (a long query string, large cookies), as (status, reason,
# code, message); any other malformed request keeps gunicorn's own answer.
REFUSALS = {
    LimitRequestLine: (414, "URI Too Long", "uri_too_long", "the request's URL is too long"),
    LimitRequestHeaders: (431, "Request Header Fields Too Large", "headers_too_large", "the request's headers are "
                          "too large"),
}  # fmt: skip


def refusal_response(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole HTTP response with the body of ``callback.errors.error_body`` (not imported: see above)."""
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode("latin-1") + body


class ApiWorker(ThreadWorker):
    """gunicorn's threaded worker (what ``--threads`` over 1 selects), answering :data:`REFUSALS` in JSON and
    quitting once however many quit signals come."""

    quitting = False

    def handle_quit(self, sig, frame) -> None:
        if not self.quitting:
            self.quitting = True
            super().handle_quit(sig, frame)

    def handle_error(self, req, client, addr, exc) -> None:
        refusal = REFUSALS.get(type(exc))
        if refusal is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        with contextlib.suppress(OSError):  # the client may be gone already
            util.write_nonblock(client, refusal_response(*refusal))


worker_class = ApiWorker
