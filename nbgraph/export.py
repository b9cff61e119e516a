"""A lesson as one HTML page whose Steppers step offline.

    python -m nbgraph export notebooks/01_computational_graphs.ipynb [-o 01.html]
    jupyter nbconvert --to nbgraph.export.OfflineHTMLExporter LESSON.ipynb   # the same page
    python -m nbgraph publish NOTEBOOK.ipynb [-o OUT.ipynb]   # run it, save it for static views

Built on nbconvert's HTML exporter and JupyterLab's template, with two changes:
widget views and saved widget state are dropped (each drawing output then shows
its HTML form, which steps by itself: ``nbgraph.publish``; a published notebook's
Stepper scripts run as they are), and the template
loads nothing from a CDN (no require.js, widget manager, MathJax or Mermaid;
LaTeX in Markdown stays as written). The page fetches nothing when it opens.
"""

import json
import os
import pathlib
import sys
import time

import nbformat
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import default

from .publish import (PUBLISH_ENV, count_drawings, for_static_views, strip_widget_views,
                      write_text_atomic)

__all__ = ["OfflineHTMLExporter", "DropWidgetViews", "export_notebook", "publish_notebook",
           "ExportError"]

TEMPLATES = pathlib.Path(__file__).parent / "templates"


class ExportError(Exception):
    """A notebook that cannot be exported (missing, not a notebook, failed to run)."""


class DropWidgetViews(Preprocessor):
    """Remove widget views and saved widget state, so each drawing output shows its
    HTML form (``nbgraph.publish``): the picture, and for a Stepper the steps."""

    def preprocess(self, nb, resources):
        resources.setdefault("nbgraph", {})["widget_views_dropped"] = strip_widget_views(nb)
        return nb, resources


class OfflineHTMLExporter(HTMLExporter):
    """HTML page of a notebook that steps its drawings and fetches nothing."""

    export_from_notebook = "HTML, offline (nbgraph)"

    def __init__(self, **kw):
        super().__init__(**kw)
        self.register_preprocessor(DropWidgetViews, enabled=True)

    @default("extra_template_basedirs")
    def _nbgraph_template_dir(self):      # nbconvert looks here for the template "nbgraph"
        return [str(TEMPLATES)]

    @default("template_name")
    def _nbgraph_template(self):
        return "nbgraph"


def read_notebook(path):
    """The notebook at ``path``; ExportError (not a traceback) when it is missing or not one."""
    path = pathlib.Path(path)
    if not path.exists():
        raise ExportError(f"{path}: no such file")
    if not path.is_file():
        raise ExportError(f"{path}: not a file")
    try:
        text = path.read_text(encoding="utf-8")
        book = nbformat.reads(text, as_version=4)
        nbformat.validate(book)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError,
            nbformat.reader.NotJSONError, KeyError, AttributeError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(f"{path}: not a Jupyter notebook ({reason[:200]})") from None
    return book


def export_notebook(path, out=None, execute=False, timeout=600):
    """Write ``path`` (an .ipynb) as one offline HTML page at ``out`` (default: the
    same name with .html). With ``execute=True`` the notebook runs first, from its
    own folder, in a fresh kernel. The page is written whole or not at all.
    Returns (out path, a short summary dict)."""
    path = pathlib.Path(path)
    book = read_notebook(path)
    out = pathlib.Path(out) if out is not None else path.with_suffix(".html")
    if out.resolve() == path.resolve():
        raise ExportError(f"{out}: the output would overwrite the notebook")
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent}: no such folder for the output")
    resources = {"metadata": {"name": path.stem, "path": str(path.parent)}}
    if execute:
        _execute(book, path, timeout)
    html, resources = OfflineHTMLExporter().from_notebook_node(book, resources=resources)
    write_text_atomic(out, html)
    drawings, steppers = count_drawings(book)
    return out, {"cells": len(book.cells), "drawings": drawings, "steppers": steppers,
                 "bytes": len(html.encode("utf-8")),
                 "widget_views_dropped": resources.get("nbgraph", {}).get("widget_views_dropped", 0)}


def _execute(book, path, timeout, env=None):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    try:
        NotebookClient(book, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute(
                           **({} if env is None else {"env": env}))
    except CellExecutionError as exc:
        raise ExportError(f"{path}: a cell failed while running it:\n{exc}") from None


def publish_notebook(path, out=None, timeout=600):
    """Run the notebook at ``path`` (from its own folder, in a fresh kernel with
    ``NBGRAPH_PUBLISH=1``) and write it at ``out`` (default: in place) the way the lessons
    are committed (``publish.for_static_views``): every drawing a picture that GitHub,
    nbviewer and untrusted JupyterLab show, every Stepper stepping where the notebook is
    trusted. Written whole or not at all. Returns (out path, a short summary dict)."""
    path = pathlib.Path(path)
    book = read_notebook(path)
    out = path if out is None else pathlib.Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent}: no such folder for the output")
    _execute(book, path, timeout, env=dict(os.environ, **{PUBLISH_ENV: "1"}))
    try:
        drawings, steppers = for_static_views(book)
    except ValueError as exc:
        raise ExportError(f"{path}: {exc}") from None
    nbformat.validate(book)
    text = nbformat.writes(book) + "\n"       # Jupyter's own layout: saving again changes nothing
    write_text_atomic(out, text)
    return out, {"cells": len(book.cells), "drawings": drawings, "steppers": steppers,
                 "bytes": len(text.encode("utf-8"))}


def _count(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def main(argv=None, prog="python -m nbgraph export"):
    """The ``export`` command: one progress line per notebook; exit status 1 if any failed."""
    import argparse
    parser = argparse.ArgumentParser(
        prog=prog, description="Write lessons as HTML pages whose Steppers step offline.")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK.ipynb")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="output file (one notebook) or folder (default: beside each notebook)")
    parser.add_argument("--execute", action="store_true", help="run each notebook first")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell with --execute")
    args = parser.parse_args(argv)
    out_dir = None
    if args.output is not None and (len(args.notebooks) > 1 or pathlib.Path(args.output).is_dir()):
        out_dir = pathlib.Path(args.output)
        if not out_dir.is_dir():
            parser.error(f"-o {args.output}: with several notebooks, -o must be an existing folder")

    def export(nb):
        out = args.output if out_dir is None else out_dir / (pathlib.Path(nb).stem + ".html")
        return export_notebook(nb, out, execute=args.execute, timeout=args.timeout)
    return _each_notebook(args.notebooks, "export", export)


def _each_notebook(notebooks, command, work):
    """``work(nb) -> (out, info)`` for each notebook, with one progress line each (an
    error line on stderr for one that fails, and on to the next); exit status 1 if any failed."""
    failed = 0
    for nb in notebooks:
        start = time.perf_counter()
        try:
            out, info = work(nb)
        except ExportError as exc:
            failed += 1
            print(f"nbgraph {command}: error: {exc}", file=sys.stderr, flush=True)
            continue
        print(f"{nb} -> {out}: {info['cells']} cells, {_count(info['drawings'], 'drawing')} "
              f"({info['steppers']} stepping), {info['bytes'] / 1024:.0f} kB, "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    return 1 if failed else 0


def publish_main(argv=None, prog="python -m nbgraph publish"):
    """The ``publish`` command: run notebooks and save them for static views (in place, or
    as ``-o OUT.ipynb`` for one notebook); one progress line each; exit status 1 if any failed."""
    import argparse
    parser = argparse.ArgumentParser(
        prog=prog, description="Run notebooks and save them so that GitHub, nbviewer and untrusted "
                               "Jupyter show every drawing, and trusted Jupyter steps every Stepper.")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK.ipynb")
    parser.add_argument("-o", "--output", metavar="OUT.ipynb",
                        help="output file (one notebook; default: the notebook itself)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.output is not None and len(args.notebooks) > 1:
        parser.error("-o takes one notebook; without -o each notebook is rewritten in place")
    return _each_notebook(args.notebooks, "publish",
                          lambda nb: publish_notebook(nb, args.output, timeout=args.timeout))
