"""The documentation tells the truth.

* Every Python block of README.md, docs/writing_a_lesson.md and docs/api.md
  runs, each in a fresh interpreter (blocks that are not Python are fenced
  `sh` / `text` and are not run; an untagged fence is an error).
* Every error message quoted in the README's troubleshooting is what the code
  raises.
* The layout program runs as often as the README says.
* docs/api.md names every public name.
* `pip install .` ships every file of the package, and the LICENSE.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nbgraph as ng
from nbgraph.engine import Tensor
from nbgraph.graph import Graph, Node, Step

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
API = ROOT / "docs" / "api.md"
LESSON_PAGE = ROOT / "docs" / "writing_a_lesson.md"
PAGES = [README, LESSON_PAGE, API]

# A fence may be indented (inside a list item); its closing fence has the same indent.
FENCE = re.compile(r"^([ \t]*)```([^\n`]*)\n(.*?)^\1```[ \t]*$", re.S | re.M)
RUNS = {"python", "py"}


def code_blocks(path):
    """[(language, first line number, code)] of every fenced block."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(2).strip(), text.count("\n", 0, m.start()) + 1, textwrap.dedent(m.group(3)))
            for m in FENCE.finditer(text)]


def python_blocks():
    return [pytest.param(path, code, id=f"{path.name}:{line}")
            for path in PAGES for lang, line, code in code_blocks(path) if lang in RUNS]


def test_every_block_says_its_language():
    """An untagged fence would be neither run nor deliberately skipped."""
    sample = "text\n\n  ```python\n  x = 1\n  ```\n\n```\nplain\n```\n"
    assert [(m.group(2), textwrap.dedent(m.group(3))) for m in FENCE.finditer(sample)] == \
        [("python", "x = 1\n"), ("", "plain\n")]
    untagged = [f"{p.name}:{line}" for p in PAGES for lang, line, _ in code_blocks(p) if not lang]
    assert not untagged, f"fenced blocks without a language (use python, sh or text): {untagged}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_has_python_to_run(path):
    assert any(lang in RUNS for lang, _, _ in code_blocks(path)), f"no python block found in {path}"


def _env():
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # The layout program is found next to the interpreter, or on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.mark.parametrize("path,code", python_blocks())
def test_python_block_runs(path, code, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"this block of {path.name} fails:\n{code}\n{run.stderr[-3000:]}"


# ---------------------------------------------------------------------------
# Troubleshooting: the quoted messages are the real ones
# ---------------------------------------------------------------------------

def troubleshooting_quotes():
    """Every `ErrorName: message` quoted at the start of a troubleshooting item."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `(\w+: [^`]+)`", section, re.M)


def _raised(action):
    try:
        action()
    except Exception as err:       # noqa: BLE001 -- any error is what we look at
        return err
    raise AssertionError("no error was raised")


def _matmul():
    W = ng.tensor(np.ones((2, 3)), name="W")
    v = ng.tensor(np.ones(4), name="v")
    return W @ v


def _backward_not_scalar():
    W = ng.tensor(np.ones((2, 3)), name="W")
    (W * 2).named("h").backward()


def _backward_no_grad_needed():
    (ng.tensor(2.0, requires_grad=False) * 3).named("c").backward()


def _backward_inside_no_grad():
    x = ng.tensor(2.0, name="x")
    y = (x * x).named("y")
    with ng.no_grad():
        y.backward()


def _anomaly():
    x = ng.tensor([1.0, -1.0], name="x")
    with ng.detect_anomaly(), ng.scope("layer1"):
        x.log()


def _no_layout_program(monkeypatch, tmp_path):
    """A kernel whose Python has no graphviz-pure beside it nor on PATH."""
    monkeypatch.delenv("NBGRAPH_LAYOUT", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    ng.render.set_layout_program(None)
    return lambda: ng.show(ng.examples.reference())


def _layout_timeout(monkeypatch, tmp_path):
    ng.render.set_layout_timeout(0.001)
    return lambda: ng.show(ng.examples.mlp())


# Each quoted message, by the words that start it: how to make the code raise it.
TRIGGERS = {
    "ShapeError: matmul": lambda mp, tmp: _matmul,
    "RuntimeError: backward() on 'h' with shape": lambda mp, tmp: _backward_not_scalar,
    "RuntimeError: backward() on 'c'": lambda mp, tmp: _backward_no_grad_needed,
    "RuntimeError: backward() on ... was called inside": lambda mp, tmp: _backward_inside_no_grad,
    "TypeError: tensor data": lambda mp, tmp: (lambda: ng.tensor("3")),
    "NonFiniteError: log": lambda mp, tmp: _anomaly,
    "LayoutProgramNotFound:": _no_layout_program,
    "LayoutTimeoutError:": _layout_timeout,
}


def _matches(quote, err):
    """`quote` ("Name: text ... text") against the error: the same class name, and the
    whole message, where each "..." in the quote stands for any text."""
    name, _, text = quote.partition(": ")
    pattern = ".*?".join(re.escape(piece) for piece in text.split("..."))
    return type(err).__name__ == name and re.fullmatch(pattern, str(err), re.S) is not None


def test_troubleshooting_quotes_are_found():
    quotes = troubleshooting_quotes()
    assert len(quotes) >= len(TRIGGERS), quotes
    unknown = [q for q in quotes if not any(q.startswith(k) for k in TRIGGERS)]
    assert not unknown, f"quoted in the README without a check in test_docs.TRIGGERS: {unknown}"


@pytest.mark.parametrize("start", sorted(TRIGGERS))
def test_troubleshooting_message_is_real(start, monkeypatch, tmp_path):
    quotes = [q for q in troubleshooting_quotes() if q.startswith(start)]
    assert len(quotes) == 1, f"the README should quote one message starting {start!r}: {quotes}"
    quote = quotes[0]
    try:
        err = _raised(TRIGGERS[start](monkeypatch, tmp_path))
    finally:
        ng.render.set_layout_program(None)
        ng.render.set_layout_timeout(None)
    actual = f"{type(err).__name__}: {err}"
    if start == "LayoutTimeoutError:":
        # The README quotes the default limit; the test cannot wait 30 s for it.
        actual = actual.replace("within 0.001 s", "within 30 s")
        err = type(err)(actual.partition(": ")[2])
    assert _matches(quote, err), f"README says:\n  {quote}\nthe code says:\n  {actual}"


def test_matching_is_strict():
    """The comparison above fails on a changed word, a wrong class, a missing end."""
    err = ValueError("the left (3) must equal the right (4)")
    assert _matches("ValueError: the left (3) must equal the right (4)", err)
    assert _matches("ValueError: the left ... the right (4)", err)
    assert _matches("ValueError: the left (3) ...", err)
    assert not _matches("ValueError: the left (3) must equal the right (5)", err)
    assert not _matches("TypeError: the left (3) must equal the right (4)", err)
    assert not _matches("ValueError: the left (3)", err)
    assert not _matches("ValueError: the left ... the right (5)", err)


# ---------------------------------------------------------------------------
# "The layout program runs once per drawing"
# ---------------------------------------------------------------------------

def test_layout_runs_once_per_drawing(tmp_path):
    """Counted with a layout program that logs each run, then hands over to the real one."""
    real = ng.render.find_layout_program()
    log = tmp_path / "runs.log"
    wrapper = tmp_path / "counting-layout"
    wrapper.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import subprocess, sys
        with open({str(log)!r}, "a") as f:
            f.write("run\\n")
        sys.exit(subprocess.run([{real!r}, *sys.argv[1:]]).returncode)
        """))
    wrapper.chmod(0o755)

    def runs():
        return len(log.read_text().split()) if log.exists() else 0

    ng.render.set_layout_program(str(wrapper))
    try:
        g = ng.examples.reference()
        drawing = ng.show(g)
        drawing.svg
        assert runs() == 1
        ng.show(g).svg                                    # another drawing of the tensor
        assert runs() == 2
        G = ng.graph(g)
        ng.show(G).svg
        ng.show(G).svg                                    # the same Graph, the same mode
        assert runs() == 3
        ng.show(G, color_by="grad").svg                   # another colour mode
        assert runs() == 4
        s = ng.Stepper(G)                                 # the Graph's layout again
        for _ in range(s.total):
            s.step_forward()
            s.svg
        s.reset()
        s.svg
        assert runs() == 4, "stepping ran the layout program"
        drawing.save(tmp_path / "g.svg")
        assert runs() == 4
        drawing.save(tmp_path / "g.png")                  # PNG: rasterised by the layout program
        assert runs() == 5
        assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        ng.render.set_layout_program(None)


# ---------------------------------------------------------------------------
# The API reference names every public name
# ---------------------------------------------------------------------------

DOCUMENTED_MODULES = ["nn", "optim", "losses", "datasets", "examples"]
DOCUMENTED_CLASSES = {"Tensor": Tensor, "Graph": Graph, "Node": Node, "Step": Step}
RENDER_NAMES = ["set_layout_program", "set_layout_timeout", "find_layout_program", "Drawing",
                "LayoutError", "LayoutTimeoutError", "LayoutProgramNotFound"]


def public_names():
    """Every public name, spelled as the reference writes it (`ng.x`, `ng.nn.x`, `Tensor.x`)."""
    names = set()
    for name, value in vars(ng).items():
        # Submodules imported along the way (engine, check, text, ...) are not API;
        # the public ones are in the lazy table.
        if not name.startswith("_") and not isinstance(value, types.ModuleType):
            names.add(f"ng.{name}")
    names.update(f"ng.{name}" for name in ng._LAZY)
    for mod in DOCUMENTED_MODULES:
        module = importlib.import_module(f"nbgraph.{mod}")
        exported = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        names.update(f"ng.{mod}.{n}" for n in exported)
    names.update(f"ng.render.{n}" for n in RENDER_NAMES)
    for cls_name, cls in DOCUMENTED_CLASSES.items():
        members = set(vars(cls)) | set(getattr(cls, "__slots__", ()))
        names.update(f"{cls_name}.{m}" for m in members if not m.startswith("_"))
    # Attributes a Graph sets on itself.
    G = ng.graph(ng.examples.reference())
    names.update(f"Graph.{m}" for m in vars(G) if not m.startswith("_"))
    names.add("ng.nn.Module.named_parameters")
    return sorted(names)


def entry_heads(text):
    """The part before " — " of every list item: the names an entry documents."""
    return "\n".join(m.group(1) for m in re.finditer(r"^\s*- (.+?) — ", text, re.M))


def documented(name, text):
    """Named in the head of an entry (a mention in passing does not count).
    `ng.nn.Module.named_parameters` may be written `Module.named_parameters`."""
    heads = entry_heads(text)
    spellings = [name]
    if name.startswith("ng.nn.Module."):
        spellings.append(name[len("ng.nn."):])
    return any(re.search(r"`" + re.escape(s) + r"(?![\w])", heads) for s in spellings)


def test_api_reference_names_every_public_name():
    text = API.read_text(encoding="utf-8")
    names = public_names()
    assert len(names) > 150, f"the enumeration found too few names: {len(names)}"
    missing = [n for n in names if not documented(n, text)]
    assert not missing, f"docs/api.md does not document: {missing}"


def test_api_check_would_catch_a_missing_name():
    text = API.read_text(encoding="utf-8")
    assert documented("ng.gradcheck", text)
    assert not documented("ng.gradcheck", text.replace("`ng.gradcheck", "`gradcheck"))
    assert not documented("ng.grad", text)     # a prefix of a documented name is not enough
    assert not documented("ng.x", "- `ng.y(a)` — see also `ng.x`.")   # a mention is not an entry
    assert documented("ng.x", "- `ng.y(a)`, `ng.x(b)` — two functions.")


# ---------------------------------------------------------------------------
# pip install . ships the whole package
# ---------------------------------------------------------------------------

def test_wheel_holds_every_package_file_and_the_license(tmp_path):
    """Build the wheel `pip install .` builds (from a copy, so the tree stays clean)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "nbgraph", src / "nbgraph", ignore=ignore)
    out = tmp_path / "dist"
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (wheel,) = out.glob("nbgraph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {p.relative_to(src).as_posix() for p in (src / "nbgraph").rglob("*") if p.is_file()}
    assert package, "no package files found"
    missing = sorted(package - names)
    assert not missing, f"`pip install .` would not install: {missing} (see [tool.setuptools.package-data])"
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
               for n in names), sorted(n for n in names if "dist-info" in n)


# ---------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path):
    """GitHub's ids for the headings of a markdown file."""
    heads = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_links_point_at_files_and_headings(path):
    text = path.read_text(encoding="utf-8")
    links = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    assert links, f"no relative links found in {path.name}"
    broken = []
    for link in links:
        file, _, anchor = link.partition("#")
        target = (path.parent / file) if file else path
        if not target.exists():
            broken.append(link)
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(link)
    assert not broken, f"{path.name} has broken links: {broken}"


def test_readme_lists_every_notebook():
    linked = set(re.findall(r"\]\(notebooks/([^)]+\.ipynb)\)", README.read_text(encoding="utf-8")))
    shipped = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert shipped - linked == set(), f"notebooks the README does not link: {sorted(shipped - linked)}"


# ---------------------------------------------------------------------------
# The example lesson is committed the way docs/writing_a_lesson.md says
# ---------------------------------------------------------------------------

def test_example_lesson_is_saved_as_run_lessons_saves_it(tmp_path):
    """Re-running `tools/run_lessons.py` on a copy changes nothing (but the Python version)."""
    import json
    committed = ROOT / "notebooks" / "example_lesson.ipynb"
    copy = tmp_path / committed.name
    shutil.copy(committed, copy)
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "run_lessons.py"), str(copy)],
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]

    def content(path):
        book = json.loads(path.read_text(encoding="utf-8"))
        book["metadata"].get("language_info", {}).pop("version", None)
        return book

    assert content(copy) == content(committed), \
        "re-run and commit the example lesson: python tools/run_lessons.py notebooks/example_lesson.ipynb"
