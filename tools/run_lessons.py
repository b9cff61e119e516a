"""Execute the lessons and save them the way they are committed.

    python tools/run_lessons.py                    # every notebooks/*.ipynb
    python tools/run_lessons.py notebooks/01_computational_graphs.ipynb

Each notebook runs top to bottom in a fresh kernel (the interpreter running
this script), from its own folder. What is saved is what a reader should get
on first open, trusted or not, with or without a kernel:

* every output keeps its static forms (text/html, image/svg+xml, image/png,
  text/plain) and loses its widget view: a widget view outranks the other
  forms wherever it is present, and without the kernel that made it, it is a
  dead placeholder. A drawing's text/html is its picture, and for a Stepper
  the script that steps it once the notebook is trusted (nbgraph.publish);
  an output that was a widget and nothing else (its repr, "VBox(...)") goes;
* no saved widget state in the notebook's metadata (it is large and only
  meaningful to the kernel that is gone);
* the kernelspec matches what JupyterLab writes on open, so opening a lesson
  does not mark it modified;
* no timing metadata, so re-running gives the same file when nothing changed.

A cell that raises stops the run for that notebook and leaves the file as it
was; the new file replaces the old one in one rename (never a half-written
lesson). `make lab` trusts the saved lessons, so their Steppers step on open.
"""

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))      # this checkout's nbgraph, not another install
from nbgraph.publish import strip_widget_views, write_text_atomic  # noqa: E402
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def clean(book):
    """Strip widget views, widget state and volatile metadata, in place."""
    strip_widget_views(book)
    book.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in book.cells:
        cell.metadata.pop("execution", None)
    return book


def run(path, timeout=600):
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"run_lessons: no such notebook: {path}")
    book = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(book, timeout=timeout, kernel_name="python3",
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    clean(book)
    nbformat.validate(book)
    text = nbformat.writes(book) + "\n"     # Jupyter's own layout: saving it again changes nothing
    write_text_atomic(path, text)             # the whole new file or the old one
    print(f"{path.name}: {len(book.cells)} cells in {time.perf_counter() - start:.1f} s, "
          f"{len(text.encode()) / 1024:.0f} kB", flush=True)


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
