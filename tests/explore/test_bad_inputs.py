"""Bad uploads get one clear line in the page and the server keeps serving; paths outside the page's
folder are 404; wrong-shape or NaN latents are 400."""
import http.client
import io
import json
import socket
import struct
import urllib.parse

import numpy as np
import pytest
from PIL import Image

from facenet_vae.explore.backend import MAX_UPLOAD_BYTES
from facenet_vae.explore.latent_codec import latent_to_text
from facenet_vae.explore.server import static_file


def _connection(server_url):
    parts = urllib.parse.urlsplit(server_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def _request(server_url, method, path, body=None, headers=None):
    """Send ``path`` exactly as written (no client-side normalisation); return (status, body bytes)."""
    connection = _connection(server_url)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _assert_still_serving(server_url):
    status, body = _request(server_url, "GET", "/api/model")
    assert status == 200 and json.loads(body)["latent_var_size"] > 0


def _bad_files(tmp_path, shared_dir):
    jpeg = sorted((shared_dir / "data" / "celeba_subset_aligned").glob("*/*.jpg"))[0].read_bytes()
    one_pixel = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 150, 120)).save(one_pixel, format="PNG")
    one_pixel_png = one_pixel.getvalue()
    files = {"notes.txt": (b"these are my notes, not a photo\n", "not an image"),
             "cut.jpg": (jpeg[:len(jpeg) // 2], "truncated JPEG"),
             "dot.png": (one_pixel_png, "smaller than 8 px (1x1)")}
    paths = {}
    for name, (contents, expected) in files.items():
        (tmp_path / name).write_bytes(contents)
        paths[name] = (tmp_path / name, expected)
    big = tmp_path / "huge.jpg"
    with open(big, "wb") as handle:
        handle.write(jpeg[:2])
        handle.truncate(30 * 2 ** 20)
    paths["huge.jpg"] = (big, f"over the {MAX_UPLOAD_BYTES // 2 ** 20} MB limit")
    return paths


def test_bad_uploads_get_a_clear_message_and_the_server_keeps_serving(explorer_page, server_url, tmp_path,
                                                                     shared_dir):
    page = explorer_page.open()
    face_before = page.latent()
    for name, (path, expected) in _bad_files(tmp_path, shared_dir).items():
        page.page.set_input_files("#upload", str(path))
        page.page.wait_for_function('(name) => { const m = document.getElementById("message"); '
                                    'return !m.hidden && m.className === "error" && m.textContent.includes(name); }',
                                    arg=name)
        message = page.message()
        assert message.startswith(f"{name}: ") and expected in message, message
        assert "\n" not in message.strip()
        np.testing.assert_array_equal(page.latent(), face_before)   # the face is unchanged
        _assert_still_serving(server_url)
    assert page.console_errors == [] or all("api/encode" in e or "status of 4" in e for e in page.console_errors)


@pytest.mark.parametrize("name, contents, status, expected", [
    ("notes.txt", b"hello", 400, "notes.txt: not an image (cannot decode); upload a JPEG or PNG photo of one face"),
    ("empty.png", b"", 400, "empty.png: zero-byte file"),
    ("huge.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x00\x00\x00\x01\x00\x00\x08\x02\x00\x00\x00" + b"\0" * 64,
     413, "huge.png: a 65536x65536 image is too large"),
])
def test_encode_api_refuses_bad_photos_with_one_line(server_url, name, contents, status, expected):
    got, body = _request(server_url, "POST", "/api/encode", contents, {"X-Filename": name})
    assert got == status
    assert json.loads(body)["error"].startswith(expected)
    _assert_still_serving(server_url)


def test_encode_api_refuses_30_mb_and_keeps_serving(server_url):
    got, body = _request(server_url, "POST", "/api/encode", b"\xff" * (30 * 2 ** 20), {"X-Filename": "big.jpg"})
    assert got == 413 and "big.jpg: 30.0 MB is over the 20 MB limit" in json.loads(body)["error"]
    got, _ = _request(server_url, "POST", "/api/encode", b"x", {"X-Filename": "a.jpg", "Content-Length": "999999999"})
    assert got == 413
    _assert_still_serving(server_url)


ESCAPES = ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2e%2e/", "/..%2f..%2fetc%2fpasswd",
           "/vendor/../../server.py", "/vendor/%2e%2e/%2e%2e/backend.py", "//etc/passwd", "/%2fetc%2fpasswd",
           "/..\\..\\etc\\passwd", "/index.html%00.png", "/.hidden", "/%252e%252e/etc/passwd", "/static/index.html",
           "/vendor/onnxruntime-web/LICENSE", "/nonexistent.js", "/%ff%fe"]


@pytest.mark.parametrize("path", ESCAPES)
def test_paths_outside_the_static_folder_are_404(server_url, path):
    status, body = _request(server_url, "GET", path)
    assert status == 404, (path, body[:80])
    assert b"root:" not in body and b"import " not in body
    assert json.loads(body) == {"error": "not found"}


def test_the_page_files_are_served(server_url):
    for path, marker in (("/", b"<!doctype html>"), ("/explorer.js", b"import"),
                         ("/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm", b"\0asm")):
        status, body = _request(server_url, "GET", path)
        assert status == 200 and marker in body[:400], path
    assert static_file("/../explorer.js") is None and static_file("/explorer.js").endswith("explorer.js")


def _bad_latents(size):
    good = np.zeros(size, np.float32)
    nan, inf, huge = good.copy(), good.copy(), good.copy()
    nan[0], inf[-1], huge[1] = np.nan, np.inf, 1e30
    return {"too short": latent_to_text(good[:-1]), "too long": latent_to_text(np.zeros(size + 1, np.float32)),
            "NaN": latent_to_text(nan), "infinity": latent_to_text(inf), "huge": latent_to_text(huge),
            "not base64": "%%%%", "empty": "", "odd bytes": latent_to_text(good)[:-1]}


def test_wrong_shape_or_nan_latents_are_400(server_url, explorer):
    size = explorer.vae.latent_var_size
    for what, text in _bad_latents(size).items():
        status, body = _request(server_url, "GET", f"/api/decode?z={text}")
        assert status == 400, what
        assert json.loads(body)["error"], what
    status, body = _request(server_url, "GET", f"/api/decode?z={latent_to_text(np.ones(size, np.float32))}")
    assert status == 200 and body.startswith(b"\x89PNG")
    for query in ("seed=-1", "seed=x", "temperature=nan", "temperature=-1", "temperature=1e9"):
        status, body = _request(server_url, "GET", f"/api/sample?{query}")
        assert status == 400 and json.loads(body)["error"], query


def test_reference_decode_equals_the_model(server_url, explorer):
    latent = np.random.default_rng(4).standard_normal(explorer.vae.latent_var_size).astype(np.float32)
    status, body = _request(server_url, "GET", f"/api/decode?z={latent_to_text(latent)}")
    assert status == 200
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(body)).convert("RGB")),
                                  explorer.vae.decode_to_pixels(latent[None])[0])


def test_a_bad_latent_in_the_address_is_a_message_not_a_crash(explorer_page, explorer):
    size = explorer.vae.latent_var_size
    nan = np.zeros(size, np.float32)
    nan[2] = np.nan
    for text, expected in ((latent_to_text(np.zeros(size + 3, np.float32)), f"holds {size + 3} values"),
                           (latent_to_text(nan), "NaN"), ("***", "not base64url"),
                           (latent_to_text(np.zeros(size, np.float32)) + "&edit=Nope:1", 'edit "Nope:1" is not')):
        page = explorer_page.open(f"#z={text}")
        assert expected in page.message() and "random face" in page.message()
        assert len(page.latent()) == size and np.all(np.isfinite(page.latent()))
        assert page.console_errors == []


def test_a_browser_hanging_up_mid_answer_is_not_an_error(server_url, capfd):
    for _ in range(3):
        connection = _connection(server_url)
        connection.request("GET", "/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm")
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
        connection.close()
    _assert_still_serving(server_url)
    assert "Traceback" not in capfd.readouterr().err


def test_a_failure_inside_is_one_line_500_and_the_server_keeps_serving(server_url, explorer, monkeypatch, capfd):
    def broken(latent):
        raise RuntimeError("decoder exploded")
    monkeypatch.setattr(explorer, "decode", broken)
    status, body = _request(server_url, "GET", f"/api/decode?z={latent_to_text(np.zeros(explorer.vae.latent_var_size))}")
    assert status == 500 and json.loads(body) == {"error": "the server failed: RuntimeError: decoder exploded"}
    assert capfd.readouterr().err.count("\n") == 1
    _assert_still_serving(server_url)


def test_a_loopback_server_refuses_other_host_names(server_url):
    for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example", "[::2]"):
        status, body = _request(server_url, "GET", "/api/model", headers={"Host": host})
        assert status == 403 and "only answers to" in json.loads(body)["error"], host
        status, _ = _request(server_url, "POST", "/api/encode", b"x", headers={"Host": host})
        assert status == 403
    port = urllib.parse.urlsplit(server_url).port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "LOCALHOST"):
        status, _ = _request(server_url, "GET", "/api/model", headers={"Host": host})
        assert status == 200, host


def test_a_server_that_stops_answering_is_a_message(explorer_page):
    page = explorer_page.open()
    face_before = page.latent()
    page.page.route("**/api/sample*", lambda route: route.abort())
    page.page.click("#random")
    page.page.wait_for_function('() => !document.getElementById("message").hidden')
    assert "the server did not answer" in page.message()
    np.testing.assert_array_equal(page.latent(), face_before)
    assert all("ERR_FAILED" in error for error in page.console_errors), page.console_errors
