"""``ng.fit``: the textbook training loop, with a live dashboard in notebooks.

    history = ng.fit(model, X, y, loss="hinge", optimizer=ng.optim.SGD(model.parameters(), lr=0.05),
                     epochs=500, stop=ng.train.Stop(loss_below=0.01, patience=50))
    history.losses, history.epochs, history.wall_time, history.stopped_by

Each step is the four lines every course writes on the board::

    optimizer.zero_grad()        # forget the last step's gradients
    loss = loss_fn(model(X), y)  # forward
    loss.backward()              # backward: dL/dW for every weight W
    optimizer.step()             # W = W - lr * dL/dW

repeated until a stop criterion holds: the epoch budget, a loss threshold,
no improvement for ``patience`` epochs, or the user pressing Stop.

``live=True`` shows, in a notebook, a dashboard: the loss curve, a progress
line (epoch, loss, accuracy, steps/s), a Stop button and, for 2-D
classification, the decision boundary; ``show_graph=True`` adds the graph of
the latest step coloured by gradient size. Everything visual refreshes at
most every ~0.2 s and spends at most ~5 % of the time drawing. Outside a
notebook ``live=True`` prints a short progress line instead.

The Stop button while a cell is busy: the kernel receives the click as a
comm message on its shell channel, but only reads that channel between
cells. ``KernelPoller`` reads the pending messages itself, at the refresh
rate: widget messages (comm_msg & co.) are handled on the spot, anything else
(e.g. the next cell's execute_request) is handed back to the kernel's own
dispatcher, in order, to run after this cell as usual.

ipywidgets and matplotlib are imported only when a dashboard is made.
"""

import math
import sys
import threading
import time

import numpy as np

from .engine import Tensor, no_grad
from .losses import LOSSES, get_loss, l2_penalty

__all__ = ["fit", "History", "Stop", "KernelPoller", "Dashboard", "TextProgress"]

STOP_REASONS = ("epochs", "loss_below", "patience", "user", "callback", "interrupted")
_CLASSIFICATION = {"hinge", "binary_cross_entropy", "bce", "cross_entropy"}


# ---------------------------------------------------------------------------
# Stop criteria and the record of a run
# ---------------------------------------------------------------------------

class Stop:
    """When to stop before the epoch budget runs out.

    ``loss_below``: stop as soon as the monitored loss is below this.
    ``patience``: stop when the monitored loss has not improved on its best by
    more than ``min_delta`` for this many epochs in a row.
    ``monitor``: "loss" (the training loss, default) or "val_loss" (needs
    ``validation=`` in ``fit``).

        ng.fit(..., epochs=2000, stop=ng.train.Stop(loss_below=0.01, patience=50))
    """

    def __init__(self, loss_below=None, patience=None, min_delta=0.0, monitor="loss"):
        if monitor not in ("loss", "val_loss"):
            raise ValueError(f"Stop: monitor must be 'loss' or 'val_loss', got {monitor!r}")
        if patience is not None and int(patience) < 1:
            raise ValueError(f"Stop: patience must be >= 1 epoch, got {patience}")
        self.loss_below = None if loss_below is None else float(loss_below)
        self.patience = None if patience is None else int(patience)
        self.min_delta = float(min_delta)
        self.monitor = monitor

    def __repr__(self):
        parts = [f"{k}={getattr(self, k)!r}" for k in ("loss_below", "patience")
                 if getattr(self, k) is not None]
        if self.min_delta:
            parts.append(f"min_delta={self.min_delta}")
        if self.monitor != "loss":
            parts.append(f"monitor={self.monitor!r}")
        return f"Stop({', '.join(parts)})"

    def tracker(self):
        return _StopTracker(self)


class _StopTracker:
    """The state of one run against a ``Stop``: best loss so far, epochs since."""

    def __init__(self, stop):
        self.stop, self.best, self.since_best = stop, math.inf, 0

    def check(self, history):
        """The reason to stop after the epoch just recorded, or None."""
        values = history.val_losses if self.stop.monitor == "val_loss" else history.losses
        if not values:
            return None
        value = values[-1]
        if self.stop.loss_below is not None and value < self.stop.loss_below:
            return "loss_below"
        if value < self.best - self.stop.min_delta:
            self.best, self.since_best = value, 0
        else:
            self.since_best += 1
        if self.stop.patience is not None and self.since_best >= self.stop.patience:
            return "patience"
        return None


class History:
    """What ``fit`` did.

    ``losses``: the training loss per epoch (mean over its steps);
    ``step_losses``: per step; ``val_losses`` / ``accuracies`` /
    ``val_accuracies``: per epoch, when there is validation data / a
    classification loss; ``epochs``: how many epochs ran; ``steps``: how many
    optimizer steps; ``wall_time``: seconds; ``stopped_by``: "epochs",
    "loss_below", "patience", "user" (the Stop button), "callback" (it
    returned True) or "interrupted" (an exception, e.g. KeyboardInterrupt);
    ``message``: the same in words, e.g. "stopped by user at epoch 137";
    ``dashboard``: the live dashboard, if one was made.
    """

    def __init__(self):
        self.losses, self.step_losses = [], []
        self.val_losses, self.accuracies, self.val_accuracies = [], [], []
        self.epochs = 0
        self.steps = 0
        self.wall_time = 0.0
        self.stopped_by = None
        self.message = ""
        self.dashboard = None
        self.stop = None

    @property
    def loss(self):
        """The last epoch's loss (NaN before any)."""
        return self.losses[-1] if self.losses else math.nan

    @property
    def steps_per_second(self):
        return self.steps / self.wall_time if self.wall_time > 0 else math.nan

    def describe(self):
        """One line: why training stopped, where, and the final numbers."""
        loss = f"loss {self.loss:.4g}"
        if self.accuracies:
            loss += f", accuracy {self.accuracies[-1]:.1%}"
        if self.stopped_by == "user":
            head = f"stopped by user at epoch {self.epochs}"
        elif self.stopped_by == "callback":
            head = f"stopped by the callback at epoch {self.epochs}"
        elif self.stopped_by == "loss_below":
            head = f"stopped at epoch {self.epochs}: loss below {self.stop.loss_below:g}"
        elif self.stopped_by == "interrupted":
            head = f"interrupted after {self.epochs} epochs"
        elif self.stopped_by == "patience":
            head = (f"stopped at epoch {self.epochs}: no improvement for "
                    f"{self.stop.patience} epochs")
        else:
            head = f"done: {self.epochs} epochs"
        return f"{head}; {loss} ({self.steps} steps in {self.wall_time:.2f} s)"

    def __repr__(self):
        return (f"History(epochs={self.epochs}, loss={self.loss:.4g}, "
                f"stopped_by={self.stopped_by!r}, wall_time={self.wall_time:.2f})")


# ---------------------------------------------------------------------------
# Letting a busy kernel hear the Stop button
# ---------------------------------------------------------------------------

def _kernel():
    """The running ipykernel Kernel, or None (plain Python, terminal IPython)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def _as_bytes(frame):
    return frame if isinstance(frame, bytes) else frame.bytes


class KernelPoller:
    """Process pending widget messages while a cell keeps the kernel busy.

    The frontend sends a button click as a ``comm_msg`` on the shell channel.
    The kernel handles shell messages one at a time, so while a cell runs
    the click waits in a socket until the cell ends -- too late for a Stop
    button. ``poll()`` reads that socket without blocking:

    * ``comm_open`` / ``comm_msg`` / ``comm_close`` are handled at once by the
      kernel's own handlers (so ``Button.on_click`` callbacks run, inside the
      busy cell, whose output area they print to);
    * any other message (the next cell's ``execute_request``, a completion
      request...) is passed, unread and in order, to the callback the kernel
      registered for that socket, which queues it exactly as if it had
      arrived a moment later: it runs after the current cell.

    Which socket: with ipykernel 7 a shell-channel thread receives all shell
    messages and forwards those for the main shell through an in-process
    socket pair, read by the main thread's event loop; with older kernels the
    main thread reads the shell socket itself. Either way it is the socket of
    a ZMQStream that the main thread owns, so reading it from the main thread
    (the one running the cell) is safe. From any other thread ``poll()`` does
    nothing: the main thread is then free to handle clicks by itself.
    """

    COMM_TYPES = ("comm_open", "comm_msg", "comm_close")

    def __init__(self, kernel=None):
        self.kernel = kernel if kernel is not None else _kernel()
        self.stream = self._find_stream(self.kernel) if self.kernel is not None else None
        self.handled = 0      # widget messages handled here
        self.passed_on = 0    # other messages handed back to the kernel
        self._main = threading.main_thread()

    @property
    def active(self):
        return self.stream is not None

    @staticmethod
    def _find_stream(kernel):
        thread = getattr(kernel, "shell_channel_thread", None)
        if thread is not None:
            try:
                pair = thread.manager.get_shell_channel_to_subshell_pair(None)
                stream = pair.to_stream
            except Exception:       # an ipykernel layout we do not know: do nothing
                return None
        else:
            stream = getattr(kernel, "shell_stream", None)
        if stream is None or getattr(stream, "_recv_callback", None) is None:
            return None
        return stream

    def poll(self, limit=100):
        """Handle up to ``limit`` pending messages; returns how many were read."""
        if self.stream is None or threading.current_thread() is not self._main:
            return 0
        import zmq
        socket = self.stream.socket
        copy = getattr(self.stream, "_recv_copy", False)
        count = 0
        while count < limit:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=copy)
            except zmq.Again:
                break
            count += 1
            try:
                self._handle(frames)
            except Exception as err:    # never let a bad message break training
                self.kernel.log.error("nbgraph: could not handle a shell message: %r", err)
        return count

    def _handle(self, frames):
        session = self.kernel.session
        idents, parts = session.feed_identities(frames, copy=False)
        # Peek at the header without deserializing: deserialize() records the
        # signature, and the kernel would then reject the message as a replay.
        header = session.unpack(_as_bytes(parts[1]))
        msg_type = header.get("msg_type")
        if msg_type in self.COMM_TYPES:
            msg = session.deserialize(parts, content=True, copy=False)
            handler = self.kernel.shell_handlers.get(msg_type)
            if handler is not None:
                result = handler(self.stream, idents, msg)
                if hasattr(result, "__await__"):
                    import asyncio
                    asyncio.ensure_future(result)
            self.handled += 1
        else:
            # As the stream would have done had it read the message itself.
            self.stream._run_callback(self.stream._recv_callback, frames)
            self.passed_on += 1


# ---------------------------------------------------------------------------
# Progress reporters: none, a text line, the widget dashboard
# ---------------------------------------------------------------------------

class _Reporter:
    """Do-nothing progress (live=False); the base of the real ones."""

    poll_interval = math.inf

    def __init__(self):
        self.stop_requested = False

    def refresh(self, history, info):
        pass

    def finish(self, history):
        pass

    def poll(self):
        pass


def _status_text(history, info):
    parts = [f"epoch {history.epochs}/{info['max_epochs']}", f"loss {history.loss:.4g}"]
    if history.val_losses:
        parts.append(f"val {history.val_losses[-1]:.4g}")
    if history.accuracies:
        parts.append(f"acc {history.accuracies[-1]:.1%}")
    if info["elapsed"] > 0:
        parts.append(f"{history.steps / info['elapsed']:.0f} steps/s")
    return "  ".join(parts)


class TextProgress(_Reporter):
    """A progress line for terminals and scripts.

    On a terminal the line is rewritten in place (``\\r``) at most every
    ``interval`` seconds; elsewhere (logs, CI) a new line is printed at most
    every ``log_interval`` seconds. A final line says how training ended.
    """

    def __init__(self, stream=None, interval=0.2, log_interval=5.0, clock=time.monotonic):
        super().__init__()
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", lambda: False)
        try:
            self.tty = bool(isatty())
        except Exception:
            self.tty = False
        self.interval = interval if self.tty else log_interval
        self.clock = clock
        self.next_due = clock() + (0.0 if self.tty else self.interval)
        self.lines = 0

    def refresh(self, history, info):
        now = self.clock()
        if now < self.next_due:
            return
        self.next_due = now + self.interval
        text = _status_text(history, info)
        if self.tty:
            self.stream.write("\r" + text.ljust(78))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.lines += 1

    def finish(self, history):
        end = "\r" if self.tty else ""
        self.stream.write(end + history.describe().ljust(78 if self.tty else 0) + "\n")
        self.stream.flush()


class Dashboard(_Reporter):
    """The live training view: status line, Stop button, loss curve, decision
    boundary (2-D classification) and optionally the latest step's graph.

    ``widget`` is an ``ipywidgets.VBox`` (CSS class ``nbgraph-dashboard``);
    ``stop_button`` (tooltip "Stop") asks the loop to end after the current
    step; ``status`` (an HTML widget) shows epoch, loss and speed, and at the
    end how training ended ("stopped by user at epoch 137; ..."). Widgets are
    made without a frontend too: they render their PNGs all the same.

    Refreshes: at most every ``interval`` seconds and ``budget`` of the time
    (see ``lossplot.Throttle``), none when the end is nearer than the next
    one would be, and a final one in ``finish``, which then hands the
    matplotlib figures on to the next dashboard (``release_figure``).
    """

    poll_interval = 0.05

    def __init__(self, *, max_epochs, boundary=None, validation=False, show_graph=False,
                 title=None, log=False, interval=0.2, budget=0.05, clock=time.monotonic,
                 poller=None):
        super().__init__()
        import ipywidgets
        from .lossplot import BoundaryPlot, LossPlot, Throttle
        self.clock = clock
        self.throttle = Throttle(interval, budget, clock)
        self.started = clock()
        self.throttle.next_due = self.started + interval    # first picture once there is a curve
        self.poller = poller
        self.refreshes = 0
        self.lossplot = LossPlot(title=title, xlabel="epoch", second="val loss" if validation else None,
                                 log=log, xmax=max_epochs, clock=clock, interval=interval,
                                 draw_now=False)
        self.boundary = BoundaryPlot(**boundary) if boundary is not None else None
        self.status = ipywidgets.HTML(value="<code>starting...</code>")
        self.status.add_class("nbgraph-status")
        self.stop_button = ipywidgets.Button(description="Stop", tooltip="Stop", icon="stop",
                                             button_style="danger")
        self.stop_button.add_class("nbgraph-stop")
        self.stop_button.on_click(self._on_stop)
        self.graph_view = None
        self.render_svg = None
        if show_graph:
            self.graph_view = ipywidgets.HTML(value="")
            self.graph_view.add_class("nbgraph-graph")
            try:
                from .render import render_svg
                self.render_svg = render_svg
            except ImportError as err:
                self.graph_view.value = f"<i>graph view unavailable: {_escape(str(err))}</i>"
        plots = [self.lossplot.widget] + ([self.boundary.widget] if self.boundary else [])
        rows = [ipywidgets.HBox([self.stop_button, self.status]), ipywidgets.HBox(plots)]
        if self.graph_view is not None:
            rows.append(self.graph_view)
        self.widget = ipywidgets.VBox(rows)
        self.widget.add_class("nbgraph-dashboard")
        self._info = None
        self._graph_drawn = None
        self._boundary_steps = None     # history.steps when the boundary was last drawn

    def _on_stop(self, button=None):
        self.stop_requested = True
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def poll(self):
        if self.poller is not None:
            self.poller.poll()

    def refresh(self, history, info, force=False):
        self._info = info
        if force or (self.throttle.due() and not self._ending_soon(history, info)):
            self.throttle.run(lambda: self._draw(history, info))

    def _ending_soon(self, history, info):
        """True when, at the pace so far, the epoch budget runs out before the
        next refresh would be due: the final redraw comes sooner, so a picture
        now would be on show for a moment only (and cost as much as any)."""
        if history.epochs < 1:
            return False
        per_epoch = (self.clock() - self.started) / history.epochs
        return per_epoch * (info["max_epochs"] - history.epochs) < self.throttle.interval

    def _draw(self, history, info):
        self.status.value = f"<code>{_escape(_status_text(history, info))}</code>"
        self.lossplot.redraw()
        self._draw_boundary(history)
        self._draw_graph(info)
        self.refreshes += 1

    def _draw_boundary(self, history):
        if self.boundary is not None and history.steps != self._boundary_steps:
            self.boundary.redraw()
            self._boundary_steps = history.steps

    def _draw_graph(self, info):
        tensor = info.get("loss_tensor") if info else None
        if self.render_svg is None or tensor is None or tensor is self._graph_drawn:
            return
        try:
            self.graph_view.value = self.render_svg(tensor, color_by="grad")
            self._graph_drawn = tensor
        except Exception as err:    # a drawing problem must not stop training
            self.graph_view.value = f"<i>graph view failed: {_escape(repr(err))}</i>"
            self.render_svg = None

    def finish(self, history):
        self.status.value = f"<code>{_escape(history.describe())}</code>"
        self.stop_button.disabled = True
        self.stop_button.description = "Stopped" if history.stopped_by == "user" else "Done"
        if self.lossplot._dirty:
            self.lossplot.redraw()
        self._draw_boundary(history)
        self._draw_graph(self._info)
        self._graph_drawn = None            # do not keep the last graph alive
        if self._info:
            self._info["loss_tensor"] = None
        # The images stay on show; the matplotlib figures go to the next
        # dashboard (this one stays alive as long as its widgets do).
        self.lossplot.release_figure()
        if self.boundary is not None:
            self.boundary.release_figure()


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------

def _loss_name(loss):
    if isinstance(loss, str):
        return loss
    for name, fn in LOSSES.items():
        if fn is loss:
            return name
    return getattr(loss, "__name__", "custom")


def _as_array(a, what):
    if isinstance(a, Tensor):
        return a.data
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"fit: {what} must be numbers, got dtype {arr.dtype}")
    return arr


def _output(out):
    """Models such as RNN return (outputs, state): the loss sees the outputs."""
    return out[0] if isinstance(out, tuple) else out


def _classifier(loss_name, y, threshold=None):
    """How to read a classifier's outputs, or None for regression.

    Returns (kind, threshold, classes): "multi" for (N, C) logits vs integer
    labels; "binary" for one score per sample, class 1 when score > threshold
    (0 for hinge and bce scores, else the midpoint of the two label values).
    """
    y = np.asarray(y)
    integer = y.size > 0 and np.all(y == np.round(y))
    if loss_name == "cross_entropy":
        return "multi", None, int(y.max()) + 1
    if loss_name in _CLASSIFICATION:
        return "binary", 0.0 if threshold is None else float(threshold), 2
    if not integer or (loss_name == "mse" and threshold is None):
        return None
    values = np.unique(y)
    if values.size == 2:
        return "binary", float(values.mean()) if threshold is None else float(threshold), 2
    return None


def _accuracy(out, y, classify):
    kind, threshold, _ = classify
    scores = out.data if isinstance(out, Tensor) else np.asarray(out)
    y = np.asarray(y)
    if kind == "multi":
        return float(np.mean(scores.reshape(len(y), -1).argmax(axis=1) == y.reshape(-1)))
    positive_label = y.reshape(-1) > (0.0 if y.min() < 0 else 0.5)
    return float(np.mean((scores.reshape(-1) > threshold) == positive_label))


def _boundary_predictor(model, classify):
    kind, threshold, _ = classify

    def predict(points):
        with no_grad():
            scores = _output(model(points)).data
        if kind == "multi":
            return scores.reshape(len(points), -1).argmax(axis=1)
        s = scores.reshape(len(points), -1)[:, 0] - threshold
        return 0.5 * (np.tanh(1.5 * s) + 1.0)      # a soft 0..1 colour around the boundary

    return predict


def fit(model, X, y, loss="mse", optimizer=None, epochs=100, batch_size=None, live=True,
        stop=None, *, lr=0.1, l2=0.0, threshold=None, validation=None, shuffle=True, seed=0, callback=None,
        show_graph=False, boundary="auto", log=False, title=None, interval=0.2, budget=0.05,
        clock=time.monotonic, display=None):
    """Train ``model`` on ``(X, y)``; returns a ``History``.

    ``model``: an ``ng.nn.Module`` (or any callable returning a Tensor, or a
    tuple whose first item is the output, as ``RNN`` does).
    ``loss``: "mse", "hinge", "bce" / "binary_cross_entropy", "cross_entropy"
    or a function ``f(predictions, targets) -> Tensor``.
    ``optimizer``: e.g. ``ng.optim.SGD(model.parameters(), lr=0.05)``;
    default plain SGD with ``lr``. ``l2``: adds ``l2 * Σ ||W||²`` over the
    model's weight matrices to the loss (weight decay).
    ``epochs``: the most epochs to run. An epoch is one pass over the data:
    one step with ``batch_size=None`` (full batch), else ``ceil(N / batch_size)``
    steps on shuffled minibatches (split along axis 0).
    ``stop``: an ``ng.train.Stop(loss_below=..., patience=...)`` to end sooner.
    ``live``: True -> the dashboard in a notebook, a text line elsewhere;
    "text" / "widgets" to choose; False -> quiet.
    ``validation``: ``(X_val, y_val)``, evaluated once per epoch.
    ``callback(history)``: called after every epoch; returning True stops.
    ``show_graph``: show the latest step's graph coloured by gradient size.
    ``boundary``: "auto" draws the decision boundary for 2-D classification.
    ``threshold``: for binary classification with one score per sample, the
    score above which a sample counts as class 1 (accuracy, boundary);
    default 0 for hinge/bce, else the midpoint of the two label values.
    ``clock``, ``interval``, ``budget``: the refresh throttle (tests inject a clock).
    ``display``: how to show the dashboard (default IPython's, in a notebook).
    """
    from .optim import SGD
    X = _as_array(X, "X")
    y = _as_array(y, "y")
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} samples but y has {len(y)}")
    epochs = int(epochs)
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    loss_fn, loss_name = get_loss(loss), _loss_name(loss)
    if l2:
        weights = [p for p in model.parameters() if p.ndim >= 2]
        base_loss = loss_fn

        def loss_fn(pred, target):
            return base_loss(pred, target) + l2_penalty(weights, l2)
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=lr)
    if isinstance(stop, dict):
        stop = Stop(**stop)
    elif stop is not None and not isinstance(stop, Stop):
        raise TypeError(f"fit: stop must be an ng.train.Stop(...) (or a dict of its arguments), "
                        f"got {type(stop).__name__}")
    tracker = stop.tracker() if stop is not None else None
    if tracker is not None and stop.monitor == "val_loss" and validation is None:
        raise ValueError("fit: Stop(monitor='val_loss') needs validation=(X_val, y_val)")
    classify = _classifier(loss_name, y, threshold)
    n = len(X)
    batch = n if batch_size is None else max(1, min(int(batch_size), n))
    rng = np.random.default_rng(seed)

    history = History()
    history.stop = stop
    reporter = _make_reporter(live, model, X, y, classify, epochs, validation, show_graph,
                              boundary, log, title, interval, budget, clock, display)
    history.dashboard = reporter if isinstance(reporter, Dashboard) else None
    info = {"max_epochs": epochs, "elapsed": 0.0, "loss_tensor": None}
    keep_graph = show_graph and history.dashboard is not None
    next_poll = -math.inf
    start = time.perf_counter()
    try:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n) if (shuffle and batch < n) else None
            total, seen, correct = 0.0, 0, 0.0
            for lo in range(0, n, batch):
                if batch < n:
                    idx = order[lo:lo + batch] if order is not None else slice(lo, lo + batch)
                    xb, yb = X[idx], y[idx]
                else:
                    xb, yb = X, y
                # -- one step: forward, loss, backward, W = W - lr * grad ------
                optimizer.zero_grad()
                out = _output(model(xb))
                L = loss_fn(out, yb)
                L.backward()
                optimizer.step()
                # --------------------------------------------------------------
                value = float(L.data)
                history.step_losses.append(value)
                history.steps += 1
                total += value * len(yb)
                seen += len(yb)
                if classify is not None:
                    correct += _accuracy(out, yb, classify) * len(yb)
                if keep_graph:
                    info["loss_tensor"] = L
                del out, L
                now = clock()
                if now >= next_poll:
                    next_poll = now + reporter.poll_interval
                    reporter.poll()
                if reporter.stop_requested:
                    break
            history.epochs = epoch
            history.losses.append(total / seen)
            if classify is not None:
                history.accuracies.append(correct / seen)
            if validation is not None:
                _validate(model, loss_fn, validation, classify, history)
            info["elapsed"] = time.perf_counter() - start
            if hasattr(reporter, "lossplot"):
                reporter.lossplot.record(epoch, history.losses[-1],
                                         history.val_losses[-1] if history.val_losses else None)
            reporter.refresh(history, info)
            if callback is not None and callback(history) is True:
                history.stopped_by = "callback"
            if reporter.stop_requested:            # the button (or a callback pressing it)
                history.stopped_by = "user"
            elif history.stopped_by is None and tracker is not None:
                history.stopped_by = tracker.check(history)
            if history.stopped_by:
                break
        else:
            history.stopped_by = "epochs"
    finally:
        history.wall_time = time.perf_counter() - start
        if history.stopped_by is None:          # an exception (or KeyboardInterrupt)
            history.stopped_by = "interrupted"
        history.message = history.describe()
        reporter.finish(history)
    return history


def _validate(model, loss_fn, validation, classify, history):
    Xv, yv = validation
    Xv, yv = _as_array(Xv, "validation X"), _as_array(yv, "validation y")
    with no_grad():
        out = _output(model(Xv))
        history.val_losses.append(float(loss_fn(out, yv).data))
    if classify is not None:
        history.val_accuracies.append(_accuracy(out, yv, classify))


def _make_reporter(live, model, X, y, classify, epochs, validation, show_graph, boundary, log,
                   title, interval, budget, clock, display):
    if live is False or live is None:
        return _Reporter()
    if live not in (True, "text", "widgets", "auto"):
        raise ValueError(f"fit: live must be True, False, 'text' or 'widgets', got {live!r}")
    kernel = _kernel()
    if live == "text" or (live in (True, "auto") and kernel is None and display is None):
        return TextProgress(clock=clock, interval=interval)
    boundary_view = None
    if (boundary is True or boundary == "auto") and classify is not None \
            and X.ndim == 2 and X.shape[1] == 2:
        boundary_view = dict(X=X, y=y, predict=_boundary_predictor(model, classify),
                             classes=classify[2])
    dash = Dashboard(max_epochs=epochs, validation=validation is not None, show_graph=show_graph,
                     title=title, log=log, interval=interval, budget=budget, clock=clock,
                     poller=KernelPoller(kernel) if kernel is not None else None,
                     boundary=boundary_view)
    if display is not None:
        display(dash.widget)
    elif kernel is not None:
        from IPython.display import display as ipy_display
        ipy_display(dash.widget)
    return dash
