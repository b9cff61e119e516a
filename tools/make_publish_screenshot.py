"""Screenshot of an exported lesson, for the README's "Publishing a lesson".

    python tools/make_publish_screenshot.py

Exports lesson 01 with `python -m nbgraph export` into a temporary folder, opens
the page from file:// in headless Debian Chromium with every other request
aborted, steps its Stepper into the backward pass and writes
docs/images/exported_lesson.png. Look at it after running it.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
LESSON = REPO / "notebooks" / "01_computational_graphs.ipynb"
OUT = REPO / "docs" / "images" / "exported_lesson.png"
CHROMIUM = os.environ.get("NBGRAPH_CHROMIUM", "/usr/bin/chromium")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "01_computational_graphs.html"
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        subprocess.run([sys.executable, "-m", "nbgraph", "export", str(LESSON), "-o", str(page_path)],
                       check=True, env=env)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            try:
                context = browser.new_context(viewport={"width": 1100, "height": 760})
                left = []
                context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                              else (left.append(r.request.url), r.abort()))
                page = context.new_page()
                page.goto(page_path.as_uri())
                stepper = page.locator(".nbg-stepper").first
                stepper.wait_for()
                forward = stepper.locator('button[title="Step forward"]')
                for _ in range(4):                  # forward pass, then two backward steps
                    forward.click()
                page.wait_for_function("(el) => el.textContent.includes('backward 2/')",
                                       arg=stepper.locator(".nbg-progress").element_handle())
                cell = page.locator(".jp-Cell", has=stepper).first
                cell.scroll_into_view_if_needed()
                # the Stepper's cell with the text above it: what a reader of the page sees
                box = cell.bounding_box()
                top = max(0, box["y"] - 150)
                page.screenshot(path=str(OUT), clip={"x": 0, "y": top, "width": 1100,
                                                     "height": box["height"] + (box["y"] - top) + 20})
                if left:
                    raise SystemExit(f"the page asked for {left}")
            finally:
                browser.close()
    print(f"[screenshot] {OUT}")


if __name__ == "__main__":
    main()
