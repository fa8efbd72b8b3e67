"""The threaded HTTP server the local stand-ins (Sellsy sandbox, API gateway) serve on."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose threads never hold up exit, and which stays quiet about clients hanging up."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up before reading its answer (one that timed out, say) is no fault of the server;
        # socketserver would print a traceback for it into the test output. Other errors still print theirs.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
