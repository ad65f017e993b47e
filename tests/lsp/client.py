"""A small Language Server Protocol client for the tests: JSON-RPC messages over pipes to a server running in
this process (on a thread, `build_server().start_io(…)`) or in a child process (`safetyrules lsp`)."""

from __future__ import annotations

import itertools
import json
import os
import queue
import threading
from pathlib import Path
from typing import Any, BinaryIO

from pygls.uris import from_fs_path

TIMEOUT = 30.0


def uri(path: Path) -> str:
    return from_fs_path(str(path.resolve())) or str(path)


class Client:
    """Sends requests and notifications; a reader thread sorts what comes back into responses (by id) and
    notifications (by method)."""

    def __init__(self, to_server: BinaryIO, from_server: BinaryIO) -> None:
        self.to_server = to_server
        self.from_server = from_server
        self.ids = itertools.count(1)
        self.responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            length = 0
            while True:
                line = self.from_server.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n"):
                    break
            message = json.loads(self.from_server.read(length))
            if "id" in message and "method" not in message:
                self._box(message["id"]).put(message)
            elif "method" in message and "id" in message:  # a request from the server: answer null
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                self.notifications.put(message)

    def _box(self, key: int) -> queue.Queue[dict[str, Any]]:
        with self.lock:
            return self.responses.setdefault(key, queue.Queue())

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        self.to_server.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.to_server.flush()

    def request(self, method: str, params: Any) -> Any:
        key = next(self.ids)
        self._send({"jsonrpc": "2.0", "id": key, "method": method, "params": params})
        reply = self._box(key).get(timeout=TIMEOUT)
        assert "error" not in reply, reply["error"]
        return reply.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics(self, for_uri: str) -> list[dict[str, Any]]:
        """The next diagnostics published for `for_uri` (other notifications are dropped)."""
        while True:
            message = self.notifications.get(timeout=TIMEOUT)
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == for_uri:
                return list(message["params"]["diagnostics"])

    def drain(self) -> None:
        while not self.notifications.empty():
            self.notifications.get_nowait()

    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request("initialize", {"processId": os.getpid(), "rootUri": uri(root),
                                             "capabilities": {}})
        self.notify("initialized", {})
        return dict(result)

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        doc = uri(path)
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": doc, "languageId": "safetyrules", "version": version,
            "text": path.read_text(encoding="utf-8") if text is None else text}})
        return doc

    def change(self, doc: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": doc, "version": version},
                                               "contentChanges": [{"text": text}]})

    def close_document(self, doc: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": doc}})

    def stop(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)


def in_process() -> tuple[Client, threading.Thread, BinaryIO]:
    """A server from `safetyrules.lsp.server.build_server` on a thread, joined to a client by two pipes."""
    from safetyrules.lsp.server import build_server

    client_to_server_r, client_to_server_w = os.pipe()
    server_to_client_r, server_to_client_w = os.pipe()
    server_in = os.fdopen(client_to_server_r, "rb")
    server_out = os.fdopen(server_to_client_w, "wb")
    server = build_server()
    thread = threading.Thread(target=server.start_io, args=(server_in, server_out), daemon=True)
    thread.start()
    to_server = os.fdopen(client_to_server_w, "wb")
    return Client(to_server, os.fdopen(server_to_client_r, "rb")), thread, to_server
