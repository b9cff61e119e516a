"""ng.fit: the loop, its stop criteria, its live views and the Stop button."""

import gc
import io
import os
import queue
import signal
import threading
import time
import tracemalloc
import weakref
from pathlib import Path

import numpy as np
import pytest

import nbgraph as ng
from nbgraph.dashboard import Dashboard
from nbgraph.kernel_poll import KernelPoller
from nbgraph.progress import TextProgress
from nbgraph.train import History, Reporter, Stop

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def moons():
    return ng.datasets.moons(n=100, noise=0.1, seed=0)


def _model(seed=0):
    return ng.nn.MLP(2, [16, 16, 1], seed=seed)


# ---------------------------------------------------------------------------
# The loop and its stop criteria
# ---------------------------------------------------------------------------

def test_fit_runs_the_epoch_budget_and_returns_history(moons):
    X, y = moons
    model = _model()
    h = ng.fit(model, X, y, loss="hinge", optimizer=ng.optim.SGD(model.parameters(), lr=0.1,
               momentum=0.9), epochs=300, live=False)
    assert isinstance(h, History)
    assert h.stopped_by == "epochs" and h.epochs == 300 and h.steps == 300
    assert len(h.losses) == 300 and len(h.accuracies) == 300
    assert h.losses[-1] < 0.5 * h.losses[0]
    assert h.accuracies[-1] >= 0.95
    assert h.wall_time > 0 and "done: 300 epochs" in h.message
    assert "stopped_by='epochs'" in repr(h)


def test_fit_default_optimizer_is_sgd_with_lr(moons):
    X, y = moons
    model = _model()
    before = model.layers[0].W.data.copy()
    h = ng.fit(model, X, y, loss="hinge", epochs=2, lr=0.01, live=False)
    assert h.epochs == 2 and not np.array_equal(before, model.layers[0].W.data)


def test_stop_when_loss_below_threshold(moons):
    X, y = moons
    model = _model()
    h = ng.fit(model, X, y, loss="bce", optimizer=ng.optim.Adam(model, lr=0.02), epochs=2000,
               stop=Stop(loss_below=0.2), live=False)
    assert h.stopped_by == "loss_below"
    assert h.losses[-1] < 0.2 <= min(h.losses[:-1])
    assert h.epochs < 2000 and "loss below 0.2" in h.message


def test_stop_after_patience_epochs_without_improvement(moons):
    X, y = moons
    model = _model()
    # lr so small that the loss stops moving by more than min_delta
    h = ng.fit(model, X, y, loss="mse", optimizer=ng.optim.SGD(model, lr=1e-9), epochs=500,
               stop=Stop(patience=5, min_delta=1e-3), live=False)
    assert h.stopped_by == "patience" and h.epochs == 6
    assert "no improvement for 5 epochs" in h.message
    assert Stop(patience=5, min_delta=1e-3).__repr__() == "Stop(patience=5, min_delta=0.001)"


def test_stop_accepts_a_dict_and_validates(moons):
    X, y = moons
    h = ng.fit(_model(), X, y, loss="hinge", epochs=50, stop={"loss_below": 10.0}, live=False)
    assert h.stopped_by == "loss_below" and h.epochs == 1
    with pytest.raises(ValueError, match="patience"):
        Stop(patience=0)
    with pytest.raises(TypeError, match="stop must be"):
        ng.fit(_model(), X, y, epochs=2, stop=0.01, live=False)
    with pytest.raises(ValueError, match="needs validation"):
        ng.fit(_model(), X, y, epochs=2, stop=Stop(patience=2, monitor="val_loss"), live=False)


def test_minibatches_validation_and_callback(moons):
    X, y = moons
    Xv, yv = ng.datasets.moons(n=50, noise=0.1, seed=1)
    seen = []

    def callback(history):
        seen.append(history.epochs)
        return history.epochs == 4           # returning True stops

    model = _model()
    h = ng.fit(model, X, y, loss="hinge", optimizer=ng.optim.SGD(model, lr=0.05), epochs=10,
               batch_size=32, validation=(Xv, yv), callback=callback, live=False)
    assert seen == [1, 2, 3, 4] and h.stopped_by == "callback"
    assert h.steps == 4 * 4 and len(h.step_losses) == 16      # ceil(100 / 32) = 4 per epoch
    assert len(h.val_losses) == 4 and len(h.val_accuracies) == 4
    # the epoch loss is the sample-weighted mean of its steps
    assert h.losses[0] == pytest.approx(
        (sum(h.step_losses[:3]) * 32 + h.step_losses[3] * 4) / 100)


def test_fit_trains_an_rnn_returning_outputs_and_state():
    xs, ys = ng.datasets.sine_sequence(length=12, batch=4, seed=0)
    rnn = ng.nn.RNN(1, 6, 1, seed=0)
    h = ng.fit(rnn, xs, ys, loss="mse", optimizer=ng.optim.Adam(rnn, lr=0.02), epochs=30,
               live=False)
    assert h.losses[-1] < h.losses[0] and not h.accuracies


def test_interrupting_a_training_step_returns_the_history_marked_interrupted(moons):
    """Ctrl-C (KeyboardInterrupt) inside a step: fit ends cleanly and returns
    the history so far, so ``history = ng.fit(...)`` is still assigned."""
    X, y = moons
    calls = []

    def loss(pred, target):
        calls.append(1)
        if len(calls) == 6:                    # the forward pass of step 6
            raise KeyboardInterrupt
        return ng.losses.hinge(pred, target)

    dash = Dashboard(display=lambda w: None)
    history = ng.fit(_model(), X, y, loss=loss, epochs=10, live=dash)
    assert history.stopped_by == "interrupted"
    assert history.epochs == 5 and history.steps == 5 and len(history.losses) == 5
    assert "interrupted after 5 epochs" in history.message
    assert "interrupted after 5 epochs" in dash.status.value
    assert dash.stop_button.description == "Done"


def _send_sigint():
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def sigint_heard():
    """SIGINT delivered as in an interactive Python: a process started in the
    background by a non-interactive shell (as a CI job may be) inherits
    SIGINT *ignored*, and fit then rightly leaves it alone -- these tests are
    about the interactive case, so they set Python's default handler."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_real_sigint_stops_fit_at_the_next_step_boundary(moons, sigint_heard):
    """SIGINT sent from the loss function of step 3: step 3 completes, fit
    returns the history marked "interrupted", the previous handler is back."""
    X, y = moons
    before = signal.getsignal(signal.SIGINT)

    def loss(pred, target):
        if len(calls) == 2:
            _send_sigint()                      # during step 3
        calls.append(1)
        return ng.losses.hinge(pred, target)

    calls = []
    dash = _dash()
    h = ng.fit(_model(), X, y, loss=loss, epochs=10, live=dash)
    assert h.stopped_by == "interrupted" and h.steps == 3 and h.epochs == 3
    assert len(h.losses) == 3 and "interrupted after 3 epochs" in dash.status.value
    assert signal.getsignal(signal.SIGINT) is before


def test_a_sigint_landing_in_a_weakref_callback_is_not_lost(moons, sigint_heard):
    """Python drops a KeyboardInterrupt raised inside a weakref callback
    ("Exception ignored"): that lost the kernel's first Interrupt when it
    came during garbage collection. fit hears the signal itself."""
    X, y = moons

    class Thing:
        pass

    def loss(pred, target):
        calls.append(1)
        if len(calls) == 4:
            thing = Thing()
            ref = weakref.ref(thing, lambda r: _send_sigint())
            del thing                           # the callback runs (and sends) here
            assert ref() is None
        return ng.losses.hinge(pred, target)

    calls = []
    h = ng.fit(_model(), X, y, loss=loss, epochs=20, live=False)
    assert h.stopped_by == "interrupted" and h.steps == 4


def test_a_sigint_from_another_thread_stops_fit(moons, sigint_heard):
    X, y = moons
    before = signal.getsignal(signal.SIGINT)
    started = threading.Event()

    def send_when_training():
        started.wait(timeout=60)
        _send_sigint()

    deadline = time.monotonic() + 120

    def callback(history):
        started.set()
        # a signal that is not heard fails the test instead of training for hours
        assert time.monotonic() < deadline, "SIGINT from another thread not heard in 120 s"

    sender = threading.Thread(target=send_when_training, daemon=True)
    sender.start()
    h = ng.fit(_model(), X, y, loss="hinge", epochs=10_000_000, live=False, callback=callback)
    sender.join(timeout=60)
    assert h.stopped_by == "interrupted" and 1 <= h.epochs < 10_000_000
    assert len(h.losses) == h.epochs and "interrupted after" in h.message
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_sigint_interrupts_the_step_at_once(moons, sigint_heard):
    """The first SIGINT waits for the step to end; a second one, for a step
    that hangs, raises KeyboardInterrupt inside it: step 3 never completes,
    and fit still returns the history."""
    X, y = moons

    def loss(pred, target):
        calls.append(1)
        if len(calls) == 3:
            _send_sigint()
            _send_sigint()
            calls.append("after the second")       # never reached
        return ng.losses.hinge(pred, target)

    calls = []
    h = ng.fit(_model(), X, y, loss=loss, epochs=10, live=False)
    assert h.stopped_by == "interrupted" and h.steps == 2 and "after the second" not in calls


def test_fit_leaves_an_ignored_sigint_ignored(moons):
    """A process that ignores SIGINT (started in the background) keeps
    ignoring it while fit runs: fit does not make Ctrl-C mean something."""
    X, y = moons
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        def loss(pred, target):
            calls.append(signal.getsignal(signal.SIGINT))
            if len(calls) == 2:
                _send_sigint()                  # ignored: training goes on
            return ng.losses.hinge(pred, target)

        calls = []
        h = ng.fit(_model(), X, y, loss=loss, epochs=4, live=False)
        assert h.stopped_by == "epochs" and h.steps == 4
        assert all(handler is signal.SIG_IGN for handler in calls)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_fit_outside_the_main_thread_leaves_sigint_alone(moons):
    X, y = moons
    seen = []

    def train():
        seen.append(ng.fit(_model(), X, y, loss="hinge", epochs=3, live=False))

    before = signal.getsignal(signal.SIGINT)
    worker = threading.Thread(target=train)
    worker.start()
    worker.join(timeout=60)
    assert seen and seen[0].stopped_by == "epochs"
    assert signal.getsignal(signal.SIGINT) is before


def test_other_errors_are_raised_after_the_display_says_so(moons):
    X, y = moons

    def loss(pred, target):
        raise ValueError("my loss is broken")

    dash = Dashboard(display=lambda w: None)
    with pytest.raises(ValueError, match="my loss is broken"):
        ng.fit(_model(), X, y, loss=loss, epochs=10, live=dash)
    assert "failed after 0 epochs" in dash.status.value


def test_fit_reports_bad_inputs(moons):
    X, y = moons
    with pytest.raises(ValueError, match="100 samples but y has 99"):
        ng.fit(_model(), X, y[:99], live=False)
    with pytest.raises(ValueError, match="unknown loss 'hinj'"):
        ng.fit(_model(), X, y, loss="hinj", live=False)
    with pytest.raises(ValueError, match="live must be"):
        ng.fit(_model(), X, y, live="yes")
    with pytest.raises(ValueError, match="pace must be"):
        Dashboard(pace=0)


# ---------------------------------------------------------------------------
# Live output outside a notebook
# ---------------------------------------------------------------------------

def test_live_outside_a_notebook_prints_a_text_progress(moons, capsys):
    X, y = moons
    h = ng.fit(_model(), X, y, loss="hinge", epochs=20, live=True)
    out = capsys.readouterr().out
    assert h.dashboard is None
    assert "done: 20 epochs" in out and len(out.splitlines()) <= 3


def test_text_progress_is_throttled_and_rewrites_one_line_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    clock = FakeClock()
    stream = Tty()
    progress = TextProgress(stream=stream, interval=0.2, clock=clock)
    h = History(max_epochs=100)
    for epoch in range(1, 101):                 # 100 epochs over 1 simulated second
        clock.t = epoch * 0.01
        h.epochs, h.steps, h.wall_time = epoch, epoch, clock.t
        h.losses.append(1.0 / epoch)
        progress.after_epoch(h)
    assert 4 <= progress.lines <= 6
    h.stopped_by = "epochs"
    progress.finish(h)
    text = stream.getvalue()
    assert text.count("\r") >= progress.lines and text.count("\n") == 1
    assert text.startswith("\repoch 1/100  loss 1") and "\rdone: 100 epochs" in text


# ---------------------------------------------------------------------------
# The widget dashboard (made without a frontend: it renders all the same)
# ---------------------------------------------------------------------------

def _dash(**kw):
    return Dashboard(display=lambda w: None, **kw)


def test_stop_button_ends_fit_after_the_current_step(moons):
    X, y = moons
    shown = []

    def press_stop_at_epoch_7(history):
        if history.epochs == 7:
            history.dashboard.stop_button.click()

    h = ng.fit(_model(), X, y, loss="hinge", epochs=10_000, live=Dashboard(display=shown.append),
               callback=press_stop_at_epoch_7)
    assert h.stopped_by == "user" and h.epochs == 7
    assert "stopped by user at epoch 7" in h.message
    dash = h.dashboard
    assert shown == [dash.widget]
    assert "stopped by user at epoch 7" in dash.status.value
    assert dash.stop_button.description == "Stopped"
    assert "nbgraph-dashboard" in dash.widget._dom_classes
    assert "nbgraph-stop" in dash.stop_button._dom_classes
    # a click on the ended button changes nothing
    dash.stop_button.click()
    assert dash.stop_button.description == "Stopped"


def _contrast(a, b):
    """WCAG contrast ratio of two '#rrggbb' colours."""
    def luminance(hex_colour):
        rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_stop_button_colours_are_explicit_and_readable(moons):
    """Theme-independent colours (the browser test measures them in the dark theme)."""
    X, y = moons
    seen = []
    h = ng.fit(_model(), X, y, loss="hinge", epochs=3, live=_dash(),
               callback=lambda h: seen.append((h.dashboard.stop_button.style.button_color,
                                               h.dashboard.stop_button.style.text_color)))
    style = h.dashboard.stop_button.style
    for background, text in seen[:1] + [(style.button_color, style.text_color)]:
        assert _contrast(background, text) >= 4.5, (background, text)
    assert seen[0] != (style.button_color, style.text_color)     # running vs ended look apart
    assert h.dashboard.stop_button.description == "Done"


def test_stop_button_mid_epoch_with_minibatches(moons):
    X, y = moons
    steps = []
    dash = _dash()

    def loss(pred, target):
        steps.append(1)
        if len(steps) == 6:                    # second step of epoch 2
            dash.stop_button.click()
        return ng.losses.hinge(pred, target)

    h = ng.fit(_model(), X, y, loss=loss, epochs=50, batch_size=25, live=dash)
    assert h.stopped_by == "user" and h.steps == 6 and h.epochs == 2


def test_dashboard_draws_loss_and_decision_boundary(moons):
    X, y = moons
    clock = FakeClock()

    def tick(history):
        clock.t += 0.05                          # each epoch "takes" 50 ms

    h = ng.fit(_model(), X, y, loss="hinge", epochs=40, live=_dash(clock=clock), callback=tick)
    dash = h.dashboard
    # 40 epochs x 50 ms = 2 s: one refresh per 0.2 s
    assert 8 <= dash.refreshes <= 12, dash.refreshes
    assert dash.lossplot.png.startswith(b"\x89PNG")
    assert dash.boundary is not None and dash.boundary.redraws >= dash.refreshes
    assert "nbgraph-boundary" in dash.boundary.widget._dom_classes
    assert len(dash.lossplot.losses) == 40 and not dash.lossplot.dirty
    assert dash.gradplot is None                 # only when asked for
    # regression (mse on real targets), 3-D inputs or boundary=False: no boundary view
    h2 = ng.fit(ng.nn.MLP(3, [4, 1], seed=0), np.random.default_rng(0).normal(size=(20, 3)),
                np.arange(20) % 2, loss="hinge", epochs=2, live=_dash())
    assert h2.dashboard.boundary is None
    h3 = ng.fit(_model(), X, y, loss="hinge", epochs=2, live=_dash(boundary=False))
    assert h3.dashboard.boundary is None


def test_the_loss_axis_follows_the_run_not_the_budget(moons):
    """A run stopped at 10 % of its epoch budget: the x axis spans the run."""
    X, y = moons

    def stop_at_10_percent(history):
        return history.epochs == 100

    h = ng.fit(_model(), X[:20], y[:20], loss="hinge", epochs=1000, live=_dash(),
               callback=stop_at_10_percent)
    lo, hi = h.dashboard.lossplot.xlim
    assert h.epochs == 100 and lo == 0 and 100 <= hi <= 150, (lo, hi)


def test_the_first_picture_waits_until_its_cost_fits_the_budget(moons, monkeypatch):
    """A first picture expected to cost 0.1 s, at a 5 % budget, comes after
    1.9 s of training; a 1 s run shows the final picture only. The status
    line follows the run meanwhile."""
    X, y = moons
    clock = FakeClock()
    first, statuses = [], set()

    def tick(history):
        if history.dashboard.refreshes and not first:
            first.append(clock.t)
        statuses.add(history.dashboard.status.value)
        clock.t += 0.05                          # each epoch "takes" 50 ms

    h = ng.fit(_model(), X, y, loss="hinge", epochs=80, callback=tick,
               live=_dash(clock=clock, first_cost=0.1, budget=0.05))
    assert first and 1.9 <= first[0] <= 2.1, first
    assert len(statuses) >= 8                    # every 0.2 s, from the start
    clock.t = 0.0
    h = ng.fit(_model(), X, y, loss="hinge", epochs=20, callback=tick,
               live=_dash(clock=clock, first_cost=0.1, budget=0.05))
    assert h.dashboard.refreshes == 0 and h.dashboard.lossplot.redraws == 1
    assert h.dashboard.lossplot.png.startswith(b"\x89PNG")
    # On the real clock a dashboard learns what its first picture cost, for the
    # next one (not from the process's very first picture: it loads Pillow).
    monkeypatch.setattr(Dashboard, "picture_cost", 123.0)
    monkeypatch.setattr(Dashboard, "_pictures", 0)
    ng.fit(_model(), X, y, loss="hinge", epochs=2, live=_dash())
    assert Dashboard.picture_cost == 123.0
    ng.fit(_model(), X, y, loss="hinge", epochs=2, live=_dash())
    assert 0 < Dashboard.picture_cost < 5


def test_no_refresh_just_before_the_end(moons):
    """A picture due less than one interval before the epoch budget runs out
    would be replaced by the final one at once: it is skipped."""
    X, y = moons
    clock = FakeClock()
    refreshed = []

    def tick(history):
        if history.dashboard.refreshes > len(refreshed):
            refreshed.append(history.epochs)
        clock.t += 0.1                           # each epoch "takes" 100 ms

    h = ng.fit(_model(), X[:20], y[:20], loss="hinge", epochs=20, live=_dash(clock=clock),
               callback=tick)
    assert refreshed[0] == 3 and len(refreshed) >= 7      # every 0.2 s from 0.2 s on ...
    assert refreshed[-1] <= 18                            # ... but not in the last 0.2 s
    plot = h.dashboard.lossplot
    assert len(plot.losses) == 20 and not plot.dirty      # the final redraw shows it all
    assert plot.redraws == len(refreshed) + 1


def test_finished_dashboards_let_their_figures_go(moons):
    """A dashboard lives as long as its widgets (the kernel keeps those); the
    pictures it draws with do not: only the PNGs on show stay."""
    X, y = moons
    refs = []
    clock = FakeClock()

    def tick(history):
        clock.t += 0.1
        dash = history.dashboard
        if dash.lossplot.chart is not None and not refs:
            refs.extend(weakref.ref(f) for f in (dash.lossplot.chart, dash.lossplot.chart.image,
                                                 dash.boundary.image))

    dashboards = [ng.fit(_model(), X, y, loss="hinge", epochs=10, live=_dash(clock=clock),
                         callback=tick).dashboard for _ in range(3)]
    gc.collect()
    assert len(refs) == 3 and all(ref() is None for ref in refs)   # though the dashboards live
    assert all(d.lossplot.chart is None and d.boundary.image is None for d in dashboards)
    assert all(d.lossplot.png.startswith(b"\x89PNG") for d in dashboards)


def test_dashboard_multiclass_boundary():
    X, y = ng.datasets.spirals(n=60, classes=3, seed=0)
    h = ng.fit(ng.nn.MLP(2, [8, 3], seed=0), X, y, loss="cross_entropy", epochs=3, live=_dash())
    assert h.dashboard.boundary.classes == 3
    assert len(h.accuracies) == 3


def test_show_graph_renders_the_latest_step_coloured_by_grad(moons):
    X, y = moons
    model = ng.nn.MLP(2, [3, 1], seed=0)
    h = ng.fit(model, X[:10], y[:10], loss="hinge", epochs=2, live=_dash(show_graph=True))
    view = h.dashboard.graph_view.value
    assert "<svg" in view and "W1" in view, view[:300]


def test_show_graph_passes_the_latest_step_to_render_svg(moons, monkeypatch):
    """The wiring, with a stand-in renderer: each refresh hands render_svg the
    loss tensor of the latest step, after its backward pass, with color_by="grad"."""
    import sys
    import types
    calls = []
    fake = types.ModuleType("nbgraph.render")

    def render_svg(graph_or_tensor, position=None, color_by=None):
        calls.append((graph_or_tensor, color_by, float(graph_or_tensor.grad)))
        return f"<svg>step {len(calls)}</svg>"

    fake.render_svg = render_svg
    monkeypatch.setitem(sys.modules, "nbgraph.render", fake)
    X, y = moons
    clock = FakeClock()
    losses = []

    def tick(history):
        clock.t += 0.1
        losses.append(history.step_losses[-1])

    h = ng.fit(_model(), X, y, loss="hinge", epochs=12, live=_dash(show_graph=True, clock=clock),
               callback=tick)
    assert calls and h.dashboard.graph_view.value == f"<svg>step {len(calls)}</svg>"
    for tensor, color_by, seed_grad in calls:
        assert color_by == "grad" and seed_grad == 1.0        # backward has run
        assert float(tensor.data) in losses                   # a real step's loss
    assert "nbgraph-graph" in h.dashboard.graph_view._dom_classes


# ---------------------------------------------------------------------------
# The reporter protocol, gradient norms, default names, pacing
# ---------------------------------------------------------------------------

class Recorder(Reporter):
    """A display of our own: it only writes down what fit tells it."""

    def __init__(self, stop_after_steps=None):
        self.calls, self.stop_after_steps, self.step_norms = [], stop_after_steps, []

    def start(self, run, history):
        self.run = run
        self.calls.append(("start", run.max_epochs, [n for n, _ in run.parameters]))

    def after_step(self, history, loss):
        self.calls.append(("step", history.steps, float(loss.data)))
        self.step_norms.append([float(np.linalg.norm(p.grad)) for _, p in self.run.parameters])
        if history.steps == self.stop_after_steps:
            self.stop_requested = True

    def after_epoch(self, history):
        self.calls.append(("epoch", history.epochs))

    def finish(self, history):
        self.calls.append(("finish", history.stopped_by))


def test_any_reporter_with_the_protocol_methods_can_show_a_run(moons):
    X, y = moons
    model = _model()
    rec = Recorder()
    h = ng.fit(model, X, y, loss="hinge", epochs=3, batch_size=50, live=rec)
    names = [path for path, _ in model.named_parameters()]
    assert rec.calls[0] == ("start", 3, names)
    kinds = [c[0] for c in rec.calls]
    assert kinds == ["start"] + ["step", "step", "epoch"] * 3 + ["finish"]
    assert rec.calls[-1] == ("finish", "epochs")
    assert [c[2] for c in rec.calls if c[0] == "step"] == h.step_losses
    assert rec.run.predict is not None and rec.run.classes == 2      # a 2-D classifier
    # stop_requested ends the run after the current step, as the Stop button does
    stopper = Recorder(stop_after_steps=4)
    h = ng.fit(_model(), X, y, loss="hinge", epochs=10, batch_size=25, live=stopper)
    assert h.stopped_by == "user" and h.steps == 4 and h.epochs == 1


def test_history_keeps_each_parameters_gradient_norm_per_epoch(moons):
    """Per epoch, the mean over its steps of ||dL/dW||, under the model's names."""
    X, y = moons
    model = _model()
    rec = Recorder()
    h = ng.fit(model, X, y, loss="hinge", epochs=4, batch_size=32, live=rec)
    names = [path for path, _ in model.named_parameters()]
    assert list(h.grad_norms) == names
    per_step = np.array(rec.step_norms)                  # (16 steps, 6 parameters)
    for i, name in enumerate(names):
        expected = per_step[:, i].reshape(4, 4).mean(axis=1)
        np.testing.assert_allclose(h.grad_norms[name], expected, rtol=1e-12)
    assert all(v > 0 for v in h.grad_norms["layers.0.W"])


def test_fit_names_the_data_X_and_y_in_the_graph(moons):
    X, y = moons
    seen = {}

    def loss(pred, target):
        seen["pred"], seen["target"] = pred, target
        return ng.losses.hinge(pred, target)

    ng.fit(_model(), X, y, loss=loss, epochs=1, live=False)
    inputs = {node.label for node in ng.graph(seen["pred"]).nodes if node.kind == "leaf"}
    assert inputs == {"X"} and seen["target"].name == "y"     # no "v1 [100x2]" for the data
    # a named Tensor keeps its name, and is left as it was
    Xt = ng.tensor(X, name="points", requires_grad=False)
    ng.fit(_model(), Xt, y, loss=loss, epochs=1, batch_size=50, live=False)
    assert "points" in {node.label for node in ng.graph(seen["pred"]).nodes}
    assert Xt.name == "points" and np.array_equal(Xt.data, X)


def test_dashboard_shows_gradient_norms_one_line_per_parameter(moons):
    X, y = moons
    model = _model()
    h = ng.fit(model, X, y, loss="hinge", epochs=30, live=_dash(grads=True))
    plot = h.dashboard.gradplot
    assert plot.names == [path for path, _ in model.named_parameters()]
    assert plot.redraws >= 1 and bytes(plot.widget.value).startswith(b"\x89PNG")
    assert "nbgraph-gradplot" in plot.widget._dom_classes
    assert plot.norms[0] == h.grad_norms["layers.0.W"]
    assert h.dashboard.gradplot.widget in h.dashboard.widget.children


def test_snapshot_puts_the_plots_side_by_side_for_saved_notebooks(moons):
    """What a notebook saved without its kernel shows (GitHub, nbviewer)."""
    import io
    from PIL import Image
    X, y = moons
    h = ng.fit(_model(), X, y, loss="hinge", epochs=20, live=_dash(grads=True))
    picture = Image.open(io.BytesIO(h.dashboard.snapshot()))
    parts = [Image.open(io.BytesIO(bytes(w.value))) for w in
             (h.dashboard.lossplot.widget, h.dashboard.boundary.widget, h.dashboard.gradplot.widget)]
    assert picture.size == (sum(p.width for p in parts), max(p.height for p in parts))
    left = np.asarray(picture.convert("RGB"))[:, :parts[0].width]
    np.testing.assert_array_equal(left, np.asarray(parts[0].convert("RGB")))


def test_pace_holds_training_to_so_many_epochs_per_second(moons, monkeypatch):
    X, y = moons
    monkeypatch.delenv("NBGRAPH_PACE", raising=False)
    start = time.monotonic()
    h = ng.fit(_model(), X[:20], y[:20], loss="hinge", epochs=20, live=_dash(pace=100))
    assert time.monotonic() - start >= 0.2 and h.epochs == 20   # 20 epochs at most 100 a second
    monkeypatch.setenv("NBGRAPH_PACE", "off")                  # what the test suite sets
    assert _dash(pace=100).pace is None


# ---------------------------------------------------------------------------
# Memory: each step's graph is freed
# ---------------------------------------------------------------------------

def test_graphs_are_freed_and_memory_stays_flat(moons):
    X, y = moons
    model = _model()
    opt = ng.optim.SGD(model, lr=0.05)
    refs = []

    def step():
        opt.zero_grad()
        loss = ng.losses.hinge(model(X), y) + ng.losses.l2_penalty(model, 1e-4)
        loss.backward()
        opt.step()
        return weakref.ref(loss)

    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for i in range(1000):
        r = step()
        if i % 100 == 0:
            refs.append(r)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert all(r() is None for r in refs), "a training step's graph outlived the step"
    growth_mb = (current - base) / 2**20
    assert growth_mb < 5, f"memory grew by {growth_mb:.1f} MB over 1000 steps"


# ---------------------------------------------------------------------------
# The Stop button in a real kernel, clicked while the cell is busy
# ---------------------------------------------------------------------------

def test_poller_is_inactive_outside_a_kernel():
    poller = KernelPoller()
    assert not poller.active and poller.poll() == 0


def test_pyproject_declares_the_ipykernel_range_the_poller_is_tested_with():
    import tomllib
    from importlib.metadata import version
    from nbgraph.kernel_poll import TESTED_IPYKERNEL
    (lo_major, lo_minor), (hi_major, hi_minor) = TESTED_IPYKERNEL
    spec = f"ipykernel>={lo_major}.{lo_minor},<{hi_major}.{hi_minor}"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert spec in extras["lab"] and spec in extras["test"]
    installed = tuple(int(p) for p in version("ipykernel").split(".")[:2])
    assert TESTED_IPYKERNEL[0] <= installed < TESTED_IPYKERNEL[1]    # the kernel test below runs it


FIT_CELL = """
import nbgraph as ng
X, y = ng.datasets.moons(100, noise=0.1, seed=0)
model = ng.nn.MLP(2, [16, 16, 1], seed=0)
h = ng.fit(model, X, y, loss="hinge", epochs=10_000_000, live=True)
print("RESULT", h.stopped_by, h.epochs, h.steps)
"""


def _wait_iopub(kc, deadline, predicate, log):
    """Read iopub until ``predicate(msg)`` is true; every message goes to ``log``."""
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.01, min(1.0, deadline - time.monotonic())))
        except queue.Empty:
            continue
        log.append(msg)
        if predicate(msg):
            return msg
    raise AssertionError("deadline passed; last iopub messages: "
                         + repr([(m["msg_type"], m["content"]) for m in log[-5:]])[:3000])


@pytest.fixture(scope="module")
def kernel():
    """A real ipykernel running this checkout of nbgraph: (manager, client),
    shared by the tests below (each runs its own cells in it)."""
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    km = jupyter_client.KernelManager(kernel_name="python3")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _is_progress(msg):
    """The dashboard's status line reports epochs: training is under way."""
    state = msg["content"].get("data", {}).get("state", {})
    return msg["msg_type"] == "comm_msg" and "epoch " in str(state.get("value", ""))


def _idle_after(msg_id):
    return lambda m: (m["msg_type"] == "status" and m["parent_header"].get("msg_id") == msg_id
                      and m["content"]["execution_state"] == "idle")


def _text_of(log, msg_id):
    """What the cell printed (stdout; Python's own "Exception ignored" notes go to stderr)."""
    return "".join(m["content"]["text"] for m in log if m["msg_type"] == "stream"
                   and m["content"].get("name") == "stdout"
                   and m["parent_header"].get("msg_id") == msg_id)


def _statuses(log):
    return [str(m["content"]["data"].get("state", {}).get("value", "")) for m in log
            if m["msg_type"] == "comm_msg"]


def test_stop_button_click_reaches_a_busy_kernel(kernel):
    km, kc = kernel
    deadline = time.monotonic() + 90
    log = []
    fit_id = kc.execute(FIT_CELL)

    # 1. the dashboard's Stop button appears (comm_open of a ButtonModel)
    def is_stop_button(msg):
        state = msg["content"].get("data", {}).get("state", {})
        return (msg["msg_type"] == "comm_open" and state.get("_model_name") == "ButtonModel"
                and state.get("tooltip") == "Stop")
    button_id = _wait_iopub(kc, deadline, is_stop_button, log)["content"]["comm_id"]

    # 2. training is under way
    _wait_iopub(kc, deadline, _is_progress, log)

    # 3. queue the next cell behind the busy one, then click Stop as a browser would
    next_id = kc.execute("print('NEXT CELL RAN')")
    click = kc.session.msg("comm_msg", {"comm_id": button_id, "data": {
        "method": "custom", "content": {"event": "click"}}})
    kc.shell_channel.send(click)

    # 4. the busy cell finishes early, stopped by the user ...
    _wait_iopub(kc, deadline, _idle_after(fit_id), log)
    # ... and the cell queued meanwhile still runs, after it
    _wait_iopub(kc, deadline, _idle_after(next_id), log)

    errors = [m["content"] for m in log if m["msg_type"] == "error"]
    assert not errors, errors
    result = _text_of(log, fit_id).split()
    assert result[:2] == ["RESULT", "user"], _text_of(log, fit_id)
    assert 1 <= int(result[2]) < 10_000_000
    assert "NEXT CELL RAN" in _text_of(log, next_id)
    assert any("stopped by user at epoch" in s for s in _statuses(log))


def test_interrupting_the_kernel_returns_the_history_marked_interrupted(kernel):
    """Kernel > Interrupt (SIGINT) while ng.fit trains: the cell ends without
    an error and ``h = ng.fit(...)`` is assigned, marked "interrupted"."""
    km, kc = kernel
    deadline = time.monotonic() + 90
    log = []
    fit_id = kc.execute(FIT_CELL)
    _wait_iopub(kc, deadline, _is_progress, log)
    # Pressed once, heard once: fit hears SIGINT itself (a KeyboardInterrupt raised
    # by Python's own handler inside a weakref callback would be lost).
    pressed = time.monotonic()
    km.interrupt_kernel()
    _wait_iopub(kc, deadline, _idle_after(fit_id), log)
    print(f"[kernel] Interrupt -> cell idle in {1e3 * (time.monotonic() - pressed):.0f} ms")
    errors = [m["content"] for m in log if m["msg_type"] == "error"]
    assert not errors, errors
    result = _text_of(log, fit_id).split()
    assert result[:2] == ["RESULT", "interrupted"], _text_of(log, fit_id)
    assert 1 <= int(result[2]) < 10_000_000
    assert any("interrupted after" in s for s in _statuses(log))
