"""Regenerate docs/images/training_dashboard.png: lesson 3's training cell in
JupyterLab, as a reader gets it.

    python tools/screenshot_training.py [--out docs/images/training_dashboard.png]

Serves a copy of notebooks/ with real JupyterLab, opens lesson 3 in headless
Chromium (the harness of tests/browser/conftest.py: same server, same
browser, same settings), runs every cell, lets training end by itself (the
lesson paces it, ~15 s) and saves the training cell: its code and the
dashboard it left behind. Needs the test extra and Debian's chromium.
"""

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = "03_training_a_network.ipynb"
TRAINING_CELL = ".jp-Cell:has(img.nbgraph-lossplot)"


def _harness():
    spec = importlib.util.spec_from_file_location("browser_harness",
                                                  ROOT / "tests" / "browser" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module         # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


class _TempDirs:
    """The one thing the harness asks of pytest's tmp_path_factory."""

    def __init__(self, base):
        self.base = Path(base)

    def mktemp(self, name):
        path = self.base / name
        path.mkdir()
        return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "training_dashboard.png")
    args = parser.parse_args(argv)
    h = _harness()
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp:
        serving = h._serve(h.JUPYTERLAB, _TempDirs(tmp))
        server = next(serving)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=h.CHROMIUM, headless=True,
                                             args=h.CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport=h.VIEWPORT)
                    lab = h.JupyterPage(page=page, server=server, shots_dir=Path(tmp) / "shots")
                    lab.open_notebook(LESSON)
                    if not lab.run_all(timeout_ms=180_000):
                        sys.exit(f"a cell of {LESSON} failed")
                    cell = page.locator(TRAINING_CELL).first
                    cell.scroll_into_view_if_needed()
                    cell.locator("button.nbgraph-stop").wait_for()
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    cell.screenshot(path=str(args.out))
                finally:
                    browser.close()
        finally:
            serving.close()         # stops the server and its kernels
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
