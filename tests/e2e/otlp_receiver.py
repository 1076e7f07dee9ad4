#!/usr/bin/env python3
"""A scriptable OTLP/HTTP profiles receiver for pmuprof's tests and benchmarks.

Listens on 127.0.0.1 (port 0: a free one), records every request (path,
headers, raw and gunzipped body, arrival time) and answers each with the next
scripted behaviour, else with 200 and an empty body (a valid, empty
ExportProfilesServiceResponse).

In a Python test:

    with Receiver() as r:
        r.script(status=503, count=1, retry_after="1")
        ... point the exporter at r.url ...
        r.wait_for(2)
        req = r.requests[-1]          # .path .headers .raw .body .time .status
        msg = r.decode(req)           # ExportProfilesServiceRequest

As a process (`python3 otlp_receiver.py [--port N]`) it prints the port it
listens on, alone on the first line of stdout, and serves until SIGTERM or
SIGINT. Other languages drive it over HTTP (paths starting with "/_" are
never recorded):

    POST /_control         JSON: {"status": 503, "count": 1, "retry_after": "1"}
                                 {"status": 400, "count": 2, "body": "bad"}
                                 {"partial": [3, "why"], "count": 1}
                                 {"delay": 2.5, "count": 5}  (answer 200 after 2.5 s)
                                 {"reset": true}   (forget requests and script)
    GET  /_count           number of requests recorded, as text
    GET  /_requests        all of them as JSON (bodies in hex)
    GET  /_requests/N/body     request N's body, gunzipped
    GET  /_requests/N/headers  "name: value" lines, names lower-cased, plus
                               ":path:", ":time:" (Unix s), ":raw-length:"

Responses carrying partial_success are encoded with classes that protoc
generates on first use from the project's proto/ tree (Debian's
python3-protobuf; when the interpreter running this is not Debian's, its
dist-packages directory is added to the path).
"""
import argparse
import atexit
import glob
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "..", "..", "proto"))
COLLECTOR_MODULE = "opentelemetry.proto.collector.profiles.v1development.profiles_service_pb2"

_pb_lock = threading.Lock()
_pb_module = None


def _protobuf_module():
    """The generated collector-service module (protoc runs once per process)."""
    global _pb_module
    with _pb_lock:
        if _pb_module is not None:
            return _pb_module
        try:
            import google.protobuf  # noqa: F401
        except ImportError:
            # A pyenv or venv interpreter does not see Debian's python3-protobuf.
            sys.path.append("/usr/lib/python3/dist-packages")
            import google.protobuf  # noqa: F401
        protos = sorted(glob.glob(os.path.join(PROTO_ROOT, "opentelemetry", "**", "*.proto"),
                                  recursive=True))
        if not protos:
            raise RuntimeError(f"no OTLP protos under {PROTO_ROOT}/opentelemetry")
        out = tempfile.mkdtemp(prefix="pmuprof-otlp-pb2-")
        atexit.register(shutil.rmtree, out, True)
        rel = [os.path.relpath(p, PROTO_ROOT) for p in protos]
        subprocess.run(["protoc", f"--python_out={out}", f"-I{PROTO_ROOT}"] + rel,
                       check=True, capture_output=True)
        sys.path.insert(0, out)
        import importlib
        _pb_module = importlib.import_module(COLLECTOR_MODULE)
        return _pb_module


def encode_partial_success(rejected, message):
    """Serialized ExportProfilesServiceResponse with partial_success set."""
    m = _protobuf_module()
    resp = m.ExportProfilesServiceResponse()
    resp.partial_success.rejected_profiles = int(rejected)
    resp.partial_success.error_message = str(message)
    return resp.SerializeToString()


class Request:
    """One recorded request."""

    def __init__(self, method, path, headers, raw, body, t):
        self.method = method
        self.path = path
        self.headers = headers  # lower-cased name -> value (last one wins)
        self.raw = raw          # bytes as sent
        self.body = body        # gunzipped when Content-Encoding: gzip, else raw
        self.time = t           # time.time() at arrival
        self.status = None      # what the receiver answered

    def as_json(self):
        return {"method": self.method, "path": self.path, "headers": self.headers,
                "raw_length": len(self.raw), "body_hex": self.body.hex(), "time": self.time,
                "status": self.status}


class _Behaviour:
    def __init__(self, status=200, count=1, retry_after=None, body=b"", partial=None, delay=0):
        self.status = int(status)
        self.delay = float(delay)  # seconds before answering: a slow or hanging collector
        self.count = int(count)
        self.retry_after = None if retry_after is None else str(retry_after)
        if partial is not None:
            body = encode_partial_success(partial[0], partial[1])
        self.body = body.encode() if isinstance(body, str) else bytes(body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as an OTLP exporter expects

    def log_message(self, fmt, *args):  # quiet: tests read stdout
        pass

    def setup(self):
        super().setup()
        with self.server.receiver._lock:
            self.server.receiver._conns.add(self.connection)

    def finish(self):
        super().finish()
        with self.server.receiver._lock:
            self.server.receiver._conns.discard(self.connection)

    def _reply(self, status, body=b"", ctype="application/x-protobuf", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        rcv = self.server.receiver
        parts = self.path.strip("/").split("/")
        with rcv._lock:
            reqs = list(rcv._requests)
        if self.path == "/_count":
            return self._reply(200, str(len(reqs)).encode(), "text/plain")
        if self.path == "/_requests":
            return self._reply(200, json.dumps([r.as_json() for r in reqs]).encode(),
                               "application/json")
        if len(parts) == 3 and parts[0] == "_requests" and parts[1].isdigit():
            i = int(parts[1])
            if i >= len(reqs):
                return self._reply(404, b"no such request", "text/plain")
            r = reqs[i]
            if parts[2] == "body":
                return self._reply(200, r.body, "application/octet-stream")
            if parts[2] == "headers":
                lines = [f"{k}: {v}" for k, v in r.headers.items()]
                lines += [f":path: {r.path}", f":time: {r.time:.6f}",
                          f":raw-length: {len(r.raw)}"]
                return self._reply(200, ("\n".join(lines) + "\n").encode(), "text/plain")
        self._reply(404, b"unknown path", "text/plain")

    def do_POST(self):
        rcv = self.server.receiver
        t = time.time()
        raw = self._read_body()
        if self.path == "/_control":
            try:
                rcv._control(json.loads(raw.decode() or "{}"))
            except Exception as e:  # tell the test what it got wrong
                return self._reply(500, f"{type(e).__name__}: {e}".encode(), "text/plain")
            return self._reply(200, b"ok", "text/plain")
        headers = {k.lower(): v for k, v in self.headers.items()}
        body, bad = raw, None
        if headers.get("content-encoding", "").lower() == "gzip":
            try:
                body = gzip.decompress(raw)
            except (OSError, EOFError) as e:
                bad = f"bad gzip body: {e}"
        req = Request("POST", self.path, headers, raw, body, t)
        with rcv._lock:
            rcv._requests.append(req)
            b = rcv._next_behaviour()
            rcv._cond.notify_all()
        if b.delay:
            time.sleep(b.delay)
            try:
                gone = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:  # the client gave up waiting: nobody to answer
                self.close_connection = True
                return
        if bad:
            req.status = 400
            return self._reply(400, bad.encode(), "text/plain")
        req.status = b.status
        extra = [("Retry-After", b.retry_after)] if b.retry_after is not None else []
        ctype = "application/x-protobuf" if 200 <= b.status < 300 else "text/plain"
        self._reply(b.status, b.body, ctype, extra)


class Receiver:
    """The receiver in a thread of this process; see the module's doc."""

    def __init__(self, port=0, host="127.0.0.1"):
        self.host = host
        self._port = port
        self._server = None
        self._thread = None
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests = []
        self._script = []
        self._conns = set()  # open connections, cut by stop() so that none outlives it

    def start(self):
        self._server = ThreadingHTTPServer((self.host, self._port), _Handler)
        self._server.daemon_threads = True
        self._server.receiver = self
        self._port = self._server.server_address[1]
        # a short poll interval: stop() waits for serve_forever to notice
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        # A kept-alive connection's handler thread would otherwise go on answering.
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        """The endpoint to configure (OTEL_EXPORTER_OTLP_ENDPOINT, --otlp-endpoint)."""
        return f"http://{self.host}:{self._port}"

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    def script(self, status=200, count=1, retry_after=None, body=b"", partial=None, delay=0):
        """The next `count` requests get this answer (after what is already scripted).

        partial=(rejected_profiles, error_message) answers 200 with partial_success;
        delay=S answers only after S seconds (the request is recorded on arrival)."""
        b = _Behaviour(status, count, retry_after, body, partial, delay)
        with self._lock:
            self._script.append(b)

    def reset(self):
        with self._lock:
            self._requests.clear()
            self._script.clear()

    def wait_for(self, n, timeout=10.0):
        """Waits until n requests have arrived; returns whether they did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    @staticmethod
    def decode(req):
        """The request's body as an ExportProfilesServiceRequest."""
        msg = _protobuf_module().ExportProfilesServiceRequest()
        msg.ParseFromString(req.body)
        return msg

    def _control(self, cmd):
        if cmd.get("reset"):
            self.reset()
            return
        self.script(status=cmd.get("status", 200), count=cmd.get("count", 1),
                    retry_after=cmd.get("retry_after"), body=cmd.get("body", b""),
                    partial=cmd.get("partial"), delay=cmd.get("delay", 0))

    def _next_behaviour(self):  # with self._lock held
        while self._script and self._script[0].count <= 0:
            self._script.pop(0)
        if not self._script:
            return _Behaviour()
        b = self._script[0]
        b.count -= 1
        return b


def main():
    ap = argparse.ArgumentParser(description="scriptable OTLP/HTTP profiles receiver")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    args = ap.parse_args()
    r = Receiver(args.port).start()
    print(r.port, flush=True)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    r.stop()


if __name__ == "__main__":
    main()
