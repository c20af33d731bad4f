"""Fixtures of the browser tests: the explored model, an in-process explorer server and headless Chromium pages.

Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright (its own browser download cannot be
reached from these machines). Without it these tests fail, naming the install command.
"""
import os
import threading

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from facenet_vae.explore.backend import load_explorer
from facenet_vae.explore.server import ExplorerServer
from model_fixture import explored_model

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
VIEWPORT = {"width": 1280, "height": 1000}
READY_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
def model_path(tmp_path_factory, shared_dir):
    """The shipped model when present, else a tiny dfc_vae trained here (see model_fixture)."""
    path, _ = explored_model(tmp_path_factory.mktemp("explore_model"), shared_dir / "data" / "celeba_subset.npz")
    return path


@pytest.fixture(scope="session")
def explorer(model_path):
    """The ``Explorer`` the in-process server serves (its ``vae`` gives the Python reference values)."""
    return load_explorer(model_path)


@pytest.fixture(scope="session")
def server_url(explorer):
    """The address of an explorer server on 127.0.0.1 (any free port), run in a thread for the session."""
    server = ExplorerServer(("127.0.0.1", 0), explorer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium; fails (does not skip) when it is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: install it with "
                    f"`sudo apt-get install -y chromium` (the README's test command and .ci/run do this)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ExplorerPage:
    """A browser tab on the explorer, with what its console said and which addresses it asked for."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url
        self.console_errors = []
        self.requests = []
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))

    def open(self, suffix=""):
        """Load the page (``suffix`` e.g. ``#z=...``) and wait until its first face is painted."""
        self.page.goto(self.base_url + suffix)
        self.page.wait_for_function("() => window.explorer && window.explorer.ready", timeout=READY_TIMEOUT_MS)
        return self

    def idle(self):
        """Wait until every asked-for decode is painted."""
        self.page.evaluate("() => window.explorer.idle()")

    def value(self, expression):
        """Return the value of a JavaScript expression (in the page, with ``explorer`` in scope)."""
        return self.page.evaluate(f"() => {{ const explorer = window.explorer; return {expression}; }}")

    def latent(self, expression="explorer.shownLatent()"):
        """Return a latent the page holds as float32 numpy."""
        return np.asarray(self.value(expression), np.float32)

    def pixels(self, canvas_id="face"):
        """Return the RGB uint8 pixels of a canvas (H, W, 3)."""
        data = self.page.evaluate("""(id) => {
            const canvas = document.getElementById(id);
            const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            return {width: canvas.width, height: canvas.height, data: Array.from(image.data)};
        }""", canvas_id)
        rgba = np.asarray(data["data"], np.uint8).reshape(data["height"], data["width"], 4)
        assert (rgba[..., 3] == 255).all(), "the canvas has transparent pixels"
        return rgba[..., :3]

    def set_slider(self, name, amount):
        """Move the slider of attribute ``name`` to ``amount`` (an input event, as dragging gives) and wait."""
        self.page.locator(f'input[data-attribute="{name}"]').fill(str(amount))
        self.idle()

    def message(self):
        """Return the text of the page's message line ('' when hidden)."""
        return self.value('document.getElementById("message").hidden ? "" : '
                          'document.getElementById("message").textContent')


@pytest.fixture
def explorer_page(browser, server_url):
    """A fresh tab (own context: no shared storage) on the explorer; call ``.open()``."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield ExplorerPage(context.new_page(), server_url)
    context.close()
