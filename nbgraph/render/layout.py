"""Running the layout program: DOT in, SVG (or PNG) out.

The program is ``graphviz-pure`` (a PyPI wheel, same output everywhere) unless
you chose another (``set_layout_program("dot")`` or ``NBGRAPH_LAYOUT``). It is
looked up next to the running Python as well as on PATH: a kernel's venv may
not be on PATH.
"""

import os
import shutil
import subprocess
import sys

__all__ = ["LayoutError", "LayoutTimeoutError", "LayoutProgramNotFound", "DEFAULT_TIMEOUT",
           "set_layout_program", "set_layout_timeout", "find_layout_program", "layout_timeout",
           "run_layout_program"]


class LayoutError(RuntimeError):
    """The layout program failed on a drawing."""


class LayoutTimeoutError(LayoutError):
    """The layout program took longer than the time limit."""


class LayoutProgramNotFound(LayoutError):
    """No layout program could be found."""


DEFAULT_TIMEOUT = 30.0
_settings = {"program": None, "timeout": None}


def set_layout_program(program):
    """Choose the layout program: ``"dot"`` (a system Graphviz), a path, or
    ``None`` to go back to the default (``graphviz-pure``).

    The environment variable ``NBGRAPH_LAYOUT`` does the same; this call wins.
    """
    _settings["program"] = None if program is None else str(program)


def set_layout_timeout(seconds):
    """Time limit for one run of the layout program (default 30 s; also
    ``NBGRAPH_LAYOUT_TIMEOUT``). ``None`` restores the default."""
    if seconds is not None and not float(seconds) > 0:
        raise ValueError(f"the layout timeout must be a positive number of seconds, got {seconds!r}")
    _settings["timeout"] = None if seconds is None else float(seconds)


def layout_timeout(timeout=None):
    """The time limit in force: ``timeout`` if given, else the setting, else the environment."""
    if timeout is not None:
        return float(timeout)
    if _settings["timeout"] is not None:
        return _settings["timeout"]
    env = os.environ.get("NBGRAPH_LAYOUT_TIMEOUT")
    return float(env) if env else DEFAULT_TIMEOUT


def find_layout_program():
    """The path of the layout program nbgraph will run.

    A program you chose (``set_layout_program`` or ``NBGRAPH_LAYOUT``) is
    used as given; otherwise ``graphviz-pure`` next to the running Python
    (a kernel's venv may not be on PATH), then on PATH.
    """
    choice = _settings["program"] or os.environ.get("NBGRAPH_LAYOUT")
    if choice:
        found = shutil.which(choice)
        if found:
            return found
        raise LayoutProgramNotFound(
            f"nbgraph was told to use the layout program {choice!r} "
            "(ng.render.set_layout_program or NBGRAPH_LAYOUT) but it is not on PATH. "
            "Install Graphviz, or drop that setting to use graphviz-pure "
            "(pip install graphviz-pure).")
    names = ["graphviz-pure.exe", "graphviz-pure"] if os.name == "nt" else ["graphviz-pure"]
    here = os.path.dirname(sys.executable)
    for folder in (here, os.path.join(here, "Scripts")):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    found = shutil.which("graphviz-pure")
    if found:
        return found
    raise LayoutProgramNotFound(
        "nbgraph draws graphs with the layout program 'graphviz-pure', which was not found "
        f"next to {sys.executable} nor on PATH. Install it into the kernel's environment: "
        f"{sys.executable} -m pip install graphviz-pure   (or `pip install graphviz-pure`). "
        "To use a system Graphviz instead: ng.render.set_layout_program('dot').")


def run_layout_program(dot_source, fmt="svg", timeout=None, what="a graph", args=(), max_nodes=None):
    """Pipe DOT into the layout program; returns its output (bytes)."""
    program = find_layout_program()
    limit = layout_timeout(timeout)
    try:
        done = subprocess.run([program, f"-T{fmt}", *args], input=dot_source.encode("utf-8"),
                              capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        raise LayoutTimeoutError(
            f"The layout program ({os.path.basename(program)}) did not finish drawing {what} "
            f"within {limit:g} s and was stopped. Draw less (scopes collapse above "
            f"max_nodes={max_nodes} nodes: pass a smaller max_nodes=..., or ng.show(..., "
            "collapse=True)), or allow more time: ng.render.set_layout_timeout(seconds) "
            "or NBGRAPH_LAYOUT_TIMEOUT.") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise LayoutError(
            f"The layout program ({program}) failed on {what} (exit code "
            f"{done.returncode}): {err[-800:]}")
    return done.stdout
