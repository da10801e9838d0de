"""Serving the WSGI app on loopback in a thread, for tests and `cxbot demo`.

Production uses gunicorn (`cxbot serve`); this serves the very same WSGI callable, so a
request takes the same path through request verification, Bolt and the listeners.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # wsgiref answers HTTP/1.0 and closes each connection, so concurrent clients reconnect
    # for every request: the default listen backlog (5) overflows and resets connections.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port; yields its base URL (`http://127.0.0.1:PORT`)."""
    server = make_server(host, 0, app, server_class=_Server, handler_class=_QuietHandler)
    # A short poll: shutdown() waits for it, and tests start and stop many servers.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="cxbot-sandbox-http", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
