"""End-to-end proof of the browser harness on throwaway notebooks.

kernel -> widget -> browser -> click -> kernel -> widget update, in a real
Chromium against a real JupyterLab. The notebooks are generated at test time
in the server's temporary root, never committed.
"""

from __future__ import annotations

import statistics
import sys

from playwright.sync_api import expect

from stepper_pages import write_notebook

BUTTON = 'button[title="Click me"]'
PROBE = ".probe"
CLICKS = 5

PROBE_CELL = """\
import ipywidgets as widgets
from IPython.display import display

clicks = 0
button = widgets.Button(description="Click", tooltip="Click me")
probe = widgets.HTML(value="clicks: 0")
probe.add_class("probe")

def on_click(_):
    global clicks
    clicks += 1
    probe.value = f"clicks: {clicks}"

button.on_click(on_click)
display(widgets.VBox([button, probe]))
"""


def test_widget_click_round_trip(lab):
    name = write_notebook(
        lab.server.root_dir, "_harness_probe.ipynb",
        "import sys\nprint('KERNEL_PREFIX=' + sys.prefix)",
        PROBE_CELL,
    )
    lab.open_notebook(name)
    assert lab.run_all(), "Run All reported a failing cell"

    page = lab.page
    expect(page.locator(BUTTON)).to_be_visible()
    expect(page.locator(PROBE)).to_have_text("clicks: 0")
    lab.screenshot("rendered")

    # The kernel the lab started is the interpreter running these tests.
    prefix_out = page.locator(".jp-OutputArea-output", has_text="KERNEL_PREFIX=").first.text_content()
    assert prefix_out.strip() == "KERNEL_PREFIX=" + sys.prefix

    latencies = []
    for n in range(1, CLICKS + 1):
        latencies.append(lab.click_and_measure(BUTTON, PROBE))
        expect(page.locator(PROBE)).to_have_text(f"clicks: {n}")
    lab.screenshot(f"after-{CLICKS}-clicks")

    median = statistics.median(latencies)
    print(f"[browser] click->update latency over {CLICKS} clicks: median {median:.1f} ms, "
          f"all {[round(x, 1) for x in latencies]}")
    assert median < 2000, "widget round trip is far too slow; is the kernel stuck?"
    lab.assert_clean()


def test_harness_reports_tracebacks(lab):
    """The traceback collector must not be vacuous: a raising cell is seen."""
    name = write_notebook(
        lab.server.root_dir, "_harness_error.ipynb",
        "print('before')",
        "raise ValueError('deliberate failure for the harness')",
    )
    lab.open_notebook(name)
    assert lab.run_all() is False, "Run All should report the failing cell"
    expect(lab.page.locator(".jp-OutputArea-output", has_text="deliberate failure").first).to_be_visible()
    tbs = lab.tracebacks()
    assert len(tbs) == 1 and "ValueError" in tbs[0], tbs
    assert lab.console_errors() == []
