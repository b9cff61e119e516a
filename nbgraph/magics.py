"""The IPython extension: ``%load_ext nbgraph``.

It adds

* a ``%%nbgraph`` cell magic: runs the cell, then shows a Stepper for the
  cell's last expression (a Tensor or a Graph)::

      %%nbgraph
      x = ng.tensor(1.0, name="x"); y = ng.tensor(3.0, name="y")
      (x * y).named("p")

  Options: ``--grad`` colours boxes by gradient size, ``--expand SCOPE``
  (repeatable) opens a collapsed scope, ``--max-nodes N``.
* a rich display for Tensors: name, shape, value and gradient as a small
  HTML table (the text repr stays as it is).
"""

import ast

import numpy as np
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from .engine import Tensor
from .graph import Graph
from .text import fmt_number, fmt_shape
from .render import escape

__all__ = ["load_ipython_extension", "unload_ipython_extension", "tensor_html", "NbgraphMagics"]


def tensor_html(t):
    """A Tensor as a small HTML table: name, shape, value, grad (all text escaped)."""
    def body(a):
        a = np.asarray(a)
        if a.size == 1:
            return escape(fmt_number(a.reshape(())))
        return escape(np.array2string(a, precision=4, threshold=20, edgeitems=3))

    name = escape(t.name) if t.name else "<i>unnamed</i>"
    kind = escape(t.kind + ("" if t.op is None else f" ({t.op.name})"))
    rows = [("shape", escape(fmt_shape(t.shape))), ("kind", kind), ("value", body(t.data))]
    rows.append(("grad", body(t.grad) if t._grad is not None else "<i>none yet</i>"))
    cells = "".join(
        f'<tr><th style="text-align:right;padding:1px 8px;color:#52606d">{k}</th>'
        f'<td style="text-align:left;padding:1px 8px"><pre style="margin:0">{v}</pre></td></tr>'
        for k, v in rows)
    return (f'<table class="nbgraph-tensor"><caption style="text-align:left;font-weight:bold">'
            f'tensor {name}</caption>{cells}</table>')


def _last_expression(cell):
    """Split a cell into (body module, last expression) -- or (module, None)."""
    tree = ast.parse(cell)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        return tree, last
    return tree, None


@magics_class
class NbgraphMagics(Magics):
    """The ``%%nbgraph`` cell magic."""

    @magic_arguments()
    @argument("--grad", action="store_true", help="colour boxes by gradient size")
    @argument("--expand", action="append", default=None, metavar="SCOPE",
              help="open a collapsed scope (repeatable)")
    @argument("--max-nodes", type=int, default=None, help="collapse above this many nodes")
    @cell_magic
    def nbgraph(self, line, cell):
        """Run the cell, then step through the graph of its last expression (a Tensor)."""
        args = parse_argstring(self.nbgraph, line)
        shell = self.shell
        body, last = _last_expression(shell.transform_cell(cell))
        if last is None:
            raise UsageError("%%nbgraph: end the cell with the tensor to step through, "
                             "e.g. a last line `loss`.")
        ns = shell.user_ns
        exec(compile(body, "<%%nbgraph cell>", "exec"), ns)
        value = eval(compile(last, "<%%nbgraph cell>", "eval"), ns)
        if not isinstance(value, (Tensor, Graph)):
            raise UsageError("%%nbgraph: the cell's last expression must be an nbgraph Tensor "
                             f"(or Graph); got {type(value).__name__}.")
        from .stepper import Stepper
        stepper = Stepper(value, color_by="grad" if args.grad else None, expand=args.expand,
                          max_nodes=args.max_nodes)
        display(stepper)


def load_ipython_extension(ip):
    """Called by ``%load_ext nbgraph``: the cell magic and the Tensor display."""
    ip.register_magics(NbgraphMagics)
    ip.display_formatter.formatters["text/html"].for_type(Tensor, tensor_html)


def unload_ipython_extension(ip):
    """Called by ``%unload_ext nbgraph``: removes what ``load_ipython_extension`` added."""
    ip.magics_manager.magics["cell"].pop("nbgraph", None)
    try:
        ip.display_formatter.formatters["text/html"].pop(Tensor)
    except KeyError:
        pass
