"""moto in server mode, with DynamoDB requests made atomic as they are in AWS.

DynamoDB evaluates a condition expression and applies the write as one step. moto's server answers each
request on its own thread and does not lock between the two, so two concurrent conditional writes can
both succeed there: a renewal lease or a ledger claim taken twice. Serialising DynamoDB requests in the
emulator restores the guarantee our code relies on, without any work-around in the product itself.
Other services (SQS long polls in particular) stay concurrent.

moto builds each DynamoDB answer by walking botocore's output shape value by value, which was a quarter of
the CPU of an import test. The answers of item operations are already DynamoDB JSON once binary values are
base64 text, so they are written with ``json.dumps`` instead (tests/infra/test_moto_server.py compares the
two writers on every attribute type).

moto also answers every Query by sorting all the items of the table, then keeping the partition asked for:
a query's cost grows with the table instead of with its answer, and a long test session (or a long local
run) slows down as the tables fill. Queries on a table's own key read their one partition instead, and
queries on a global index read only the items of the index partition asked for (moto sorts them itself).

``python -m infra.local.moto_server -p PORT`` runs it in its own process (the benchmarks do).
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto import backends
from moto.core.responses import ActionResult, get_service_model
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

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


class _OnePartition(threading.local):
    """The partition a Query on this thread is reading: (table, its items in key order), else None."""

    current: tuple[Table, list[Any]] | None = None


_one_partition = _OnePartition()
_moto_query = Table.query
_moto_all_items = Table.all_items


def _index_partition(self: Table, index_name: str, hash_key: Any) -> list[Any] | None:
    """The items of one partition of a global index (any order: moto sorts an index query's items itself)."""
    index = next((i for i in self.global_indexes if i.name == index_name), None)
    hash_attrs = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"] if index else []
    if len(hash_attrs) != 1 or not self.range_key_attr:
        return None
    name = hash_attrs[0]
    # Items without the index key are not in the index (and a DynamoType cannot be compared with None).
    return [
        item
        for part in self.items.values()
        for item in part.values()
        if name in item.attrs and item.attrs[name] == hash_key
    ]


def _query_one_partition(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name and hash_key is not None:
        found = _index_partition(self, index_name, hash_key)
        if found is None:
            return _moto_query(self, hash_key, *args, **kwargs)
        _one_partition.current = (self, found)
        try:
            return _moto_query(self, hash_key, *args, **kwargs)
        finally:
            _one_partition.current = None
    if index_name or hash_key is None or not self.range_key_attr:
        return _moto_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key) or {}  # .get: the defaultdict must not grow an empty partition
    # The order all_items() gives (hash key, then range key), restricted to the partition the query keeps.
    _one_partition.current = (self, sorted(partition.values(), key=lambda item: item.range_key))
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        _one_partition.current = None


def _all_items_or_the_partition(self: Table) -> list[Any]:
    current = _one_partition.current
    if current is not None and current[0] is self:
        return current[1]
    return _moto_all_items(self)


def index_queries_by_partition() -> None:
    """Make moto's Query read one partition of the table or of a global index (idempotent; same answers)."""
    Table.query = _query_one_partition  # type: ignore[method-assign]
    Table.all_items = _all_items_or_the_partition  # type: ignore[method-assign]


# Their answers hold items, keys, counts and consumed capacity: no timestamps, nothing a shape renames.
ITEM_ACTIONS = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
    | {"TransactGetItems", "TransactWriteItems"}
)
_moto_serialized = DynamoHandler.serialized


def _as_wire(value: Any) -> Any:
    """DynamoDB JSON of moto's result: bytes as base64 text, members that are None left out."""
    if isinstance(value, dict):
        return {key: _as_wire(member) for key, member in value.items() if member is not None}
    if isinstance(value, list):
        return [_as_wire(member) for member in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


@functools.cache
def _answer_members(action: str) -> frozenset[str]:
    """The members of the action's output shape (moto's result may hold more, which its writer drops)."""
    return frozenset(get_service_model("dynamodb").operation_model(action).output_shape.members)


def _serialized_as_json(self: DynamoHandler, action_result: ActionResult) -> Any:
    result, action = action_result.result, self._get_action()
    if isinstance(result, Exception) or action not in ITEM_ACTIONS or not isinstance(result, dict):
        return _moto_serialized(self, action_result)
    members = _answer_members(action)
    answer = _as_wire({key: value for key, value in result.items() if key in members})
    headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
    return 200, headers, json.dumps(answer, separators=(",", ":"))


def write_item_answers_as_json(enabled: bool = True) -> None:
    """Answer DynamoDB item operations with ``json.dumps`` (True) or moto's shape walk (False)."""
    DynamoHandler.serialized = _serialized_as_json if enabled else _moto_serialized  # type: ignore[method-assign,assignment]


def list_moto_modules_once() -> None:
    """moto's dispatcher lists its package directory (a stat per service) on every request; the list is fixed."""
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def moto_app() -> WsgiApp:
    index_queries_by_partition()
    write_item_answers_as_json()
    list_moto_modules_once()
    return AtomicDynamoDb(DomainDispatcherApplication(create_backend_app))


def serve(host: str, port: int) -> BaseWSGIServer:
    """A threaded server of ``moto_app()`` bound to ``host:port``, not yet serving."""
    return make_server(host, port, moto_app(), True, request_handler=MotoRequestHandler)


class MotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` serving ``moto_app()``; ``port=0`` picks a free loopback port."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)

    def _server_entry(self) -> None:
        self._server = serve(self._ip_address, self._port)
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
    serve(args.host, args.port).serve_forever()


if __name__ == "__main__":
    main()
