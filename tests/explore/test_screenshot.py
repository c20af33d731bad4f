"""The README's screenshot of the explorer (docs/explorer.png), taken here in headless Chromium.

It shows the shipped model when the checkout has it (else the tiny test model): two real CelebA photos
as A and B, the second also as the current face, edited with the Smiling and Eyeglasses sliders.
"""
import pathlib

from PIL import Image

SCREENSHOT = pathlib.Path(__file__).resolve().parents[2] / "docs" / "explorer.png"


def test_screenshot_for_the_readme(explorer_page, explorer, shared_dir):
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
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.page.screenshot(path=str(SCREENSHOT), full_page=True)
    with Image.open(SCREENSHOT) as image:
        assert image.format == "PNG" and image.width == 1280 and image.height >= 800
