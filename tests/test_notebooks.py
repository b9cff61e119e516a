"""The lessons are committed executed, carry their nbval markers, and nbval really checks them.

nbval itself runs every notebook in `make test` (pytest collects notebooks/
with --nbval-lax). These tests guard the conventions around that run.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = [
    "01_computational_graphs", "02_backpropagation", "03_training_a_network",
    "04_backprop_through_time", "05_shared_weights", "06_debugging_gradients",
    "07_debugging_a_pytorch_model",
]
# The worked example of docs/writing_a_lesson.md is checked like every lesson.
LESSONS.append("example_lesson")
WIDGETS = ("ng.Stepper(", "ng.fit(", "LossPlot(", "stepper\n")


def load(name):
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())


def code_cells(book):
    return [c for c in book["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"])


def test_every_lesson_is_there_and_nothing_else():
    found = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert found == LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_is_committed_executed(name):
    cells = code_cells(load(name))
    assert cells, f"{name} has no code cells"
    unexecuted = [source(c)[:60] for c in cells if c.get("execution_count") is None]
    assert not unexecuted, f"{name}: cells without outputs (run and save it): {unexecuted}"
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{name} was not run top to bottom in one go"
    for c in cells:
        errors = [o for o in c["outputs"] if o["output_type"] == "error"]
        assert not errors, f"{name}: a cell was saved with an error: {source(c)[:60]}"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_checked_cells_and_marks_its_widgets(name):
    cells = code_cells(load(name))
    checked = [c for c in cells if "# NBVAL_CHECK_OUTPUT" in source(c)]
    assert len(checked) >= 3, f"{name} has {len(checked)} checked cells; a lesson needs at least 3"
    for c in checked:
        assert any(o.get("text") or o.get("data", {}).get("text/plain") for o in c["outputs"]), \
            f"{name}: checked cell prints nothing: {source(c)[:60]}"
    for c in cells:
        src = source(c)
        widget = any(w in src for w in WIDGETS) and "NBVAL_CHECK_OUTPUT" not in src
        if widget:
            assert "# NBVAL_IGNORE_OUTPUT" in src, f"{name}: widget cell without NBVAL_IGNORE_OUTPUT: {src[:60]}"


@pytest.mark.parametrize("name", LESSONS)
def test_static_drawings_are_saved_for_github(name):
    """Every lesson keeps at least one SVG drawing in its outputs, readable without a kernel."""
    outputs = [o for c in code_cells(load(name)) for o in c["outputs"]]
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert svgs or pngs, f"{name} has no picture in its saved outputs"


def test_nbval_fails_on_a_tampered_checked_number(tmp_path):
    """Change one checked number in a committed lesson: nbval must fail on it."""
    book = load("01_computational_graphs")
    tampered = False
    for c in code_cells(book):
        if "# NBVAL_CHECK_OUTPUT" in source(c):
            for o in c["outputs"]:
                text = "".join(o.get("text", ""))
                if "g = -12.0" in text:
                    o["text"] = text.replace("g = -12.0", "g = -13.0")
                    tampered = True
    assert tampered, "lesson 01 no longer prints 'g = -12.0' in a checked cell"
    target = tmp_path / "tampered.ipynb"
    target.write_text(json.dumps(book))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", str(target)],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    assert "-13.0" in run.stdout and "-12.0" in run.stdout, run.stdout[-2000:]
