"""ng.LossPlot and the other live plots: Pillow pictures, PNG bytes into ipywidgets.Image, throttled."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nbgraph as ng

PNG = b"\x89PNG\r\n\x1a\n"


class FakeClock:
    """A clock the test moves by hand: no sleeps, no timing flakiness."""

    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


def test_lossplot_is_an_image_widget_with_css_class():
    import ipywidgets
    plot = ng.LossPlot(clock=FakeClock())
    assert isinstance(plot.widget, ipywidgets.Image)
    assert "nbgraph-lossplot" in plot.widget._dom_classes
    assert plot.png.startswith(PNG)
    bundle = plot._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_image_bytes_change_between_redraws():
    clock = FakeClock()
    plot = ng.LossPlot(clock=clock)
    first = plot.png
    assert plot.redraws == 1                     # the empty axes, straight away
    assert plot.update(0, 1.0) is False          # too soon after that
    assert plot.png == first
    clock.t = 0.25
    assert plot.update(1, 0.5) is True
    second = plot.png
    assert second != first and second.startswith(PNG)
    clock.t = 0.5
    plot.update(2, 0.2)
    assert plot.png != second


def test_redraws_are_throttled_to_one_per_interval():
    clock = FakeClock()
    plot = ng.LossPlot(clock=clock, interval=0.2)
    for step in range(1000):                     # 1000 updates over 10 simulated seconds
        clock.t = step * 0.01
        plot.update(step, 1.0 / (step + 1))
    assert len(plot.losses) == 1000
    # one redraw per 0.2 s of simulated time (+ the first one)
    assert 48 <= plot.redraws <= 52, plot.redraws
    # the axes are rebuilt only when the limits jump (x: 20, 30, 40, 50, 60,
    # 80, 100, 150, ... 1000 as the run grows), not on every redraw
    assert plot.full_redraws <= 16, plot.full_redraws
    before = plot.redraws
    plot.close()                                 # the final state is always drawn
    assert plot.redraws == before + 1
    plot.close()                                 # nothing new: nothing to draw
    assert plot.redraws == before + 1


def test_slow_redraws_are_spaced_out_by_the_time_budget():
    clock = FakeClock()

    class SlowPlot(ng.LossPlot):
        def _draw(self, reach=None):
            clock.t += 0.1                       # pretend a redraw takes 100 ms
            super()._draw(reach)

    def run(max_wait):
        clock.t = 0.0
        plot = SlowPlot(clock=clock, interval=0.2, budget=0.05)
        plot.throttle.max_wait = max_wait
        times = []
        for step in range(1000):
            clock.t += 0.01
            if plot.update(step, 1.0):
                times.append(clock.t)
        return plot, np.diff(times)

    plot, gaps = run(max_wait=100.0)
    # 10 s of loop + 0.1 s per redraw: at most 5 % of the time spent drawing
    assert plot.redraws * 0.1 <= 0.05 * clock.t + 0.1, (plot.redraws, clock.t)
    assert plot.redraws >= 3
    # with max_wait = 1 s the picture never waits more than a second, however slow drawing is
    plot, gaps = run(max_wait=1.0)
    assert gaps.max() <= 1.0 + 0.1 + 0.011 and plot.redraws >= 8


def test_context_manager_draws_the_final_state():
    clock = FakeClock()
    with ng.LossPlot(clock=clock) as plot:
        for step in range(10):
            plot.update(step, 10.0 - step)       # the clock never moves: no redraw
        assert plot.redraws == 1
    assert plot.redraws == 2 and not plot.dirty
    assert plot.chart is None                    # closed: only the image stays
    assert plot.losses == list(10.0 - np.arange(10))
    assert plot.xlim == (0.0, 10.0)              # the nice number just beyond step 9


def test_second_series_and_log_scale():
    clock = FakeClock()
    plot = ng.LossPlot(second="val loss", log=True, clock=clock)
    for step in range(50):
        clock.t += 0.05
        plot.update(step, np.exp(-0.1 * step), second=2 * np.exp(-0.1 * step))
    plot.redraw()
    assert plot.chart.log
    lo, hi = plot.ylim
    assert lo <= np.exp(-4.9) and hi >= 2.0
    assert plot.chart.lines[1].y[-1] == pytest.approx(2 * np.exp(-4.9))
    assert plot.png.startswith(PNG)
    # a missing second value is a gap, not an error
    plot.update(50, 0.1)
    assert np.isnan(plot.seconds[-1])


def test_many_points_are_thinned_for_drawing():
    plot = ng.LossPlot(clock=FakeClock(), max_points=500)
    for step in range(5000):
        plot.record(step, 1.0)
    plot.redraw()
    assert len(plot.chart.lines[0].x) == 500
    assert len(plot.losses) == 5000


def test_thinning_keeps_every_spike():
    """100,000 points drawn as 2,000: a one-step spike (a loss that jumps for
    one epoch) and a one-step dip are still drawn, where they are."""
    plot = ng.LossPlot(clock=FakeClock(), draw_now=False)
    losses = np.full(100_000, 0.5)
    losses[31_337], losses[77_777] = 3.0, 0.01
    plot.extend(range(100_000), losses)
    plot.redraw()
    line = plot.chart.lines[0]
    assert len(line.x) <= 2000
    assert line.y.max() == 3.0 and line.x[line.y.argmax()] == 31_337
    assert line.y.min() == 0.01 and line.x[line.y.argmin()] == 77_777
    assert np.all(np.diff(line.x) >= 0)                 # in order
    assert plot.ylim[1] >= 3.0
    col, row = (int(round(v)) for v in plot.chart.pixel(31_337, 2.9))
    pixels = _pixels(plot.png)
    blue = (pixels[:, :, 2].astype(int) - pixels[:, :, 0]) > 60
    assert blue[row - 3:row + 4, col - 2:col + 3].any()   # the spike is in the picture


def test_boundary_plot_changes_with_the_model():
    from nbgraph.boundary import BoundaryPlot
    X, y = ng.datasets.moons(60, seed=0)
    w = [1.0]
    view = BoundaryPlot(X, y, lambda P: 1 / (1 + np.exp(-w[0] * (P[:, 0] - 0.5))))
    assert "nbgraph-boundary" in view.widget._dom_classes
    view.redraw()
    a = bytes(view.widget.value)
    w[0] = -1.0
    view.redraw()
    assert a.startswith(PNG) and bytes(view.widget.value) != a


def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_no_pyplot_and_lazy_imports():
    result = _run("""
        import sys
        import nbgraph as ng
        X, y = ng.datasets.moons(40)
        m = ng.nn.MLP(2, [4, 1], seed=0)
        ng.fit(m, X, y, loss="hinge", epochs=3, live=False)
        ng.optim, ng.losses
        assert "ipywidgets" not in sys.modules, "nbgraph (no live output) imported ipywidgets"
        assert "matplotlib" not in sys.modules, "nbgraph (no live output) imported matplotlib"
        plot = ng.LossPlot()
        plot.update(0, 1.0); plot.close()
        assert "matplotlib" not in sys.modules, "LossPlot imported matplotlib"
        m = ng.nn.MLP(2, [4, 1], seed=0)
        ng.fit(m, X, y, loss="hinge", epochs=3, live=ng.Dashboard(grads=True, display=print))
        assert "matplotlib" not in sys.modules, "the dashboard imported matplotlib"
        print("ok")
    """)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr


# ---------------------------------------------------------------------------
# What the images show
# ---------------------------------------------------------------------------

def _pixels(png):
    import io
    from PIL import Image
    image = Image.open(io.BytesIO(png))
    image.load()
    return np.asarray(image.convert("RGB"))


def test_png_holds_exactly_the_canvas_pixels():
    plot = ng.LossPlot(clock=FakeClock(), xmax=100)
    for step in range(50):
        plot.record(step, 1.0 / (step + 1))
    plot.redraw()
    pixels = _pixels(plot.png)
    assert pixels.shape == (224, 400, 3)
    np.testing.assert_array_equal(pixels, np.asarray(plot.chart.image))


@pytest.mark.parametrize("log", [False, True])
def test_lines_are_drawn_where_their_values_are(log):
    """The chart places lines itself: a flat line at 0.3 crosses the plot
    area at the height 0.3 has between the y limits (log10 of them on a log
    scale), from the left of the area to its x."""
    plot = ng.LossPlot(clock=FakeClock(), xmax=100, log=log, draw_now=False)
    for step in range(1, 61):
        plot.record(step, 0.3 if step > 1 else 0.9)
    plot.redraw()
    left, top, right, bottom = plot.chart.area
    (xlo, xhi), (ylo, yhi) = plot.xlim, plot.ylim
    f = (lambda v: np.log10(v)) if log else (lambda v: v)
    row = int(round(bottom - (f(0.3) - f(ylo)) / (f(yhi) - f(ylo)) * (bottom - top)))
    assert abs(plot.chart.pixel(30, 0.3)[1] - row) < 1
    pixels = _pixels(plot.png)
    blue = (pixels[:, :, 2].astype(int) - pixels[:, :, 0]) > 60     # C0, the loss line
    at_30 = int(round(left + (30 - xlo) / (xhi - xlo) * (right - left)))
    at_80 = int(round(left + (80 - xlo) / (xhi - xlo) * (right - left)))
    assert blue[row - 2:row + 3, at_30].any()                  # the line is there ...
    assert not blue[row - 2:row + 3, at_80].any()              # ... and ends at step 60
    assert not blue[:row - 4, at_30].any() and not blue[row + 4:, at_30].any()


@pytest.mark.parametrize("epochs", [20_000, 400_000])
def test_every_tick_label_lies_inside_the_image(epochs):
    """The last x tick label ("20000", "400000") used to be cut at the right
    edge. Each label's box is measured in the font it is drawn in; the
    pixels show the text is drawn there, and nothing at the image's edges."""
    plot = ng.LossPlot(clock=FakeClock(), xlabel="epoch", draw_now=False)
    for step in np.linspace(1, epochs, 3000):
        plot.record(step, 1.0 / step ** 0.3)
    plot.redraw()
    chart = plot.chart
    width, height = chart.size
    x1 = plot.xlim[1]
    left, _, _, bottom = chart.area
    # the labels drawn: below the plot area (x) and left of it (y)
    xlabels = [t for t in chart.tick_labels if t.y > bottom]
    ylabels = [t for t in chart.tick_labels if t.x < left]
    assert len(xlabels) >= 3 and len(ylabels) >= 2
    assert xlabels[-1].text == f"{x1:g}"          # the whole last label
    assert [t.text for t in chart.axis_labels] == ["epoch", "loss"]
    pixels = _pixels(plot.png)
    dark = pixels.min(axis=2) < 128
    for text in xlabels + ylabels + chart.axis_labels:
        x0, y0, x1_, y1 = text.box
        assert x0 >= 0 and y0 >= 0 and x1_ <= width and y1 <= height, (text, text.box)
        inside = dark[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1_))]
        assert inside.sum() >= 3 * len(text.text), (text, "not drawn where measured")
    # nothing dark in the last columns of the image
    assert pixels[:, -2:].min() > 200


def test_the_x_axis_grows_with_the_run():
    plot = ng.LossPlot(clock=FakeClock(), draw_now=False)
    seen = []
    for step in range(1, 2001):
        plot.record(step, 1.0 / step)
        if step in (7, 90, 1001, 2000):
            plot.redraw()
            seen.append(plot.xlim[1])
    assert seen == [8.0, 100.0, 1500.0, 2000.0]
    assert plot.full_redraws == 4


def _filled(plot, n, scale=1.0):
    for step in range(1, n + 1):
        plot.record(step, scale / step)
    plot.redraw()
    return plot


def test_the_x_axis_can_reach_ahead_of_the_run():
    """A dashboard asks the axis to reach where a fast run will be soon, so
    the axes need not be drawn again at every redraw."""
    plot = _filled(ng.LossPlot(clock=FakeClock(), draw_now=False), 500)
    plot.redraw(reach=1900)
    assert plot.xlim == (0.0, 2000.0) and plot.full_redraws == 2
    for step in range(501, 2001):
        plot.record(step, 1.0 / step)
    plot.redraw()                           # the run got there: no new axes
    assert plot.xlim == (0.0, 2000.0) and plot.full_redraws == 2


def test_gradient_plot_one_line_per_parameter_on_a_log_scale():
    from nbgraph.gradplot import GradPlot
    plot = GradPlot(["layers.0.W", "layers.0.b", "layers.1.W"])
    for epoch in range(1, 31):
        plot.record(epoch, [1e-6 / epoch, 0.0, 1.0])     # a vanishing, a zero, a steady one
    plot.redraw()
    chart = plot.chart
    assert chart.log
    assert [line.label for line in chart.lines] == plot.names
    assert np.isnan(chart.lines[1].y).all()  # 0 has no place on a log scale
    lo, hi = chart.drawn_limits[1]
    assert lo <= 1e-6 / 30 and hi >= 1.0
    assert [t.text for t in chart.legend] == plot.names
    width, _ = chart.size
    for label in chart.legend:      # beside the plot area, inside the image
        assert chart.area[2] < label.box[0] and label.box[2] <= width, label.box
    assert bytes(plot.widget.value).startswith(PNG)


def test_a_deep_model_s_legend_fits_and_counts_the_rest():
    """40 long parameter names: the legend takes the columns that fit, cut
    names to their ends, counts the others; the plot keeps its room."""
    from nbgraph.gradplot import GradPlot
    names = [f"encoder.layers.{i}.attention.W" for i in range(40)]
    plot = GradPlot(names)
    for epoch in range(1, 20):
        plot.record(epoch, [1e-3 * (i + 1) / epoch for i in range(40)])
    plot.redraw()
    chart = plot.chart
    width, height = chart.size
    texts = [t.text for t in chart.legend]
    assert texts[0] == "…layers.0.attention.W" and texts[-1] == f"+{40 - len(texts) + 1} more"
    for label in chart.legend:
        x0, y0, x1, y1 = label.box
        assert x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height, label
    left, top, right, bottom = chart.area
    assert right - left >= 0.3 * width and bottom - top >= 0.3 * height


def test_a_title_too_long_for_the_picture_is_cut():
    plot = ng.LossPlot(title="a <b>title</b> " * 10, clock=FakeClock())
    title = plot.chart.title
    assert title.text.endswith("…") and title.text.startswith("a <b>title</b>")
    x0, _, x1, _ = title.box
    assert x0 >= 0 and x1 <= plot.chart.size[0]


def test_boundary_regions_points_and_frame():
    from nbgraph.boundary import BoundaryPlot
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    view = BoundaryPlot(X, np.array([0, 1]), lambda P: (P[:, 0] > 0.5).astype(float))
    view.redraw()
    pixels = _pixels(bytes(view.widget.value)).astype(int)
    assert pixels.shape == (224, 256, 3)
    # left half tinted red (class 0), right half blue (class 1), over white
    left, right = pixels[120, 40], pixels[120, 215]
    assert left[0] > left[2] + 30 and right[2] > right[0] + 30
    assert left.min() > 120 and right.min() > 120          # tints, not full colours
    # the points: dark red at the bottom left, dark blue at the top right
    (c0, r0), (c1, r1) = np.round(view.point_pixels).astype(int)
    assert r0 > r1 and c0 < c1
    assert pixels[r0, c0][0] > 80 and pixels[r0, c0][2] < 60
    assert pixels[r1, c1][2] > 60 and pixels[r1, c1][0] < 40
    # a dark frame around the area
    x0, top, x1, bottom = view.area
    assert pixels[120, x0].max() < 60 and pixels[120, x1].max() < 60
    assert pixels[top, 100].max() < 60 and pixels[bottom, 100].max() < 60
    assert pixels[120, x0 - 1].min() == 255 and pixels[120, x1 + 1].min() == 255


def test_boundary_of_a_diverged_model_is_blank_not_an_error():
    import warnings
    from nbgraph.boundary import BoundaryPlot
    X, y = ng.datasets.moons(60, seed=0)
    view = BoundaryPlot(X, y, lambda P: np.where(P[:, 0] > 0.5, np.nan, 0.2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view.redraw()
    pixels = _pixels(bytes(view.widget.value)).astype(int)
    assert pixels[120, 240].min() == 255 and pixels[120, 20][0] > pixels[120, 20][2]
