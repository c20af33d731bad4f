"""The README's screenshot of the explorer, taken here in headless Chromium, into a temporary folder.

It shows the shipped model when the checkout has it (else the tiny test model): two real CelebA photos
as A and B, the second also as the current face, edited with the Smiling and Eyeglasses sliders. The
tracked docs/explorer.png is never written by the tests: set FACENET_VAE_SCREENSHOT=<path> to keep the
picture (``FACENET_VAE_SCREENSHOT=docs/explorer.png pytest tests/explore/test_screenshot.py`` renews it).
"""
import os
import pathlib
import shutil

from PIL import Image


def test_screenshot_for_the_readme(explorer_page, explorer, shared_dir, tmp_path):
    page = explorer_page.open()
    photos = sorted((shared_dir / "data" / "celeba_subset_aligned").glob("*/*.jpg"))
    for photo, end in ((photos[100], "#set-a"), (photos[45], "#set-b")):
        page.page.set_input_files("#upload", str(photo))
        page.page.wait_for_function('(name) => document.getElementById("face-info").textContent.includes(name)',
                                    arg=photo.name)
        page.idle()
        page.page.click(end)
    names = [s["name"] for s in explorer.sliders if s["vector"] is not None]
    for name, amount in (("Smiling", 1.5), ("Eyeglasses", 2.0)):
        if name in names:
            page.set_slider(name, amount)
    page.page.fill("#scrubber", "0.5")
    page.idle()
    assert page.console_errors == [] and page.message() == ""
    screenshot = tmp_path / "explorer.png"
    page.page.screenshot(path=str(screenshot), full_page=True)
    with Image.open(screenshot) as image:
        assert image.format == "PNG" and image.width == 1280 and image.height >= 800
    keep = os.environ.get("FACENET_VAE_SCREENSHOT")
    if keep:
        pathlib.Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, keep)
