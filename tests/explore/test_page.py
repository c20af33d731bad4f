"""The explorer page in headless Chromium: it loads cleanly, decodes in the browser what Python decodes,
edits with the attribute vectors, encodes photos as generate.py does, keeps the face in its address,
interpolates from A to B, hands out PNG and GIF files, and measures slider-to-canvas latency."""
import base64
import io
import urllib.parse

import numpy as np
from PIL import Image

from facenet_vae.explore.latent_codec import latent_from_text
from facenet_vae.generation import load_images
from facenet_vae.generation.attribute_vectors import read_attribute_vectors_file
from facenet_vae.generation.latent_distribution import draw_latents, fit_latent_gaussian
from facenet_vae.generation.latent_maths import linear_interpolation, spherical_interpolation

MAX_MEAN_GREY_DIFFERENCE = 2.0
ENCODER_TOLERANCE = 1e-3


def _first_slider(explorer):
    """The attribute the tests drag: Smiling when it has a vector, else the first that has one."""
    usable = [s["name"] for s in explorer.sliders if s["vector"] is not None]
    assert usable, "the explored model has no attribute vectors"
    return "Smiling" if "Smiling" in usable else usable[0]


def _vector(explorer, name):
    return np.asarray(next(s["vector"] for s in explorer.sliders if s["name"] == name), np.float32)


def _mean_grey_difference(a, b):
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _aligned_jpeg(shared_dir, index=0):
    return sorted((shared_dir / "data" / "celeba_subset_aligned").glob("*/*.jpg"))[index]


def test_page_loads_without_console_errors_or_outside_requests(explorer_page, explorer, server_url):
    page = explorer_page.open()
    assert page.console_errors == []
    assert all(url.startswith((server_url, "data:", "blob:")) for url in page.requests), page.requests
    assert any(url.endswith("ort-wasm-simd-threaded.wasm") for url in page.requests)
    assert page.value("self.crossOriginIsolated") is True  # so onnxruntime-web may use threads
    assert explorer.vae.source in page.value('document.getElementById("model-info").textContent')
    # One slider per attribute of the model's attribute_vectors.h5, disabled where the vector is undefined.
    sliders = page.value('[...document.querySelectorAll("#sliders input")].map(i => [i.dataset.attribute, i.disabled])')
    assert sliders == [[s["name"], s["vector"] is None] for s in explorer.sliders]
    notes = page.value('[...document.querySelectorAll("#sliders .few")].map(n => n.textContent)')
    assert notes == [s["note"] for s in explorer.sliders if s["note"]]
    assert page.value('document.getElementById("seed").value') == "0"


def test_first_face_is_generate_sample_seed_zero(explorer_page, explorer):
    """Random faces come from the Gaussian fitted to the model's training latents, as generate.py's do."""
    page = explorer_page.open()
    vectors = read_attribute_vectors_file(explorer.attribute_vectors_file)
    expected = draw_latents(1, explorer.vae.latent_var_size, seed=0, gaussian=fit_latent_gaussian(vectors.latent_vars))
    np.testing.assert_array_equal(page.latent(), expected[0])
    assert explorer.description()["sample_from"] == "fitted"


def test_slider_moves_the_face_and_canvas_equals_python_decode(explorer_page, explorer):
    page = explorer_page.open()
    name = _first_slider(explorer)
    before_pixels, base = page.pixels(), page.latent()
    page.set_slider(name, 2.5)
    after_pixels, edited = page.pixels(), page.latent()
    np.testing.assert_allclose(edited, base + 2.5 * _vector(explorer, name), atol=1e-5)
    assert np.abs(after_pixels.astype(int) - before_pixels.astype(int)).max() > 0
    for latent, pixels in ((base, before_pixels), (edited, after_pixels)):
        reference = explorer.decode(latent)
        assert _mean_grey_difference(pixels, reference) <= MAX_MEAN_GREY_DIFFERENCE
    page.page.click("#reset")
    page.idle()
    np.testing.assert_array_equal(page.latent(), base)
    assert page.console_errors == []


def test_upload_encodes_like_generate(explorer_page, explorer, shared_dir):
    page = explorer_page.open()
    photo = _aligned_jpeg(shared_dir, 7)
    page.page.set_input_files("#upload", str(photo))
    page.page.wait_for_function('() => document.getElementById("face-info").textContent.includes("your photo")')
    page.idle()
    faces = load_images([photo], explorer.vae)           # generate.py's reading and framing
    expected = explorer.vae.encode_pixels(faces)[0][0]
    np.testing.assert_allclose(page.latent("Array.from(explorer.state.base)"), expected, atol=ENCODER_TOLERANCE)
    np.testing.assert_allclose(page.latent(), expected, atol=ENCODER_TOLERANCE)
    crop_url = page.value('document.getElementById("crop").src')
    crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(crop_url.split(",", 1)[1]))).convert("RGB"))
    np.testing.assert_array_equal(crop, faces[0])
    assert "178x218" in page.value('document.getElementById("crop-caption").textContent')
    assert page.message() == "" and page.console_errors == []


def test_address_round_trips_the_face(explorer_page, explorer, browser, server_url):
    page = explorer_page.open()
    page.page.click("#random")
    page.page.wait_for_function('() => document.getElementById("seed").value !== "0"')
    page.idle()
    page.set_slider(_first_slider(explorer), -1.5)
    page.value("explorer.writeUrl()")
    url, latent, pixels = page.page.url, page.latent(), page.pixels()
    assert "#z=" in url and "edit=" in url
    link = urllib.parse.parse_qs(urllib.parse.urlsplit(url).fragment)
    np.testing.assert_array_equal(latent_from_text(link["z"][0], explorer.vae.latent_var_size),
                                  page.latent("Array.from(explorer.state.base)"))   # the server reads the page's text

    context = browser.new_context()
    try:
        from conftest import ExplorerPage
        again = ExplorerPage(context.new_page(), server_url).open(url[len(server_url):])
        np.testing.assert_array_equal(again.latent(), latent)
        np.testing.assert_array_equal(again.pixels(), pixels)
        assert again.console_errors == []
    finally:
        context.close()


def test_interpolation_ends_are_a_and_b(explorer_page, explorer):
    page = explorer_page.open()
    page.page.click("#set-a")
    a = page.latent()
    a_pixels = page.pixels()
    page.page.fill("#seed", "5")
    page.page.dispatch_event("#seed", "change")
    page.page.wait_for_function('() => document.getElementById("face-info").textContent.includes("seed 5,")')
    page.idle()
    page.page.click("#set-b")
    page.idle()
    b, b_pixels = page.latent(), page.pixels()
    steps, size = 8, explorer.vae.image_size
    for path, reference in (("linear", linear_interpolation), ("spherical", spherical_interpolation)):
        page.page.select_option("#interpolation", path)
        page.idle()
        strip_latents = page.latent("explorer.stripLatents()")
        np.testing.assert_allclose(strip_latents, reference(a, b, steps), atol=1e-5)
        np.testing.assert_allclose(strip_latents[0], a, atol=1e-6)
        np.testing.assert_allclose(strip_latents[-1], b, atol=1e-6)
        strip = page.pixels("strip")
        assert strip.shape == (size, steps * size, 3)
        assert _mean_grey_difference(strip[:, :size], a_pixels) <= MAX_MEAN_GREY_DIFFERENCE
        assert _mean_grey_difference(strip[:, -size:], b_pixels) <= MAX_MEAN_GREY_DIFFERENCE
        assert _mean_grey_difference(page.pixels("face-a"), a_pixels) <= MAX_MEAN_GREY_DIFFERENCE
    for position, end in (("0", a), ("1", b)):
        page.page.fill("#scrubber", position)
        page.idle()
        np.testing.assert_allclose(page.latent("explorer.scrubLatent()"), end, atol=1e-6)
    assert page.console_errors == []


def test_downloads_face_png_strip_png_and_gif(explorer_page, explorer):
    page = explorer_page.open()
    with page.page.expect_download() as download:
        page.page.click("#download-face")
    assert download.value.suggested_filename == "face.png"
    face = np.asarray(Image.open(download.value.path()).convert("RGB"))
    np.testing.assert_array_equal(face, page.pixels())

    page.page.click("#set-a")
    page.set_slider(_first_slider(explorer), 3)
    page.page.click("#set-b")
    page.page.fill("#steps", "5")
    page.page.dispatch_event("#steps", "change")
    page.idle()
    size = explorer.vae.image_size
    with page.page.expect_download() as download:
        page.page.click("#download-strip")
    assert download.value.suggested_filename == "interpolation.png"
    strip = np.asarray(Image.open(download.value.path()).convert("RGB"))
    np.testing.assert_array_equal(strip, page.pixels("strip"))
    assert strip.shape == (size, 5 * size, 3)
    with page.page.expect_download() as download:
        page.page.click("#download-gif")
    assert download.value.suggested_filename == "interpolation.gif"
    gif = Image.open(download.value.path())
    assert gif.format == "GIF" and gif.size == (size, size)
    assert gif.n_frames == 2 * 5 - 2                      # A..B and back, ends once
    gif.seek(0)
    first = np.asarray(gif.convert("RGB"))
    assert _mean_grey_difference(first, strip[:, :size]) <= 8  # a 256-colour palette of the first face
    assert page.console_errors == []


def test_slider_latency_is_measured_and_printed(explorer_page, explorer, capsys):
    page = explorer_page.open()
    slider = page.page.locator(f'input[data-attribute="{_first_slider(explorer)}"]')
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.page.mouse.move(box["x"] + 2, y)
    page.page.mouse.down()
    moves = 60
    for step in range(moves):  # a drag across the slider, one input event per move
        page.page.mouse.move(box["x"] + 2 + (box["width"] - 4) * (step + 1) / moves, y)
        page.page.wait_for_timeout(15)
    page.page.mouse.up()
    page.idle()
    page.page.wait_for_timeout(100)
    latencies = np.asarray(page.value("explorer.latencies()"), np.float64)
    assert len(latencies) >= moves // 2 and np.all(np.isfinite(latencies)) and np.all(latencies > 0)
    p50, p95 = np.percentile(latencies, [50, 95])
    decode_p50, decode_p95 = np.percentile(page.value("explorer.decodeTimes()"), [50, 95])
    threads = page.value("explorer.state.decoder.threads")
    with capsys.disabled():
        print(f"\nexplorer slider input -> painted canvas: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(latencies)} "
              f"inputs; decode alone p50 {decode_p50:.1f} ms, p95 {decode_p95:.1f} ms ({explorer.vae.vae_def}, latent "
              f"{explorer.vae.latent_var_size}, onnxruntime-web wasm, {threads} thread{'s' if threads > 1 else ''})")
    assert page.console_errors == []
