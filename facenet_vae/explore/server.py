"""The explorer's HTTP server (standard library ``http.server``): the page's static files and a small JSON API.

=====================  ======  ==========================================================================
path                   method  answer
=====================  ======  ==========================================================================
``/``, ``/<file>``     GET     a file of ``static/`` (nothing outside it: anything else is 404)
``/api/model``         GET     JSON: model facts, framing, the attribute sliders' vectors and notes
``/api/decoder.onnx``  GET     the decoder as ONNX (latent -> uint8 image), run by onnxruntime-web
``/api/sample``        GET     ``?seed=&temperature=``: JSON ``{"z"}``, the prior draw generate.py makes
``/api/decode``        GET     ``?z=``: PNG of the face decoded by the Keras model (a reference)
``/api/encode``        POST    the photo's bytes (header ``X-Filename``): JSON ``{"z", "crop", ...}``
=====================  ======  ==========================================================================

Latents travel as base64url float32 (``latent_codec``). Refusals are JSON ``{"error": "<one line>"}``
with status 400 (bad input), 404, 411 or 413. Every answer carries cross-origin isolation headers
(so onnxruntime-web may use threads) and a content security policy allowing this origin only. A
server on loopback answers only requests addressed to 127.0.0.1, localhost or ::1 (403 otherwise).
"""
import base64
import json
import os
import posixpath
import socket
import sys
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import tensorflow as tf

from facenet_vae.explore.backend import MAX_UPLOAD_BYTES, RequestError
from facenet_vae.explore.latent_codec import LatentError, latent_from_text, latent_to_text

STATIC_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".wasm": "application/wasm", ".png": "image/png", ".svg": "image/svg+xml",
                 ".md": "text/plain; charset=utf-8"}
SECURITY_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
                               "img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self' data: blob:; "
                               "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'",
}
LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
DRAIN_LIMIT = 4 * MAX_UPLOAD_BYTES  # bigger uploads are refused without reading them (the connection closes)


def static_file(request_path):
    """Return the absolute path of the ``static/`` file a request path names, or None (then: 404).

    The path is percent-decoded once; NUL, backslashes, empty or dot segments (``..``, ``.x``) and
    anything resolving (through links too) outside ``static/`` give None.
    """
    path = urllib.parse.unquote(urllib.parse.urlsplit(request_path).path, errors="strict")
    if "\x00" in path or "\\" in path or not path.startswith("/"):
        return None
    parts = path[1:].split("/") if path != "/" else ["index.html"]
    if any(part == "" or part.startswith(".") for part in parts):
        return None
    root = os.path.realpath(STATIC_ROOT)
    candidate = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([candidate, root]) != root or not os.path.isfile(candidate):
        return None
    if posixpath.splitext(candidate)[1] not in CONTENT_TYPES:
        return None
    return candidate


def _png_bytes(pixels):
    return tf.io.encode_png(pixels).numpy()


class ExplorerHandler(BaseHTTPRequestHandler):
    """Answers one request; the ``Explorer`` is the server's ``explorer`` attribute."""
    server_version = "facenet-vae-explore"
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds a connection may stay silent (an upload that stops half-way frees its thread)

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if self.server.verbose:
            sys.stderr.write(f"explore: {self.address_string()} {format % args}\n")

    def _send(self, status, body, content_type, cache="no-store"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload, status=HTTPStatus.OK):
        self._send(status, json.dumps(payload, allow_nan=False).encode("utf-8"), "application/json")

    def _error(self, status, message):
        self._json({"error": message}, status)

    def _internal_error(self, error):
        sys.stderr.write(f"explore: {self.command} {self.path[:80]} failed: {type(error).__name__}: {error}\n")
        self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"the server failed: {type(error).__name__}: {error}")

    def _query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)

    def _number(self, query, name, kind, default):
        values = query.get(name)
        if not values:
            return default
        try:
            return kind(values[0])
        except ValueError:
            raise RequestError(f"{name} must be a {'whole ' if kind is int else ''}number, got {values[0]!r}") from None

    def _foreign_host(self):
        """Refuse (403) a request naming another host than this machine while listening on loopback only:
        a web page whose domain re-resolves to 127.0.0.1 (DNS rebinding) gets nothing."""
        if not self.server.local_only:
            return False
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.split(":", 1)[0]
        if name in LOCAL_NAMES:
            return False
        self.close_connection = True
        self._error(HTTPStatus.FORBIDDEN, f"this server only answers to {', '.join(sorted(LOCAL_NAMES))}")
        return True

    def do_GET(self):  # noqa: N802 (http.server's name)
        """Serve a static file or answer a GET API call."""
        if self._foreign_host():
            return
        route = urllib.parse.urlsplit(self.path).path
        explorer = self.server.explorer
        try:
            if route == "/api/model":
                return self._json(explorer.description())
            if route == "/api/decoder.onnx":
                return self._send(HTTPStatus.OK, explorer.decoder_onnx, "application/octet-stream")
            if route == "/api/sample":
                query = self._query()
                seed = self._number(query, "seed", int, 0)
                temperature = self._number(query, "temperature", float, 1.0)
                return self._json({"z": latent_to_text(explorer.sample(seed, temperature)), "seed": seed,
                                   "temperature": temperature})
            if route == "/api/decode":
                latent = latent_from_text((self._query().get("z") or [""])[0], explorer.vae.latent_var_size)
                return self._send(HTTPStatus.OK, _png_bytes(explorer.decode(latent)), "image/png")
        except (RequestError, LatentError) as error:
            return self._error(getattr(error, "status", HTTPStatus.BAD_REQUEST), str(error))
        except Exception as error:  # noqa: BLE001 (the page gets one line; the server keeps serving)
            return self._internal_error(error)
        try:
            path = static_file(self.path)
        except UnicodeDecodeError:
            path = None
        if path is None:
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        with open(path, "rb") as handle:
            body = handle.read()
        self._send(HTTPStatus.OK, body, CONTENT_TYPES[posixpath.splitext(path)[1]], cache="no-cache")

    def do_HEAD(self):  # noqa: N802
        """Answer like GET without the body."""
        self.do_GET()

    def do_POST(self):  # noqa: N802
        """Encode an uploaded photo (``/api/encode``); other paths are 404."""
        if self._foreign_host():
            return
        if urllib.parse.urlsplit(self.path).path != "/api/encode":
            self.close_connection = True
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        filename = urllib.parse.unquote(self.headers.get("X-Filename") or "the photo")[:200]
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            return self._error(HTTPStatus.LENGTH_REQUIRED, "the upload needs a Content-Length")
        length = int(length)
        if length > MAX_UPLOAD_BYTES:
            if length > DRAIN_LIMIT:
                self.close_connection = True
            else:
                self._drain(length)
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"{filename}: {length / 2 ** 20:.1f} MB is over the {MAX_UPLOAD_BYTES // 2 ** 20} MB "
                               f"limit for a photo")
        contents = self.rfile.read(length)
        try:
            upload = self.server.explorer.encode_upload(contents, filename)
        except RequestError as error:
            return self._error(error.status, str(error))
        except Exception as error:  # noqa: BLE001
            return self._internal_error(error)
        crop = "data:image/png;base64," + base64.b64encode(_png_bytes(upload.face)).decode("ascii")
        self._json({"z": latent_to_text(upload.latent), "crop": crop, "width": upload.width,
                    "height": upload.height, "framing": self.server.explorer.vae.framing.describe()})

    def _drain(self, length):
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)


class ExplorerServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer holding the ``Explorer`` its handlers use."""
    daemon_threads = True

    def __init__(self, address, explorer=None, verbose=False):
        self.explorer = explorer
        self.verbose = verbose
        self.local_only = address[0] in LOCAL_NAMES
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, ExplorerHandler)

    def handle_error(self, request, client_address):
        """A browser that hangs up mid-answer is no error; anything else is one line (a traceback with --verbose)."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        if self.verbose:
            super().handle_error(request, client_address)
        else:
            sys.stderr.write(f"explore: error answering {client_address[0]}: {type(error).__name__}: {error}\n")

    def url(self):
        """Return the page's address, naming 127.0.0.1 when listening on every interface."""
        host, port = self.server_address[:2]
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"

