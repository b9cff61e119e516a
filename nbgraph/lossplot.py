"""A live loss curve for a training loop running in a notebook cell.

    with ng.LossPlot() as plot:              # shows the plot in the notebook
        for step in range(500):
            ...
            plot.update(step, float(loss))   # cheap: redraws at most every ~0.2 s
    # leaving the block draws the final curve

or, without ``with``: ``plot = ng.LossPlot(); display(plot)``, then
``plot.update(...)`` in the loop and ``plot.close()`` at the end.

The PNG bytes go to an ``ipywidgets.Image``, whose value the notebook shows
as it changes, even while the cell is still running. Redraws are throttled
(``Throttle``): at most one per ``interval`` seconds and never more than
``budget`` of the time, so a slow machine redraws less often instead of
training slower. The drawing itself is ``chart.Chart``'s.
"""

import time

from .chart import Chart
from .throttle import Throttle

__all__ = ["LossPlot", "in_notebook"]


def in_notebook():
    """True when running inside an IPython kernel (a notebook or Jupyter console)."""
    from .kernel_poll import running_kernel
    return running_kernel() is not None


class LossPlot:
    """A loss curve that grows while a loop runs.

    ``update(step, loss, second=None)`` records a point (cheap) and redraws
    when the throttle allows; ``close()`` (or leaving a ``with`` block) draws
    the final state and lets the chart go (the image stays).
    ``second="val loss"`` adds a second series on the same axes. ``log=True``
    puts the loss on a log scale. The x axis follows the run (just beyond
    the last step, in steps of 1, 1.5, 2, 3, 4, 5, 6, 8 x 10^k); ``xmax``
    fixes it instead.

    ``widget`` is the ``ipywidgets.Image`` (CSS class ``nbgraph-lossplot``);
    displaying the LossPlot displays it. ``redraws`` counts the images made,
    ``full_redraws`` those that had to draw the axes too; ``dirty`` says
    that points came in since the last image; ``xlim`` and ``ylim`` are the
    axis ranges of the image on show. ``clock`` (default
    ``time.monotonic``) may be replaced, e.g. by a fake clock in tests.
    ``chart`` holds the drawing (``chart.image``, ``chart.lines``,
    ``chart.tick_labels``...: see ``Chart``) until ``close()``.
    """

    def __init__(self, *, title=None, xlabel="step", ylabel="loss", label="loss", second=None,
                 log=False, interval=0.2, budget=0.05, clock=time.monotonic, xmax=None,
                 width=5.0, height=2.8, dpi=80, max_points=2000, draw_now=True):
        import ipywidgets
        self._chart_args = dict(title=title, xlabel=xlabel, ylabel=ylabel, log=log, xmax=xmax,
                                width=width, height=height, dpi=dpi, max_points=max_points,
                                legend="inside" if second else None)
        self._series = [label] + ([second] if second else [])
        self.xlabel = xlabel
        self.steps, self.losses, self.seconds = [], [], []
        self.second_label = second
        self.throttle = Throttle(interval, budget, clock)
        self.dirty = False
        self.redraws = self.full_redraws = 0
        self.chart = None
        self.xlim = self.ylim = None
        self._shown = False
        self.widget = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.widget.add_class("nbgraph-lossplot")
        if draw_now:
            self.redraw()    # show empty axes straight away

    # -- recording ------------------------------------------------------------
    def update(self, step, loss, second=None):
        """Record ``loss`` (and ``second``) at ``step``; redraw if it is time.

        Returns True when this call redrew the image.
        """
        self.record(step, loss, second)
        if self.throttle.due():
            self.redraw()
            return True
        return False

    def record(self, step, loss, second=None):
        """Record a point without drawing (a dashboard decides when to redraw)."""
        self.steps.append(float(step))
        self.losses.append(float(loss))
        if self.second_label:
            self.seconds.append(float("nan") if second is None else float(second))
        self.dirty = True

    def extend(self, steps, losses, seconds=None):
        """Record several points at once, as ``record`` does one."""
        self.steps.extend(map(float, steps))
        self.losses.extend(map(float, losses))
        if self.second_label:
            if seconds is None:
                seconds = [None] * (len(self.steps) - len(self.seconds))
            self.seconds.extend(float("nan") if v is None else float(v) for v in seconds)
        self.dirty = True

    def redraw(self, reach=None):
        """Draw now, whatever the throttle says. ``reach``: a step the x axis
        should already reach (see ``Chart.redraw``)."""
        self.throttle.run(lambda: self._draw(reach))

    def close(self):
        """The final image (if anything changed since the last), then let the
        chart go: a finished plot keeps only its PNG."""
        if self.dirty:
            self.redraw()
        self.chart = None

    def _draw(self, reach=None):
        if self.chart is None:      # the first image, or drawing again after close()
            self.chart = Chart(self._series, **self._chart_args)
        before = self.chart.full_redraws
        columns = [self.losses] + ([self.seconds] if self.second_label else [])
        text = f"{self.xlabel} {self.steps[-1]:g}: {self.losses[-1]:.4g}" if self.steps else ""
        self.chart.redraw(self.steps, columns, text, reach)
        self.full_redraws += self.chart.full_redraws - before
        self.xlim, self.ylim = self.chart.drawn_limits
        self.widget.value = self.chart.png
        self.redraws += 1
        self.dirty = False

    # -- showing ------------------------------------------------------------
    def __enter__(self):
        self.show()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def show(self):
        """Display the plot once, if running in a notebook."""
        if not self._shown and in_notebook():
            from IPython.display import display
            display(self.widget)
            self._shown = True

    @property
    def png(self):
        """The PNG bytes on show."""
        return bytes(self.widget.value)

    def _repr_mimebundle_(self, **kwargs):
        self._shown = True
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self):
        last = f", last loss {self.losses[-1]:.4g}" if self.losses else ""
        return f"LossPlot({len(self.losses)} points{last}, {self.redraws} redraws)"
