"""tools/run_lessons.py saves lessons as a reader should first see them."""

import importlib.util
from pathlib import Path

import nbformat

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
