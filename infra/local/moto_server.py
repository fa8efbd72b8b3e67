"""moto in server mode, with DynamoDB requests made atomic as they are in AWS.

DynamoDB evaluates a condition expression and applies the write as one step. moto's server answers each
request on its own thread and does not lock between the two, so two concurrent conditional writes can
both succeed there: a renewal lease or a ledger claim taken twice. Serialising DynamoDB requests in the
emulator restores the guarantee our code relies on, without any work-around in the product itself.
Other services (SQS long polls in particular) stay concurrent.

``python -m infra.local.moto_server -p PORT`` runs it in its own process (the benchmarks do).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AtomicDynamoDb:
    """WSGI middleware: one DynamoDB request at a time, the response fully built inside the lock."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


def moto_app() -> WsgiApp:
    return AtomicDynamoDb(DomainDispatcherApplication(create_backend_app))


class MotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` serving ``moto_app()``; ``port=0`` picks a free loopback port."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)

    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, moto_app(), True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    make_server(args.host, args.port, moto_app(), True, request_handler=MotoRequestHandler).serve_forever()


if __name__ == "__main__":
    main()
