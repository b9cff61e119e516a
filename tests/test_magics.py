"""The IPython extension, in a real InteractiveShell."""

import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbgraph as ng
from nbgraph.stepper import Stepper


@pytest.fixture
def shell(monkeypatch):
    ip = InteractiveShell.instance()
    shown = []
    monkeypatch.setattr("nbgraph.magics.display", lambda obj: shown.append(obj))
    ip.run_line_magic("load_ext", "nbgraph")
    ip.shown = shown
    yield ip
    ip.run_line_magic("unload_ext", "nbgraph")
    ip.user_ns.pop("x", None)


def test_cell_magic_shows_a_stepper_for_the_last_expression(shell):
    result = shell.run_cell(
        "%%nbgraph\n"
        "import nbgraph as ng\n"
        "x = ng.tensor(1.0, name='x'); y = ng.tensor(3.0, name='y'); z = ng.tensor(-3.0, name='z')\n"
        "p = (x + y).named('p')\n"
        "(p * z).named('g')\n")
    assert result.success, result.error_in_exec
    assert len(shell.shown) == 1
    s = shell.shown[0]
    assert isinstance(s, Stepper)
    assert s.graph.loss_label == "g" and s.total == 7
    assert "x" in shell.user_ns                   # the cell ran in the user's namespace
    s.run_to_end()
    x_box = ng.render.shown_texts(s.svg)[f"ng-n{s.graph.node('x').id}"]
    assert "grad -3" in x_box


def test_cell_magic_options(shell):
    result = shell.run_cell(
        "%%nbgraph --grad\n"
        "import nbgraph as ng\n"
        "a = ng.tensor(2.0, name='a')\n"
        "a * a\n")
    assert result.success, result.error_in_exec
    s = shell.shown[-1]
    s.run_to_end()
    assert "largest |grad|" in s.svg


def test_cell_magic_needs_a_tensor_at_the_end(shell):
    result = shell.run_cell("%%nbgraph\nq = 1\n")
    assert not result.success
    assert "last line" in str(result.error_in_exec)
    result = shell.run_cell("%%nbgraph\n41 + 1\n")
    assert not result.success
    assert "must be an nbgraph Tensor" in str(result.error_in_exec)
    assert shell.shown == []


def test_tensor_html_display(shell):
    x = ng.tensor([1.0, 2.0], name="<b>x</b>")
    (x * 2).sum().backward()
    data, _ = shell.display_formatter.format(x)
    html = data["text/html"]
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "shape" in html and "value" in html and "grad" in html
    assert "[2. 2.]" in html
    assert data["text/plain"].startswith("tensor(")


def test_unload_removes_the_display(shell):
    shell.run_line_magic("unload_ext", "nbgraph")
    data, _ = shell.display_formatter.format(ng.tensor(1.0, name="x"))
    assert "text/html" not in data
    shell.run_line_magic("load_ext", "nbgraph")


def test_import_nbgraph_does_not_load_widgets():
    code = ("import sys, nbgraph; assert 'ipywidgets' not in sys.modules; "
            "assert 'IPython' not in sys.modules; nbgraph.Stepper; assert 'ipywidgets' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
