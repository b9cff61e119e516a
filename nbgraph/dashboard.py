"""The live training view of ``ng.fit`` in a notebook.

    history = ng.fit(model, X, y, loss="hinge", live=ng.Dashboard(grads=True, pace=500))

A Stop button and a status line (epoch, loss, accuracy, speed), the loss
curve, the decision boundary (2-D classification), optionally each
parameter's gradient norm per epoch (``grads=True``) and the graph of the
latest step coloured by gradient size (``show_graph=True``).

The status line follows the run every ``interval`` seconds (cheap). The
pictures cost more: they refresh at most every ``interval`` seconds and
spend at most ``budget`` of the time drawing (see ``Throttle``: each
refresh is timed, and the next waits accordingly), with a final refresh at
the end. The first picture of a run (the static parts drawn too) is held back
until its expected cost fits the budget too, so a run too short to afford
one shows the final picture only. Per step the dashboard only reads a clock.
ipywidgets and Pillow are imported only when a dashboard starts.
"""

import html
import os
import time

from .progress import status_text
from .train import Reporter

__all__ = ["Dashboard"]

# Explicit colours, so the button reads the same in light and dark themes
# (white on this red: 5.6:1; this dark grey on light grey: 11:1).
RUNNING = dict(button_color="#c62828", text_color="#ffffff")
ENDED = dict(button_color="#e0e0e0", text_color="#333333")


class Dashboard(Reporter):
    """The dashboard; a reporter for ``ng.fit(..., live=ng.Dashboard(...))``.

    ``title``: above the loss curve. ``log``: the loss on a log scale.
    ``grads``: show the gradient norm of every parameter per epoch (log
    scale; ``history.grad_norms`` has the numbers either way).
    ``boundary``: draw the decision boundary when the model classifies 2-D
    points (default True). ``show_graph``: draw the latest step's graph,
    coloured by gradient size. ``pace``: at most this many epochs per
    second, so that a class can watch the curve fall (default: as fast as it
    goes); the environment variable ``NBGRAPH_PACE=off`` turns pacing off
    (the test suite sets it: same numbers, less waiting).
    ``interval``, ``budget``, ``clock``: the refresh throttle (tests inject a
    clock). ``first_cost``: what the first picture is expected to cost, in
    seconds of ``clock`` (default: what the last dashboard's first picture
    cost in this process, ``Dashboard.picture_cost``; 0 with a clock of your
    own). ``display``: how to show the widget (default: IPython's display
    when in a kernel, else nothing).

    Once started: ``widget`` (an ``ipywidgets.VBox``, CSS class
    ``nbgraph-dashboard``), ``stop_button`` (tooltip "Stop"; training ends
    after the current step, and the button then reads "Stopped"), ``status``,
    ``lossplot``, ``boundary`` and ``gradplot`` (or None), ``graph_view``
    (or None), ``refreshes``; ``poller`` hears the button while the cell
    runs (see ``kernel_poll``).
    """

    poll_interval = 0.05        # seconds between looks at the kernel's shell socket
    LOOKAHEAD = 1.0             # seconds of progress the x axis leaves room for
    # What a first picture (the static parts drawn) costs, in seconds: updated
    # by every dashboard that draws one on the real clock. About 10 ms: at a
    # 5 % budget a run's first picture comes after ~0.2 s.
    picture_cost = 0.01
    _pictures = 0               # first pictures drawn in this process

    def __init__(self, *, title=None, log=False, grads=False, boundary=True, show_graph=False,
                 pace=None, interval=0.2, budget=0.05, clock=time.monotonic, first_cost=None,
                 display=None):
        self.title, self.log, self.grads = title, bool(log), bool(grads)
        self.show_boundary, self.show_graph = bool(boundary), bool(show_graph)
        if pace is not None and float(pace) <= 0:
            raise ValueError(f"Dashboard: pace must be a number of epochs per second > 0, "
                             f"got {pace}")
        self.pace = None if pace is None or os.environ.get("NBGRAPH_PACE") == "off" \
            else float(pace)
        self.interval, self.budget, self.clock = interval, budget, clock
        self.real_clock = clock is time.monotonic
        if first_cost is None and not self.real_clock:
            first_cost = 0.0
        self.first_cost = first_cost
        self.display = display
        self.widget = None
        self.stop_requested = False
        self.refreshes = 0

    # -- the reporter protocol ----------------------------------------------------
    def start(self, run, history):
        import ipywidgets

        from .kernel_poll import KernelPoller, running_kernel
        from .lossplot import LossPlot
        from .throttle import Throttle
        self.stop_requested, self.ended, self.refreshes = False, False, 0
        self.run = run
        history.dashboard = self
        # Pacing leaves the loop idle most of the time: drawing may take more of it.
        self.throttle = Throttle(self.interval, 0.5 if self.pace else self.budget, self.clock)
        self.started = self.clock()
        self.paced_from = time.monotonic()      # pacing is in real seconds, whatever the clock
        # The first picture once there is a curve, and once its cost fits the budget.
        first_cost = Dashboard.picture_cost if self.first_cost is None else self.first_cost
        self.throttle.start(first_cost)
        self.next_status = self.started + self.interval
        kernel = running_kernel()
        self.poller = KernelPoller(kernel) if kernel is not None else None
        self.next_poll = self.started
        self.lossplot = LossPlot(title=self.title, xlabel="epoch", log=self.log,
                                 second="val loss" if run.validation else None,
                                 clock=self.clock, interval=self.interval, draw_now=False)
        self.boundary = None
        if self.show_boundary and run.predict is not None:
            from .boundary import BoundaryPlot
            self.boundary = BoundaryPlot(run.X, run.y, run.predict, classes=run.classes)
        self.gradplot = None
        if self.grads and run.parameters:
            from .gradplot import GradPlot
            self.gradplot = GradPlot([name for name, _ in run.parameters])
        self.status = ipywidgets.HTML(value="<code>starting...</code>")
        self.status.add_class("nbgraph-status")
        self.stop_button = ipywidgets.Button(description="Stop", tooltip="Stop", icon="stop")
        self.stop_button.style.button_color = RUNNING["button_color"]
        self.stop_button.style.text_color = RUNNING["text_color"]
        self.stop_button.add_class("nbgraph-stop")
        self.stop_button.on_click(self._on_stop)
        self.graph_view = self.render_svg = self._graph_drawn = self.last_loss = None
        if self.show_graph:
            self.graph_view = ipywidgets.HTML(value="")
            self.graph_view.add_class("nbgraph-graph")
            try:
                from .render import render_svg
                self.render_svg = render_svg
            except ImportError as err:
                self.graph_view.value = f"<i>graph view unavailable: {html.escape(str(err))}</i>"
        plots = [self.lossplot.widget] + ([self.boundary.widget] if self.boundary else [])
        rows = [ipywidgets.HBox([self.stop_button, self.status]), ipywidgets.HBox(plots)]
        rows += [w for w in (self.gradplot and self.gradplot.widget, self.graph_view) if w]
        self.widget = ipywidgets.VBox(rows)
        self.widget.add_class("nbgraph-dashboard")
        self._shown = None
        if self.display is not None:
            self.display(self.widget)
        elif kernel is not None:
            from IPython.display import display
            self._shown = display(self.widget, display_id=True)

    # after_step and after_epoch run thousands of times a second: most calls
    # only read the clock. The plots read their numbers from the history when
    # they draw.
    def after_step(self, history, loss):
        if self.show_graph:
            self.last_loss = loss
        if self.poller is not None:
            now = self.clock()
            if now >= self.next_poll:
                self.next_poll = now + self.poll_interval
                self.poller.poll()

    def after_epoch(self, history):
        if self.stop_requested:             # finish() draws, at once
            return
        now = self.clock()
        if now >= self.next_status:
            self.next_status = now + self.interval
            self.status.value = f"<code>{html.escape(status_text(history))}</code>"
        if now >= self.throttle.next_due and not self._ending_soon(history):
            self.throttle.run(lambda: self._draw(history))
            if self.refreshes == 1:
                self._learn_picture_cost(self.throttle.last_cost)
        if self.pace:
            self._keep_pace(history)

    def finish(self, history):
        self.ended = True
        drawn_from = self.clock()
        # The words first: they are what the user waits for after Stop.
        self.stop_button.description = "Stopped" if history.stopped_by == "user" else "Done"
        self.stop_button.icon = ""
        self.stop_button.tooltip = "Training has ended"
        self.stop_button.style.button_color = ENDED["button_color"]
        self.stop_button.style.text_color = ENDED["text_color"]
        self.status.value = f"<code>{html.escape(history.describe())}</code>"
        self._sync(history)
        self.lossplot.close()                       # the final curve, if it changed
        for plot in (self.boundary, self.gradplot):
            if plot is not None:
                plot.redraw()
                plot.close()
        self._draw_graph()
        if self.refreshes == 0:                     # that was this run's first picture
            self._learn_picture_cost(self.clock() - drawn_from)
        self.last_loss = self._graph_drawn = None   # do not keep the last graph alive
        if self._shown is not None:
            # The same widget, plus a picture of it for where there is no
            # kernel (a saved notebook on GitHub, nbviewer, exported HTML).
            bundle = self.widget._repr_mimebundle_()
            bundle.update({"image/png": self.snapshot(), "text/plain": history.describe()})
            self._shown.update(bundle, raw=True)

    def snapshot(self):
        """One PNG of the plots on show, side by side (the loss curve first)."""
        import io

        from PIL import Image

        from .raster import png_bytes
        images = [Image.open(io.BytesIO(bytes(w.value))).convert("RGB") for w in self._plots()]
        row = Image.new("RGB", (sum(im.width for im in images), max(im.height for im in images)),
                        (255, 255, 255))
        x = 0
        for im in images:
            row.paste(im, (x, 0))
            x += im.width
        return png_bytes(row)

    def _plots(self):
        plots = [self.lossplot.widget, self.boundary and self.boundary.widget,
                 self.gradplot and self.gradplot.widget]
        return [w for w in plots if w is not None and w.value]

    # -- inside --------------------------------------------------------------
    def _on_stop(self, button=None):
        if self.ended:          # a click on "Done": nothing left to stop
            return
        self.stop_requested = True
        self.stop_button.description = "Stopping"

    def _ending_soon(self, history):
        """True when, at the pace so far, the epoch budget runs out before the
        next refresh would be due: the final redraw comes sooner, so a picture
        now would be on show for a moment only (and cost as much as any)."""
        per_epoch = (self.clock() - self.started) / history.epochs
        return per_epoch * (history.max_epochs - history.epochs) < self.throttle.interval

    def _reach(self, history):
        """The epoch the run should reach within the next second at its pace
        so far (never beyond the budget): the x axis reaches it now, instead
        of growing (and the axes being drawn again) at every refresh. The
        final picture fits the axis to where the run really ended."""
        rate = history.epochs / max(self.clock() - self.started, 1e-9)
        return min(history.max_epochs, history.epochs + rate * self.LOOKAHEAD)

    def _keep_pace(self, history):
        """Wait until ``epochs / pace`` seconds have passed since the start,
        listening for the Stop button meanwhile."""
        due = self.paced_from + history.epochs / self.pace
        while not self.stop_requested:
            left = due - time.monotonic()
            if left <= 0:
                break
            if self.poller is not None:
                self.poller.wait(left)      # wakes as soon as a click arrives
            else:
                time.sleep(left)

    def _learn_picture_cost(self, cost):
        """Remember what a first picture cost, for the next dashboard's throttle
        (only real seconds: a test's clock of its own says nothing of them;
        and not the process's very first, which also loads Pillow's
        modules and fonts)."""
        Dashboard._pictures += 1
        if self.real_clock and cost > 0 and Dashboard._pictures > 1:
            Dashboard.picture_cost = cost

    def _sync(self, history):
        """Hand the plots the epochs recorded since they last drew."""
        n = len(self.lossplot.steps)
        if history.epochs <= n:
            return
        epochs = range(n + 1, history.epochs + 1)
        self.lossplot.extend(epochs, history.losses[n:],
                             history.val_losses[n:] if self.run.validation else None)
        if self.gradplot is not None:
            self.gradplot.extend(epochs, [norms[n:] for norms in history.grad_norms.values()])

    def _draw(self, history):
        self._sync(history)
        reach = self._reach(history)
        self.lossplot.redraw(reach)
        if self.boundary is not None:
            self.boundary.redraw()
        if self.gradplot is not None:
            self.gradplot.redraw(reach)
        self._draw_graph()
        self.refreshes += 1

    def _draw_graph(self):
        tensor = self.last_loss
        if self.render_svg is None or tensor is None or tensor is self._graph_drawn:
            return
        try:
            self.graph_view.value = self.render_svg(tensor, color_by="grad")
            self._graph_drawn = tensor
        except Exception as err:    # a drawing problem must not stop training
            self.graph_view.value = f"<i>graph view failed: {html.escape(repr(err))}</i>"
            self.render_svg = None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
