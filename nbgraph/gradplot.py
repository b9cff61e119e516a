"""Gradients over time: each parameter's gradient norm per epoch, on a log scale.

One line per parameter, named as in the model, coloured from the first
layer (dark) to the last (light), so a layer whose gradient fades away (a
vanishing gradient) or shoots up (exploding) stands out while it trains.
"""

import math

from .chart import Chart
from .raster import VIRIDIS, gradient

__all__ = ["GradPlot"]


class GradPlot:
    """``GradPlot(names)``; ``record(epoch, norms)`` with one norm per name;
    ``redraw()`` puts a PNG in ``widget`` (an ``ipywidgets.Image``, CSS class
    ``nbgraph-gradplot``); ``close()`` lets the chart go (the image stays)."""

    def __init__(self, names, *, title="gradient norm per parameter", width=5.0, height=2.8,
                 dpi=80, max_points=2000):
        import ipywidgets
        self.names = list(names)
        shades = gradient(VIRIDIS, max(len(self.names), 1), stop=0.85)
        self._chart_args = dict(colors=[tuple(c) for c in shades], title=title, xlabel="epoch",
                                ylabel="||dL/dW||", log=True, legend="right", width=width,
                                height=height, dpi=dpi, max_points=max_points,
                                margins=(0.14, 0.76, 0.17, 0.95))
        self.epochs, self.norms = [], [[] for _ in self.names]
        self.chart = None
        self.redraws = 0
        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.widget.add_class("nbgraph-gradplot")

    def record(self, epoch, norms):
        self.epochs.append(float(epoch))
        for column, value in zip(self.norms, norms):
            column.append(value if value > 0 else math.nan)    # a log scale has no 0

    def extend(self, epochs, columns):
        """Record several epochs at once: ``columns`` holds, per name, its norms."""
        self.epochs.extend(map(float, epochs))
        for column, values in zip(self.norms, columns):
            column.extend(v if v > 0 else math.nan for v in values)

    def redraw(self, reach=None):
        if self.chart is None:
            self.chart = Chart(self.names, **self._chart_args)
        self.chart.redraw(self.epochs, self.norms, reach=reach)
        self.widget.value = self.chart.png
        self.redraws += 1

    def close(self):
        """Let the chart go (the image stays)."""
        self.chart = None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
