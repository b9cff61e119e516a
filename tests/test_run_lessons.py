"""tools/run_lessons.py saves lessons as a reader should first see them."""

import base64
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("run_lessons", ROOT / "tools" / "run_lessons.py")
run_lessons = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_lessons)

VIEW = "application/vnd.jupyter.widget-view+json"


def test_clean_strips_widget_views_and_state_and_keeps_static_forms():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    cell = nbformat.v4.new_code_cell("s")
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    cell.outputs = [
        nbformat.v4.new_output("execute_result", execution_count=1,
                               data={VIEW: {"model_id": "ab"}, "image/svg+xml": "<svg/>",
                                     "text/plain": "<Stepper>"}),
        nbformat.v4.new_output("display_data", data={VIEW: {"model_id": "cd"}, "text/plain": ""}),
        nbformat.v4.new_output("stream", name="stdout", text="g = -12\n"),
    ]
    nb.cells = [cell]
    run_lessons.clean(nb)
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    outs = nb.cells[0].outputs
    assert [o.output_type for o in outs] == ["execute_result", "stream"]
    assert set(outs[0].data) == {"image/svg+xml", "text/plain"}
    assert "execution" not in nb.cells[0].metadata
    nbformat.validate(nb)


# ---- every committed lesson, as tools/run_lessons.py saves it ------------------------------

LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Sizes in bytes before drawings carried their HTML form (commit bf310d1, widget state
# included); a lesson stays under twice that, and under 1 MB whatever it is.
SIZE_BEFORE = {
    "01_computational_graphs.ipynb": 132963, "02_backpropagation.ipynb": 160753,
    "03_training_a_network.ipynb": 188274, "04_backprop_through_time.ipynb": 283328,
    "05_shared_weights.ipynb": 109459,
}
MB = 1_000_000
# Lesson 06 also gained content since (issue 12: two training dashboards saved as PNG
# and the exploding chain drawn by gradient; about 330 kB of new outputs), so its old
# size says nothing about the HTML form's cost: 06 is held to the 1 MB bound only,
# stated here rather than hidden.
SIZE_BEFORE_06 = ("06_debugging_gradients.ipynb", 112454, MB / 112454)
IMG = re.compile(r'<img\b[^>]*\bsrc="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def _drawing_outputs(book):
    for cell in book.cells:
        for out in cell.get("outputs", []):
            text = "".join(out.get("data", {}).get("text/plain", ""))
            if text.startswith(("<nbgraph Stepper", "<nbgraph drawing")):
                yield text, out.data


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_committed_lesson_is_saved_for_a_first_open(path):
    raw = path.read_bytes()
    book = nbformat.reads(raw.decode("utf-8"), as_version=4)
    nbformat.validate(book)
    assert "widgets" not in book.metadata
    assert book.metadata["kernelspec"] == run_lessons.KERNELSPEC      # no "modified" on open
    assert raw.decode("utf-8") == nbformat.writes(book) + "\n"       # Jupyter's own layout
    for cell in book.cells:
        assert "execution" not in cell.metadata
        for out in cell.get("outputs", []):
            assert VIEW not in out.get("data", {}), f"{path.name}: a widget view is saved"
            text = "".join(out.get("data", {}).get("text/plain", ""))
            assert not re.match(r"(VBox|HBox|Button|Image|Output)\(", text), \
                f"{path.name}: a raw widget repr is saved: {text[:60]}"
    for text, data in _drawing_outputs(book):
        assert set(data) == {"text/html", "image/svg+xml", "text/plain"}, text
        html = "".join(data["text/html"])
        picture = base64.b64decode(IMG.search(html).group(1)).decode("utf-8")
        assert picture == "".join(data["image/svg+xml"]), text
        assert "<button" not in html
        steps = text.startswith("<nbgraph Stepper")
        assert html.count('<script type="module">') == (1 if steps else 0), text


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_committed_lesson_size(path):
    size = path.stat().st_size
    assert size < MB, f"{path.name}: {size} bytes"
    if path.name in SIZE_BEFORE:
        assert size < 2 * SIZE_BEFORE[path.name], f"{path.name}: {size} bytes"
    elif path.name == SIZE_BEFORE_06[0]:
        assert size < SIZE_BEFORE_06[2] * SIZE_BEFORE_06[1], f"{path.name}: {size} bytes"
