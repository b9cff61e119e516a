"""What the test suite sets for the lessons it runs with nbval.

``NBGRAPH_PACE=off``: an ``ng.Dashboard(pace=...)`` trains at full speed
(lesson 3 paces its training so a class can watch the curve fall; the
numbers it prints are the same either way, and lesson 3 says so). It is set
only while nbval starts a lesson's kernel, so the browser tests, which run
the lessons in JupyterLab as a class would, keep the pace.
"""

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    if item.path.suffix != ".ipynb":      # nbval's cells; their kernel starts in this setup
        yield
        return
    before = os.environ.get("NBGRAPH_PACE")
    os.environ["NBGRAPH_PACE"] = "off"
    try:
        yield
    finally:
        if before is None:
            del os.environ["NBGRAPH_PACE"]
        else:
            os.environ["NBGRAPH_PACE"] = before
