"""Execute the lessons and save them the way they are committed.

    python tools/run_lessons.py                    # every notebooks/*.ipynb
    python tools/run_lessons.py notebooks/01_computational_graphs.ipynb

Each notebook runs top to bottom in a fresh kernel (the interpreter running
this script) with NBGRAPH_PUBLISH=1, from its own folder. What is saved is what
a reader should get on first open, trusted or not, with or without a kernel,
and in a sanitizing static view (GitHub, nbviewer, nbconvert's sanitize_html):

* every drawing is a picture output {image/png, image/svg+xml, text/plain}:
  untrusted JupyterLab and Notebook 7 show the PNG, trusted ones and nbconvert
  the SVG; no HTML, which sanitizers escape into markup text. A Stepper's
  picture is followed by an output {application/javascript, text/plain: ""}
  that mounts the widget's own controls on it where scripts run (a trusted
  notebook, an nbconvert page) and shows nothing elsewhere (nbgraph.publish);
* no widget view and no saved widget state: a widget view outranks the other
  forms wherever it is present, and without its kernel it is a dead placeholder;
* the kernelspec matches what JupyterLab writes on open, so opening a lesson
  does not mark it modified; no timing metadata, so re-running gives the same
  file when nothing changed.

This is ``python -m nbgraph publish`` over the lessons. A cell that raises stops
the run for that notebook and leaves the file as it was; the new file replaces
the old one in one rename. `make lab` trusts the saved lessons, so their
Steppers step on open.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))      # this checkout's nbgraph, not another install
from nbgraph.export import ExportError, publish_notebook  # noqa: E402
from nbgraph.publish import KERNELSPEC, for_static_views  # noqa: E402,F401  (KERNELSPEC: tests)


def clean(book):
    """Strip widget views, widget state and volatile metadata, split drawings, in place."""
    for_static_views(book)
    return book


def run(path, timeout=600):
    path = Path(path)
    start = time.perf_counter()
    try:
        _, info = publish_notebook(path, path, timeout=timeout)
    except ExportError as exc:
        raise SystemExit(f"run_lessons: {exc}") from None
    print(f"{path.name}: {info['cells']} cells, {info['drawings']} drawing(s) ({info['steppers']} "
          f"stepping) in {time.perf_counter() - start:.1f} s, {info['bytes'] / 1024:.0f} kB", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/*.ipynb")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for p in paths:
        run(p, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
