"""Real-browser test harness: Jupyter servers + Debian Chromium driven by Playwright.

Two frontends are served the same way: JupyterLab (``python -m jupyterlab``)
and Jupyter Notebook 7 (``python -m notebook``, the ``notebook`` package >= 7,
which is built from JupyterLab components). :class:`JupyterApp` holds what
differs between them (module, command-line options, document URL); everything
else -- start, readiness, page helpers, stop -- is shared.

Fixtures
--------
``chromium_executable`` (session)
    Path of Debian's Chromium. Missing -> the test is skipped with a loud
    reason, or fails when ``CI`` is set in the environment.
``jupyter_lab`` / ``jupyter_notebook7`` (session)
    A server on 127.0.0.1 (port chosen by the OS) with a random token,
    serving a *temporary copy* of ``notebooks/`` so tests never touch
    committed notebooks. Config, runtime and data dirs are temporary too; the
    kernel is the ``python3`` kernelspec, which resolves to the interpreter
    running pytest (see ``JupyterServer.python``). Stopped by its own pid and
    process group in a ``finally`` whatever happens. Each starts only when a
    test asks for it; Notebook 7 missing -> skip, or failure when ``CI`` is set.
``browser`` (session)
    Chromium launched through Playwright's sync API.
``lab`` / ``notebook7`` (function)
    A fresh browser context + page on that server wrapped in
    :class:`JupyterPage`, whose helpers open notebooks, run all cells, wait
    for the kernel, take screenshots into ``artifacts/browser/<test>/`` and
    collect console errors and tracebacks. Both frontends expose the app as
    ``window.jupyterapp`` (``expose_app_in_browser``), so the helpers drive
    both through the same shell and command registry.

Synchronisation is always "poll a condition until a deadline" (Playwright's
``wait_for_*`` / ``expect`` or a bounded loop), never a bare sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
ARTIFACTS_DIR = REPO_ROOT / "artifacts" / "browser"

CHROMIUM = os.environ.get("NBGRAPH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 15
DEFAULT_TIMEOUT_MS = 30_000  # Playwright actions and expectations
VIEWPORT = {"width": 1400, "height": 1000}

# Console errors that are noise, matched narrowly on (text, url) pairs.
# Chromium logs every failed request as "Failed to load resource: ... 404";
# only the favicon is expected to be absent.
IGNORED_CONSOLE_ERRORS = [
    (re.compile(r"^Failed to load resource: the server responded with a status of 404"),
     re.compile(r"/favicon\.ico(\?.*)?$")),
]

# JupyterLab user settings for the temporary config dir: no news/update
# toasts over the screenshots, and no cell virtualisation, so outputs of
# cells scrolled out of view stay in the DOM.
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab / Notebook 7 in a real Chromium (tests/browser)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so fixtures can see failures.
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


# --------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        reason = (
            f"!!! BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install Debian's "
            "chromium (`make test` does it when run as root: apt-get install "
            "chromium fonts-dejavu-core)."
        )
        if os.environ.get("CI"):
            pytest.fail(reason + " CI is set, so this is a failure, not a skip.")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


# --------------------------------------------------------------------------
# Jupyter servers: JupyterLab and Notebook 7
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class JupyterApp:
    """What differs between the frontends we serve."""

    label: str                 # for messages and the log file name
    module: str                # started as `python -m <module>`
    args: tuple[str, ...]      # app-specific command-line options
    # URL path (below the server URL, before "?token=") opening a notebook;
    # {path} is URL-quoted, {workspace} a fresh name per call.
    document_path: str
    # Known console errors of this frontend itself, (text, url) pairs as in
    # IGNORED_CONSOLE_ERRORS; for an uncaught error the "url" is its stack top.
    ignored_console_errors: tuple = ()


JUPYTERLAB = JupyterApp(
    label="jupyterlab",
    module="jupyterlab",
    args=(
        "--LabApp.expose_app_in_browser=True",   # window.jupyterapp
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ),
    # A fresh workspace: tabs opened by earlier tests are not restored (they
    # would start kernels and steal focus).
    document_path="lab/workspaces/{workspace}/tree/{path}",
)

NOTEBOOK7 = JupyterApp(
    label="notebook7",
    module="notebook",
    args=(
        # window.jupyterapp, read by Notebook 7's main.js from the page config
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ),
    # One document per page: there is no layout to restore.
    document_path="notebooks/{path}",
    ignored_console_errors=(
        # Notebook 7.6.5 bug, on every page (/tree too, any notebook): its
        # shortcuts plugin handles settingRegistry.pluginChanged for
        # "@jupyterlab/docmanager-extension:plugin" before that plugin is in
        # registry.plugins and reads .schema of undefined (uncaught, async).
        # Matched on the exact message thrown from Notebook's own core bundle.
        (re.compile(r"^Cannot read properties of undefined \(reading 'schema'\)$"),
         re.compile(r"^at [^ ]*/static/notebook/notebook_core\.[0-9a-f]+\.js")),
    ),
)


@dataclass
class JupyterServer:
    app: JupyterApp
    url: str           # e.g. http://127.0.0.1:40123/
    token: str
    root_dir: Path     # temporary copy of notebooks/, served as the root
    log_path: Path
    pid: int
    python: str = sys.executable  # interpreter of server and kernel

    def notebook_url(self, path: str) -> str:
        """URL opening the notebook ``path`` (relative to the root) in this frontend."""
        rel = self.app.document_path.format(
            path=urllib.parse.quote(path), workspace=f"test-{uuid.uuid4().hex[:12]}")
        return f"{self.url}{rel}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0):
        req = urllib.request.Request(
            f"{self.url}api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    @property
    def data_dir(self) -> Path:
        """The server's JUPYTER_DATA_DIR (where `jupyter trust` keeps its signatures)."""
        return self.root_dir.parent / "data"

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def _processes_with_env(marker: str) -> list[int]:
    """Pids of live processes whose environment carries our run marker."""
    needle = marker.encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _stop_server(proc: subprocess.Popen, server: JupyterServer | None, marker: str) -> None:
    """Stop the server (and its kernels) by pid, escalating politely."""
    if proc.poll() is None and server is not None:
        # Ask nicely first: the server then shuts its kernels down itself.
        with contextlib.suppress(Exception):
            server.api("shutdown", method="POST")
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # its own process group (start_new_session)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # Kernels run in sessions of their own; anything left that carries our
    # marker was started by this server: end it by pid.
    for pid in _processes_with_env(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _serve(app: JupyterApp, tmp_path_factory):
    """Generator behind the server fixtures: start ``app``, yield it, stop it."""
    base = tmp_path_factory.mktemp(app.label)
    root = base / "notebooks"
    if NOTEBOOKS_DIR.is_dir():
        shutil.copytree(NOTEBOOKS_DIR, root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    else:
        root.mkdir()
    config_dir, runtime_dir, data_dir = (base / d for d in ("config", "runtime", "data"))
    for d in (config_dir, runtime_dir, data_dir):
        d.mkdir()
    # Notebook 7 reads the same user-settings dir (<config>/lab/user-settings).
    for rel, settings in LAB_USER_SETTINGS.items():
        _write_json(config_dir / "lab" / "user-settings" / rel, settings)

    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS_DIR / f"{app.label}-server.log"
    token = secrets.token_hex(24)
    marker = f"NBGRAPH_BROWSER_TEST_RUN={uuid.uuid4().hex}"

    env = {k: v for k, v in os.environ.items()
           if k not in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN",
                        "JUPYTER_PLATFORM_DIRS")}
    env.update({
        # Isolate from ~/.jupyter and ~/.local/share/jupyter: user settings,
        # workspaces, runtime files and user kernelspecs live in temp dirs.
        # Lab extensions (ipywidgets' manager) and the python3 kernelspec come
        # from sys.prefix/share/jupyter, which stays on the path.
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "JUPYTER_DATA_DIR": str(data_dir),
        "JUPYTER_PREFER_ENV_PATH": "1",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
        marker.split("=")[0]: marker.split("=")[1],
    })
    cmd = [
        sys.executable, "-m", app.module,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",            # the OS picks a free port: no race
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        *app.args,
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")

    server: JupyterServer | None = None
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=base, start_new_session=True,
                                stdin=subprocess.DEVNULL)
        try:
            server = _wait_for_server(app, proc, runtime_dir, token, root, log_path)
            print(f"\n[browser] {app.label} {server.url} (pid {proc.pid}), "
                  f"root {root}, log {log_path}")
            yield server
        finally:
            _stop_server(proc, server, marker)


@pytest.fixture(scope="session")
def jupyter_lab(chromium_executable, tmp_path_factory) -> JupyterServer:
    yield from _serve(JUPYTERLAB, tmp_path_factory)


def _require_notebook7() -> None:
    """Skip (fail under CI) unless the `notebook` package >= 7 is importable."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("notebook")
    except PackageNotFoundError:
        found = None
    if found is not None and int(found.split(".")[0]) >= 7:
        return
    reason = (f"!!! NOTEBOOK 7 TESTS NOT RUN: the `notebook` package >= 7 is "
              f"{'missing' if found is None else f'at {found}'} in {sys.prefix}. "
              "Install the test extra: pip install -e '.[test]'.")
    if os.environ.get("CI"):
        pytest.fail(reason + " CI is set, so this is a failure, not a skip.")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def jupyter_notebook7(chromium_executable, tmp_path_factory) -> JupyterServer:
    _require_notebook7()
    yield from _serve(NOTEBOOK7, tmp_path_factory)


def _wait_for_server(app: JupyterApp, proc, runtime_dir: Path, token: str, root: Path,
                     log_path: Path) -> JupyterServer:
    """Poll the server's info file, then /api/status, until a deadline."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    info_file = runtime_dir / f"jpserver-{proc.pid}.json"
    server = None
    last_error = "no server info file yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if server is None and info_file.exists():
            with contextlib.suppress(ValueError, OSError):
                info = json.loads(info_file.read_text())
                server = JupyterServer(app=app, url=info["url"], token=token,
                                       root_dir=root, log_path=log_path, pid=proc.pid)
        if server is not None:
            try:
                status = server.api("status", timeout=2)
                if isinstance(status, dict) and "started" in status:
                    return server
                last_error = f"unexpected /api/status: {status!r}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last_error = repr(exc)
        # Poll interval that also notices the process dying.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.25)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
    state = (f"exited with {proc.returncode}" if proc.poll() is not None
             else f"not ready after {SERVER_START_TIMEOUT_S}s ({last_error})")
    raise RuntimeError(f"{app.label} server {state}; log tail:\n{tail}")


# --------------------------------------------------------------------------
# Page helpers
# --------------------------------------------------------------------------

# JavaScript run in the page. `window.jupyterapp` is exposed by the
# expose_app_in_browser option of either app (see JUPYTERLAB / NOTEBOOK7). In
# Notebook 7 the shell's currentWidget is the page's one NotebookPanel, and
# "notebook:run-all-cells" is the same JupyterLab command.
_JS_CURRENT_NOTEBOOK = """
() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  return w && w.sessionContext && w.content && w.content.widgets ? w : null;
}
"""

_JS_KERNEL_STATUS = f"""
() => {{
  const nb = ({_JS_CURRENT_NOTEBOOK})();
  const kernel = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
  return kernel ? kernel.status : null;
}}
"""

_JS_START_RUN_ALL = f"""
async (path) => {{
  const nb = ({_JS_CURRENT_NOTEBOOK})();
  if (!nb) throw new Error("no current notebook");
  if (nb.context.path !== path)
    throw new Error(`current notebook is ${{nb.context.path}}, expected ${{path}}`);
  window.jupyterapp.shell.activateById(nb.id);
  const state = {{done: false, ok: null, error: null}};
  window.__nbgRunAll = state;
  // The command's promise settles once every queued cell has replied.
  window.jupyterapp.commands.execute("notebook:run-all-cells")
    .then(ok => {{ state.ok = ok; state.done = true; }})
    .catch(err => {{ state.error = String(err); state.done = true; }});
  return true;
}}
"""

# Measure click -> DOM update: t0 is taken in a capturing click listener
# (when the browser dispatches the click, excluding Playwright's own
# overhead), t1 in a MutationObserver callback once the target's
# innerHTML differs from what it was before the click.
_JS_ARM_LATENCY = """
([buttonSel, targetSel, timeoutMs]) => {
  const btn = document.querySelector(buttonSel);
  const target = document.querySelector(targetSel);
  if (!btn || !target) throw new Error(`missing ${btn ? targetSel : buttonSel}`);
  const before = target.innerHTML;
  window.__nbgLatency = new Promise((resolve) => {
    let t0 = null;
    const timer = setTimeout(() => { obs.disconnect(); resolve(null); }, timeoutMs);
    btn.addEventListener("click", () => { t0 = performance.now(); },
                         {capture: true, once: true});
    const obs = new MutationObserver(() => {
      if (t0 !== null && target.innerHTML !== before) {
        const dt = performance.now() - t0;
        obs.disconnect(); clearTimeout(timer); resolve(dt);
      }
    });
    obs.observe(target, {subtree: true, childList: true, characterData: true,
                         attributes: true});
  });
  return true;
}
"""

_TRACEBACK_RE = re.compile(
    r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b.*$", re.M)


@dataclass
class JupyterPage:
    """A Playwright page on the test's Jupyter server, with notebook helpers."""

    page: object                      # playwright.sync_api.Page
    server: JupyterServer
    shots_dir: Path
    console: list = field(default_factory=list)   # (type, text, url)
    notebook_path: str | None = None              # set by open_notebook
    _shot_no: int = 0

    # ---- navigation -----------------------------------------------------

    def open_notebook(self, name: str, timeout_ms: int = 60_000) -> None:
        """Open ``name`` (relative to the server root) and wait for an idle kernel.

        In JupyterLab each call uses a fresh workspace (see ``JUPYTERLAB``).
        """
        if not (self.server.root_dir / name).exists():
            raise FileNotFoundError(
                f"{name} is not in the served copy of notebooks/ ({self.server.root_dir})")
        self.page.goto(self.server.notebook_url(name), wait_until="domcontentloaded")
        self.page.wait_for_function(
            f"(path) => {{ const nb = ({_JS_CURRENT_NOTEBOOK})();"
            " return nb !== null && nb.context.path === path; }",
            arg=name, timeout=timeout_ms)
        self.notebook_path = name
        self.page.locator(".jp-NotebookPanel:visible .jp-Notebook").first.wait_for(
            timeout=timeout_ms)
        self.wait_kernel_idle(timeout_ms)

    def wait_kernel_idle(self, timeout_ms: int = 60_000) -> None:
        """Wait until the current notebook's kernel reports 'idle'.

        Accepts the "Select Kernel" dialog (default choice) if a
        notebook without kernel metadata brings it up.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        dialog_accept = self.page.locator(".jp-Dialog .jp-mod-accept")
        while True:
            if dialog_accept.count():
                dialog_accept.first.click()
            status = self.page.evaluate(_JS_KERNEL_STATUS)
            if status == "idle":
                return
            if time.monotonic() > deadline:
                self.screenshot("kernel-not-idle")
                raise TimeoutError(f"kernel not idle after {timeout_ms} ms (status {status!r})")
            self.page.wait_for_timeout(100)  # poll interval of a bounded loop

    # ---- execution ------------------------------------------------------

    def start_run_all(self) -> None:
        """Start "Run All Cells" on the current notebook; does not wait."""
        self.page.evaluate(_JS_START_RUN_ALL, self.notebook_path)

    def wait_run_all_done(self, timeout_ms: int = 60_000) -> bool:
        """Wait until Run All finished and no prompt shows [*]; True if all cells succeeded."""
        self.page.wait_for_function(
            "() => window.__nbgRunAll && window.__nbgRunAll.done", timeout=timeout_ms)
        self.page.wait_for_function(
            """() => ![...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]
                     .some(p => p.textContent.includes('*'))""",
            timeout=timeout_ms)
        state = self.page.evaluate("() => window.__nbgRunAll")
        self.wait_kernel_idle(timeout_ms)
        if state.get("error"):
            raise RuntimeError(f"run-all-cells failed: {state['error']}")
        return bool(state.get("ok"))

    def run_all(self, timeout_ms: int = 60_000) -> bool:
        self.start_run_all()
        return self.wait_run_all_done(timeout_ms)

    def cell_running(self, locator) -> bool:
        """Is the cell (a .jp-Cell locator) executing, i.e. its prompt shows [*]?"""
        return "*" in (locator.locator(".jp-InputPrompt").first.text_content() or "")

    # ---- observation ----------------------------------------------------

    def screenshot(self, label: str, full_page: bool = False) -> Path:
        self._shot_no += 1
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")
        path = self.shots_dir / f"{self._shot_no:02d}-{safe}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"[browser] screenshot {path}")
        return path

    def stderr_outputs(self) -> list[str]:
        return self.page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_text_contents()

    def tracebacks(self) -> list[str]:
        """Text of outputs that look like Python errors (stderr or plain text)."""
        found = [t for t in self.stderr_outputs() if _TRACEBACK_RE.search(t)]
        for text in self.page.locator(".jp-OutputArea-output").all_text_contents():
            if "Traceback (most recent call last)" in text and text not in found:
                found.append(text)
        return found

    def console_errors(self) -> list[str]:
        errors = []
        ignored = IGNORED_CONSOLE_ERRORS + list(self.server.app.ignored_console_errors)
        for kind, text, url in self.console:
            if kind not in ("error", "pageerror"):
                continue
            if any(t.search(text) and u.search(url or "") for t, u in ignored):
                continue
            errors.append(f"{kind}: {text} ({url})" if url else f"{kind}: {text}")
        return errors

    def assert_clean(self) -> None:
        """No Python tracebacks in outputs and no (non-ignored) console errors."""
        tbs = self.tracebacks()
        assert not tbs, "tracebacks in notebook outputs:\n" + "\n---\n".join(tbs)
        errs = self.console_errors()
        assert not errs, "browser console errors:\n" + "\n".join(errs)

    def click_and_measure(self, button_selector: str, target_selector: str,
                          timeout_ms: int = 10_000) -> float:
        """Click ``button_selector``; return ms until ``target_selector``'s HTML changes."""
        self.page.evaluate(_JS_ARM_LATENCY, [button_selector, target_selector, timeout_ms])
        self.page.locator(button_selector).click()
        dt = self.page.evaluate("() => window.__nbgLatency")
        if dt is None:
            raise TimeoutError(
                f"{target_selector} did not change within {timeout_ms} ms "
                f"after clicking {button_selector}")
        return float(dt)


def _test_dir_name(nodeid: str) -> str:
    name = nodeid.split("::", 1)[-1] if "::" in nodeid else nodeid
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def _stack_top(stack: str | None, frames: int = 3) -> str:
    """The first frames of an uncaught error's JS stack: where it was thrown."""
    lines = [ln.strip() for ln in (stack or "").splitlines() if ln.strip().startswith("at ")]
    return " <- ".join(lines[:frames])


def _page_on(server: JupyterServer, request, browser):
    """Generator behind the page fixtures: a fresh context + page on ``server``."""
    shots_dir = ARTIFACTS_DIR / _test_dir_name(request.node.nodeid)
    if shots_dir.exists():
        shutil.rmtree(shots_dir)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        helper = JupyterPage(page=page, server=server, shots_dir=shots_dir)
        page.on("console", lambda m: helper.console.append(
            (m.type, m.text, (m.location or {}).get("url", ""))))
        page.on("pageerror", lambda e: helper.console.append(
            ("pageerror", str(e), _stack_top(getattr(e, "stack", None)))))
        print(f"\n[browser] screenshots for {request.node.name} "
              f"({server.app.label}): {shots_dir}")
        yield helper
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            with contextlib.suppress(Exception):
                helper.screenshot("failure", full_page=True)
            print("[browser] console:\n" + "\n".join(map(str, helper.console[-30:])))
            print("[browser] server log tail:\n" + server.log_tail())
    finally:
        context.close()
        _shutdown_sessions(server)


@pytest.fixture
def lab(request, browser, jupyter_lab):
    """A page on the JupyterLab server."""
    yield from _page_on(jupyter_lab, request, browser)


@pytest.fixture
def notebook7(request, browser, jupyter_notebook7):
    """A page on the Notebook 7 server."""
    yield from _page_on(jupyter_notebook7, request, browser)


def _shutdown_sessions(server: JupyterServer) -> None:
    """Shut down the kernels this test started, so tests don't share state or CPU."""
    with contextlib.suppress(Exception):
        for session in server.api("sessions") or []:
            with contextlib.suppress(Exception):
                server.api(f"sessions/{session['id']}", method="DELETE", timeout=15)


@pytest.fixture(scope="session")
def dejavu_browser(browser, tmp_path_factory):
    """Chromium that sees only the DejaVu fonts (wider than Helvetica and Arial): a
    fontconfig of its own lists just that folder, whatever the machine has installed.
    Launched through ``browser``'s Playwright (one sync Playwright per session)."""
    folder = "/usr/share/fonts/truetype/dejavu"
    if not os.path.isdir(folder):
        pytest.fail(f"the DejaVu fonts are needed at {folder} (Debian: apt-get install fonts-dejavu-core)")
    conf_dir = tmp_path_factory.mktemp("fontconfig")
    conf = conf_dir / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
                    f"  <dir>{folder}</dir>\n  <cachedir>{conf_dir / 'cache'}</cachedir>\n"
                    # the usual aliases (Helvetica -> sans-serif -> DejaVu Sans), no other folders
                    '  <include ignore_missing="yes">/etc/fonts/conf.d</include>\n</fontconfig>\n')
    env = dict(os.environ, FONTCONFIG_FILE=str(conf))
    b = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=env)
    try:
        yield b
    finally:
        b.close()
