"""``ng.fit``: the textbook training loop.

    history = ng.fit(model, X, y, loss="hinge", optimizer=ng.optim.SGD(model.parameters(), lr=0.05),
                     epochs=500, stop=ng.Stop(loss_below=0.01, patience=50))
    history.losses, history.grad_norms, history.epochs, history.stopped_by

Each step is the four lines every course writes on the board::

    optimizer.zero_grad()        # forget the last step's gradients
    loss = loss_fn(model(X), y)  # forward
    loss.backward()              # backward: dL/dW for every weight W
    optimizer.step()             # W = W - lr * dL/dW

repeated until a stop criterion holds: the epoch budget, a loss threshold, no
improvement for ``patience`` epochs, the user pressing Stop, or the kernel
being interrupted (``fit`` then returns the history so far, marked
"interrupted").

How the run is shown is not the loop's business: it tells a *reporter* (see
``Reporter``) when it starts, after each step, after each epoch and when it
finishes, and asks it whether the user wants to stop. ``live=True`` picks the
widget ``Dashboard`` in a notebook and a ``TextProgress`` line elsewhere;
``live=ng.Dashboard(...)`` is a dashboard with options of your choosing.
"""

import math
import signal
import threading
import time

import numpy as np

from .engine import Tensor, no_grad, tensor
from .losses import LOSSES, get_loss, l2_penalty

__all__ = ["fit", "History", "Stop", "Reporter", "Run"]

STOP_REASONS = ("epochs", "loss_below", "patience", "user", "callback", "interrupted", "error")
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

        ng.fit(..., epochs=2000, stop=ng.Stop(loss_below=0.01, patience=50))
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
    classification loss; ``grad_norms``: ``{parameter name: [norm per epoch]}``,
    each the mean over the epoch's steps of ``||dL/dW||`` (names as
    ``model.named_parameters()`` gives them, or the tensors' own names);
    ``epochs``: how many epochs ran (of ``max_epochs``); ``steps``: how many
    optimizer steps; ``wall_time``: seconds; ``stopped_by``: "epochs",
    "loss_below", "patience", "user" (the Stop button), "callback" (it
    returned True), "interrupted" (the kernel was interrupted: Ctrl-C, the
    stop button of the notebook) or "error" (an exception, raised again);
    ``message``: the same in words, e.g. "stopped by user at epoch 137";
    ``dashboard``: the live dashboard, if one was shown.
    """

    def __init__(self, max_epochs=0, stop=None):
        self.losses, self.step_losses = [], []
        self.val_losses, self.accuracies, self.val_accuracies = [], [], []
        self.grad_norms = {}
        self.max_epochs = max_epochs
        self.epochs = 0
        self.steps = 0
        self.wall_time = 0.0
        self.stopped_by = None
        self.message = ""
        self.dashboard = None
        self.stop = stop

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
        heads = {
            "user": f"stopped by user at epoch {self.epochs}",
            "callback": f"stopped by the callback at epoch {self.epochs}",
            "interrupted": f"interrupted after {self.epochs} epochs",
            "error": f"failed after {self.epochs} epochs",
        }
        if self.stopped_by == "loss_below":
            head = f"stopped at epoch {self.epochs}: loss below {self.stop.loss_below:g}"
        elif self.stopped_by == "patience":
            head = (f"stopped at epoch {self.epochs}: no improvement for "
                    f"{self.stop.patience} epochs")
        else:
            head = heads.get(self.stopped_by, f"done: {self.epochs} epochs")
        return f"{head}; {loss} ({self.steps} steps in {self.wall_time:.2f} s)"

    def __repr__(self):
        return (f"History(epochs={self.epochs}, loss={self.loss:.4g}, "
                f"stopped_by={self.stopped_by!r}, wall_time={self.wall_time:.2f})")


# ---------------------------------------------------------------------------
# The reporter protocol: what the loop tells a display
# ---------------------------------------------------------------------------

class Run:
    """What a reporter may want to know about a run, given to ``start``.

    ``model``; ``X``, ``y`` (numpy arrays); ``max_epochs``; ``validation``
    (True when there is validation data); ``parameters``: ``[(name, tensor)]``;
    ``predict``: for a 2-D classifier, ``predict(points)`` -> per point a
    number in [0, 1] (binary) or a class index, else None; ``classes``.
    """

    def __init__(self, model, X, y, max_epochs, validation, parameters, predict, classes):
        self.model, self.X, self.y = model, X, y
        self.max_epochs, self.validation = max_epochs, validation
        self.parameters, self.predict, self.classes = parameters, predict, classes


class Reporter:
    """The protocol between ``fit`` and whatever shows its progress.

    ``fit`` calls ``start(run, history)`` once, ``after_step(history, loss)``
    after every optimizer step (``loss`` is that step's loss Tensor, after
    its backward pass), ``after_epoch(history)`` after every epoch and
    ``finish(history)`` at the end, whatever ended it; after every step it
    reads ``stop_requested``. This base class does nothing (``live=False``);
    a display overrides what it needs. ``after_step`` runs thousands of
    times a second: keep it to a clock check.
    """

    stop_requested = False

    def start(self, run, history):
        pass

    def after_step(self, history, loss):
        pass

    def after_epoch(self, history):
        pass

    def finish(self, history):
        pass


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------

def fit(model, X, y, loss="mse", optimizer=None, epochs=100, batch_size=None, live=True,
        stop=None, *, lr=0.1, l2=0.0, threshold=None, validation=None, shuffle=True, seed=0,
        callback=None):
    """Train ``model`` on ``(X, y)``; returns a ``History``.

    ``model``: an ``ng.nn.Module`` (or any callable returning a Tensor, or a
    tuple whose first item is the output, as ``RNN`` does).
    ``X``, ``y``: arrays (or Tensors); unnamed, they are drawn as "X" and "y".
    ``loss``: "mse", "hinge", "bce" / "binary_cross_entropy", "cross_entropy"
    or a function ``f(predictions, targets) -> Tensor``.
    ``optimizer``: e.g. ``ng.optim.SGD(model.parameters(), lr=0.05)``;
    default plain SGD with ``lr``. ``l2``: adds ``l2 * Σ ||W||²`` over the
    model's weight matrices to the loss (weight decay).
    ``epochs``: the most epochs to run. An epoch is one pass over the data:
    one step with ``batch_size=None`` (full batch), else ``ceil(N / batch_size)``
    steps on shuffled minibatches (split along axis 0).
    ``stop``: an ``ng.Stop(loss_below=..., patience=...)`` to end sooner.
    ``live``: True -> the widget dashboard in a notebook, a text line
    elsewhere; "widgets" / "text" to choose; False -> quiet; or a reporter of
    your own making, e.g. ``ng.Dashboard(grads=True, log=True)``.
    ``validation``: ``(X_val, y_val)``, evaluated once per epoch.
    ``callback(history)``: called after every epoch; returning True stops.
    ``threshold``: for binary classification with one score per sample, the
    score above which a sample counts as class 1 (accuracy, boundary);
    default 0 for hinge/bce, else the midpoint of the two label values.

    Interrupting the kernel (Ctrl-C, the notebook's stop button) ends
    training after the step it interrupts: ``fit`` returns the history so
    far with ``stopped_by == "interrupted"``, so ``history = ng.fit(...)``
    still gets it. (While ``fit`` runs in the main thread it hears SIGINT
    itself, so no interrupt is lost, and acts on it at the next step
    boundary; a second interrupt before then raises KeyboardInterrupt at
    once, for a step that hangs, and ``fit`` still returns the history.)
    Any other exception is raised again, after the display has said "failed".
    """
    from .optim import SGD
    X_data, y_data = _as_array(X, "X"), _as_array(y, "y")
    if len(X_data) != len(y_data):
        raise ValueError(f"fit: X has {len(X_data)} samples but y has {len(y_data)}")
    epochs = int(epochs)
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    reporter = _make_reporter(live)
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
        raise TypeError(f"fit: stop must be an ng.Stop(...) (or a dict of its arguments), "
                        f"got {type(stop).__name__}")
    tracker = stop.tracker() if stop is not None else None
    if tracker is not None and stop.monitor == "val_loss" and validation is None:
        raise ValueError("fit: Stop(monitor='val_loss') needs validation=(X_val, y_val)")
    classify = _classifier(loss_name, y_data, threshold)
    parameters = _named_parameters(model, optimizer)
    batches = _Batches(X, y, X_data, y_data, batch_size, shuffle, seed)

    history = History(max_epochs=epochs, stop=stop)
    history.grad_norms = {name: [] for name, _ in parameters}
    predict = None
    if classify is not None and X_data.ndim == 2 and X_data.shape[1] == 2:
        predict = _boundary_predictor(model, classify)
    reporter.start(Run(model, X_data, y_data, epochs, validation is not None, parameters,
                       predict, classify[2] if classify else None), history)
    start = time.perf_counter()
    interrupts = _Interrupts()
    try:
        interrupts.listen()
        for epoch in range(1, epochs + 1):
            tally = _EpochTally(parameters, classify)
            for xb, yb in batches.epoch():
                # -- one step: forward, loss, backward, W = W - lr * grad ------
                optimizer.zero_grad()
                out = _output(model(xb))
                L = loss_fn(out, yb)
                L.backward()
                optimizer.step()
                # --------------------------------------------------------------
                tally.add(out, yb, L, history)
                reporter.after_step(history, L)
                del out, L
                if reporter.stop_requested or interrupts.heard:
                    break
            history.epochs = epoch
            tally.record(history)
            if validation is not None:
                _validate(model, loss_fn, validation, classify, history)
            history.wall_time = time.perf_counter() - start
            reporter.after_epoch(history)
            if callback is not None and callback(history) is True:
                history.stopped_by = "callback"
            if interrupts.heard:
                history.stopped_by = "interrupted"
            elif reporter.stop_requested:          # the button (or a callback pressing it)
                history.stopped_by = "user"
            elif history.stopped_by is None and tracker is not None:
                history.stopped_by = tracker.check(history)
            if history.stopped_by:
                break
        else:
            history.stopped_by = "epochs"
    except KeyboardInterrupt:
        history.stopped_by = "interrupted"     # returned below, as notebook users expect
    except BaseException:
        history.stopped_by = "error"
        raise
    finally:
        if interrupts.take() and history.stopped_by != "error":
            history.stopped_by = "interrupted"
        history.wall_time = time.perf_counter() - start
        history.message = history.describe()
        try:
            reporter.finish(history)
        finally:
            interrupts.restore()
    return history


class _Interrupts:
    """SIGINT while ``fit`` runs: heard, then acted on at a step boundary.

    Python's own handler raises KeyboardInterrupt wherever the main thread
    happens to be, and where that is a weakref callback or a ``__del__``
    run by the garbage collector, Python prints "Exception ignored" and the
    interrupt is lost. So, from the main thread only, ``listen()`` puts this
    handler in place, which just raises a flag that ``fit`` checks after
    each step; a second SIGINT while the flag is up goes to the previous
    handler (KeyboardInterrupt at once: a stuck step can still be stopped).
    ``restore()`` puts the previous handler back; a SIGINT heard after the
    last check (while the display finished) is passed on to it then.
    """

    def __init__(self):
        self.heard = False
        self.previous = None
        self._acted = False

    def listen(self):
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGINT)
        if previous is None or previous is signal.SIG_IGN:
            return          # set outside Python, or interrupts ignored: leave it be
        signal.signal(signal.SIGINT, self._handle)
        self.previous = previous

    def _handle(self, signum, frame):
        if self.heard:
            _pass_on(self.previous, signum, frame)
        self.heard = True

    def take(self):
        """Whether SIGINT was heard; one heard after this is passed on by ``restore``."""
        self._acted = self.heard
        return self.heard

    def restore(self):
        previous, self.previous = self.previous, None
        if previous is None:
            return
        signal.signal(signal.SIGINT, previous)
        if self.heard and not self._acted:
            _pass_on(previous, signal.SIGINT, None)


def _pass_on(handler, signum, frame):
    """Do what ``handler`` (a previous SIGINT handler) would have done."""
    if callable(handler):
        handler(signum, frame)
    else:                   # SIG_DFL: what Python's own handler does
        raise KeyboardInterrupt


class _EpochTally:
    """What the steps of one epoch add up to: the loss and accuracy weighted
    by the samples of each step, and each parameter's gradient norm."""

    def __init__(self, parameters, classify):
        self.parameters, self.classify = parameters, classify
        self.loss = self.correct = 0.0
        self.seen = self.steps = 0
        self.norms = np.zeros(len(parameters))

    def add(self, out, targets, loss, history):
        """One step, after its backward pass (and the update: gradients stay)."""
        value, n = float(loss.data), len(targets.data)
        history.step_losses.append(value)
        history.steps += 1
        self.loss += value * n
        self.seen += n
        self.steps += 1
        self.norms += _grad_norms(self.parameters)
        if self.classify is not None:
            self.correct += _accuracy(out, targets, self.classify) * n

    def record(self, history):
        history.losses.append(self.loss / self.seen)
        for (name, _), norm in zip(self.parameters, self.norms / self.steps):
            history.grad_norms[name].append(float(norm))
        if self.classify is not None:
            history.accuracies.append(self.correct / self.seen)


class _Batches:
    """The (inputs, targets) of each step of an epoch. Inputs are Tensors
    named as the user named them, else "X" (and "y"), so drawings of a
    step show where the data comes in; the user's own tensors are untouched."""

    def __init__(self, X, y, X_data, y_data, batch_size, shuffle, seed):
        self.x_name = _name_of(X, "X")
        self.y_name = _name_of(y, "y")
        self.X, self.y = X_data, y_data
        n = len(X_data)
        self.batch = n if batch_size is None else max(1, min(int(batch_size), n))
        self.shuffle = shuffle and self.batch < n
        self.rng = np.random.default_rng(seed)
        self.full = (self._x(X_data), self._y(y_data))

    def _x(self, data):
        return tensor(data, name=self.x_name, requires_grad=False)

    def _y(self, data):
        return tensor(data, name=self.y_name, requires_grad=False)

    def epoch(self):
        n = len(self.X)
        if self.batch >= n:
            yield self.full
            return
        order = self.rng.permutation(n) if self.shuffle else None
        for lo in range(0, n, self.batch):
            idx = order[lo:lo + self.batch] if order is not None else slice(lo, lo + self.batch)
            yield self._x(self.X[idx]), self._y(self.y[idx])


def _name_of(data, default):
    return data.name if isinstance(data, Tensor) and data.name else default


def _named_parameters(model, optimizer):
    """``[(name, tensor)]`` of what the optimizer trains: the model's paths
    (``named_parameters``) where it has them, else the tensors' names."""
    paths = {}
    if hasattr(model, "named_parameters"):
        paths = {id(p): path for path, p in model.named_parameters()}
    named, used = [], set()
    for i, p in enumerate(optimizer.params):
        name = paths.get(id(p)) or p.name or f"param{i}"
        while name in used:
            name += "'"
        used.add(name)
        named.append((name, p))
    return named


def _grad_norms(parameters):
    """||dL/dW|| of each parameter after a backward pass (0 without a gradient)."""
    norms = []
    for _, p in parameters:
        g = p.grad
        if g is None:
            norms.append(0.0)
        else:
            g = g.ravel()
            norms.append(math.sqrt(g.dot(g)))
    return norms


def _make_reporter(live):
    if live is False or live is None:
        return Reporter()
    if live in (True, "auto", "text", "widgets"):
        from .kernel_poll import running_kernel
        if live == "text" or (live != "widgets" and running_kernel() is None):
            from .progress import TextProgress
            return TextProgress()
        from .dashboard import Dashboard
        return Dashboard()
    if isinstance(live, str):
        raise ValueError(f"fit: live must be True, False, 'text', 'widgets' or a reporter "
                         f"(e.g. ng.Dashboard()), got {live!r}")
    return live         # a reporter: anything with the methods of ``Reporter``


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
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
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


def _validate(model, loss_fn, validation, classify, history):
    Xv, yv = validation
    Xv, yv = _as_array(Xv, "validation X"), _as_array(yv, "validation y")
    with no_grad():
        out = _output(model(Xv))
        history.val_losses.append(float(loss_fn(out, yv).data))
    if classify is not None:
        history.val_accuracies.append(_accuracy(out, yv, classify))
