"""Screenshots of the MLflow UI for the README, taken with headless Chromium.

Called by ``docs/screenshots.sh``, which starts ``mlflow ui`` on a loopback port first::

    .venv/bin/python docs/screenshots.py --url http://127.0.0.1:5123 --out docs/img

It finds the ids it needs through MLflow's REST API (experiment ``arnews-classifier``, the newest
sweep parent run, tagged ``arnews_ml.sweep_parent=true``, its child runs, a finished child) and
drives Chromium through the DevTools protocol over ``--remote-debugging-pipe`` (file descriptors
3 and 4, NUL-separated JSON: no websocket library needed). A plain ``chromium --screenshot``
cannot click, and the runs table only shows a sweep's children once the parent row is expanded;
the pipe also lets each shot wait until the page has really rendered instead of guessing a
virtual-time budget. Standard library only, plus Pillow (installed with matplotlib) to keep
every PNG small.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SWEEP_PARENT_TAG = "arnews_ml.sweep_parent"
BEST_RUN_TAG = "arnews_ml.best_run_id"
PARENT_RUN_TAG = "mlflow.parentRunId"
PLOTS = ("label_confusion.png", "precision_recall.png")
COMPARE_METRICS = ["val_f1_macro", "test_f1_macro"]
MAX_BYTES = 400_000

# Set before the UI's scripts run, on every page: the classic "Model training" sidebar, and the
# MLflow Assistant side panel closed (it opens itself on a first visit from localhost).
UI_PREFERENCES = {
    "mlflow.workflowType_v1": "machine_learning",
    "mlflow.assistant.panelOpen_v1": False,
    "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": True,
}

# Runs in every new document before the UI's scripts: saves UI_PREFERENCES in localStorage and
# hides the floating Assistant button (bottom right).
INIT_JS = """try {
  for (const [k, v] of Object.entries(PREFERENCES)) localStorage.setItem(k, v);
} catch (e) {}
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '[data-assistant-ui] { display: none !important; }';
  document.head.appendChild(style);
});"""

# True while the UI still shows a spinner, a skeleton or a loading placeholder.
LOADING_JS = """(() => {
  const sel = '[role=progressbar], [aria-busy=true], [class*=skeleton i], [class*=spinner i],'
    + ' [class*=spin-dot], [data-testid*=loading i], [class*=loading-overlay i]';
  const visible = [...document.querySelectorAll(sel)].filter(el => el.getClientRects().length);
  const text = document.body ? document.body.innerText : '';
  return visible.length > 0 || /^\\s*Loading\\b/m.test(text);
})()"""


def log(message: str) -> None:
    """Prints a progress line on stderr."""
    print(f"screenshots: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# MLflow REST API
# --------------------------------------------------------------------------------------------


class Mlflow:
    """The few MLflow REST calls the shots need.

    Args:
        url: The tracking server, e.g. ``http://127.0.0.1:5123``.
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/api/2.0/mlflow/{path}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return {}
            detail = err.read()[:300].decode(errors="replace")
            raise SystemExit(f"screenshots: MLflow API {path} failed: {err} {detail}") from None
        except (urllib.error.URLError, OSError) as err:
            raise SystemExit(f"screenshots: no MLflow server at {self.url}: {err}") from None

    def experiment_id(self, name: str) -> str:
        """The id of the experiment called ``name``; exits with a message when it is missing."""
        query = urllib.parse.urlencode({"experiment_name": name})
        found = self._call(f"experiments/get-by-name?{query}").get("experiment")
        if not found:
            raise SystemExit(
                f"screenshots: no experiment {name!r} in this store; train something first "
                "(`.venv/bin/arnews-train -m classifier=svm,logreg,sgd`) or use --build"
            )
        return found["experiment_id"]

    def runs(self, experiment_id: str, filter_string: str = "", limit: int = 50) -> list[dict]:
        """Runs of the experiment matching ``filter_string``, newest first."""
        body = {
            "experiment_ids": [experiment_id],
            "filter": filter_string,
            "max_results": limit,
            "order_by": ["attributes.start_time DESC"],
        }
        return self._call("runs/search", body).get("runs", [])

    def artifacts(self, run_id: str) -> list[str]:
        """Top-level artifact paths of the run."""
        query = urllib.parse.urlencode({"run_id": run_id})
        return [f["path"] for f in self._call(f"artifacts/list?{query}").get("files", [])]


def tags(run: dict) -> dict[str, str]:
    """A REST run's tags as a dict."""
    return {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", [])}


def run_id(run: dict) -> str:
    return run["info"]["run_id"]


@dataclass
class Targets:
    """What the shots show."""

    experiment_id: str
    parent: str | None
    children: list[str]
    child_names: list[str]
    run: str
    run_name: str
    plot: str | None
    warnings: list[str] = field(default_factory=list)


def find_targets(api: Mlflow, experiment: str) -> Targets:
    """The sweep parent, its children and a finished child with a plot; falls back to flat runs.

    Without a sweep parent (stores from before nested sweeps) the runs table is shot as it is,
    the compare view gets the newest finished runs and the run page the newest finished run.
    """
    exp_id = api.experiment_id(experiment)
    warnings: list[str] = []
    parents = api.runs(exp_id, f"tags.`{SWEEP_PARENT_TAG}` = 'true'", limit=20)
    parent = None
    children: list[dict] = []
    for candidate in parents:  # the newest sweep parent that has finished children
        kids = api.runs(exp_id, f"tags.`{PARENT_RUN_TAG}` = '{run_id(candidate)}'", limit=20)
        if any(k["info"]["status"] == "FINISHED" for k in kids):
            parent, children = candidate, kids
            break
    if parent is None:
        warnings.append(
            f"no sweep parent run (tag {SWEEP_PARENT_TAG}=true with finished children) in "
            f"{experiment!r}: the runs table shows flat runs and the compare view the newest runs"
        )
        children = [r for r in api.runs(exp_id) if SWEEP_PARENT_TAG not in tags(r)]
    finished = [r for r in children if r["info"]["status"] == "FINISHED"]
    if not finished:
        raise SystemExit(f"screenshots: no finished run in experiment {experiment!r}")
    best = tags(parent).get(BEST_RUN_TAG) if parent else None
    chosen = next((r for r in finished if run_id(r) == best), finished[0])
    artifacts = api.artifacts(run_id(chosen))
    plot = next((p for p in PLOTS if p in artifacts), None)
    plot = plot or next((p for p in artifacts if p.endswith(".png")), None)
    if plot is None:
        warnings.append(f"run {run_id(chosen)} has no PNG artifact; the artifacts tab shows a list")
    compared = (children if parent else finished)[:6]
    if len(compared) < 2:
        warnings.append("fewer than 2 runs to compare: the compare view shows one run")
    return Targets(
        experiment_id=exp_id,
        parent=run_id(parent) if parent else None,
        children=[run_id(r) for r in compared],
        child_names=[r["info"].get("run_name", "") for r in compared],
        run=run_id(chosen),
        run_name=chosen["info"].get("run_name", ""),
        plot=plot,
        warnings=warnings,
    )


# --------------------------------------------------------------------------------------------
# Chromium over the DevTools protocol (--remote-debugging-pipe)
# --------------------------------------------------------------------------------------------


class CdpError(RuntimeError):
    """A DevTools call failed or timed out."""


def _high_fd(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or above, so the child can dup2 onto 3 and 4 safely."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return copy


class Chromium:
    """A headless Chromium driven over ``--remote-debugging-pipe``.

    Args:
        binary: The chromium executable.
        width: Viewport width in CSS pixels.
        height: Viewport height in CSS pixels.
    """

    def __init__(self, binary: str, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="arnews-chromium-")
        to_chrome_r, self._to_chrome = (_high_fd(fd) for fd in os.pipe())
        self._from_chrome, from_chrome_w = (_high_fd(fd) for fd in os.pipe())

        def wire_fds() -> None:  # runs in the child before exec
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        args = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            f"--window-size={width},{height}",
            "--force-device-scale-factor=1",
            "--lang=en-US",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            "--disable-breakpad",
            "--disable-crash-reporter",
            "about:blank",
        ]
        try:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=wire_fds,  # fine: this process runs no other threads
                pass_fds=(3, 4),
            )
        except OSError:
            for fd in (to_chrome_r, from_chrome_w, self._to_chrome, self._from_chrome):
                os.close(fd)
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        finally:
            with contextlib.suppress(OSError):
                os.close(to_chrome_r)
            with contextlib.suppress(OSError):
                os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.session = ""
        try:
            self._attach()
        except BaseException:
            self.close()
            raise

    def _attach(self) -> None:
        """Opens a page, attaches to it and sets the viewport and the UI preferences."""
        target = self.call("Target.createTarget", {"url": "about:blank"}, timeout=30)
        attached = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self.session = attached["sessionId"]
        self.call("Page.enable")
        self.resize(self.height)
        prefs = json.dumps({k: json.dumps(v) for k, v in UI_PREFERENCES.items()})
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": INIT_JS.replace("PREFERENCES", prefs)},
        )

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        """Sends one DevTools command and returns its result (events are dropped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_chrome, data) :]
        except BrokenPipeError:
            raise CdpError(f"{method}: chromium exited (code {self._proc.poll()})") from None
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") != self._next_id:
                    continue
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError(f"{method}: no answer from chromium in {timeout:.0f}s")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise CdpError(f"{method}: chromium exited (code {self._proc.poll()})")
                self._buffer += chunk

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise CdpError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 60) -> Any:
        """Polls a JavaScript expression until it is truthy; raises after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(CdpError):
                value = self.evaluate(expression)
                if value:
                    return value
            time.sleep(0.25)
        raise CdpError(f"timed out after {timeout:.0f}s waiting for {what}")

    def settle(self, quiet: float = 1.5, timeout: float = 30) -> None:
        """Waits until no spinner shows and the page's text and images stop changing."""
        probe = (
            "JSON.stringify([document.body.innerText.length,"
            " [...document.images].filter(i => i.complete).length,"
            " document.querySelectorAll('*').length, " + LOADING_JS + "])"
        )
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            state = self.evaluate(probe)
            loading = json.loads(state)[-1]
            if state != last or loading:
                last, since = state, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.25)
        log(f"warning: page still changing after {timeout:.0f}s; taking the shot anyway")

    def click(self, selector_js: str, what: str) -> None:
        """Clicks the middle of the element a JavaScript expression returns, as a user would.

        Real mouse events (not ``element.click()``), which the UI's dropdowns need.
        """
        box = self.wait_for(
            f"(() => {{ const el = {selector_js}; if (!el) return null;"
            " el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();"
            " return r.width ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()",
            what,
            timeout=15,
        )
        x, y = box
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )
        time.sleep(0.3)

    def type_text(self, text: str, enter: bool = True) -> None:
        """Types ``text`` into the focused element, then presses Enter."""
        self.call("Input.insertText", {"text": text})
        time.sleep(0.5)
        if enter:
            key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
            self.call("Input.dispatchKeyEvent", {"type": "keyDown", **key, "text": "\r"})
            self.call("Input.dispatchKeyEvent", {"type": "keyUp", **key})
        time.sleep(0.3)

    def key(self, name: str) -> None:
        """Presses and releases a key such as ``Escape``."""
        codes = {"Escape": 27, "Enter": 13}
        key = {"key": name, "code": name, "windowsVirtualKeyCode": codes.get(name, 0)}
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", **key})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", **key})

    def open(self, url: str) -> None:
        """Loads ``url`` as a fresh document (a new page, not a hash change)."""
        self.call("Page.navigate", {"url": "about:blank"})
        self.wait_for("location.href === 'about:blank'", "about:blank")
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", f"{url} to load")

    def resize(self, height: int) -> None:
        """Sets the viewport height (the UI scrolls inside its own panes, so a taller page shows
        more of them)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(self, path: Path, bottom_js: str | None = None) -> None:
        """Saves the viewport as a PNG, cut below the y coordinate ``bottom_js`` evaluates to."""
        params: dict[str, Any] = {"format": "png"}
        metrics = self.call("Page.getLayoutMetrics")["cssVisualViewport"]
        height = int(metrics["clientHeight"])
        bottom = self.evaluate(bottom_js) if bottom_js else None
        if bottom and 200 < bottom < height:
            clip = {"x": 0, "y": 0, "width": self.width, "height": int(bottom), "scale": 1}
            params["clip"] = clip
        data = base64.b64decode(self.call("Page.captureScreenshot", params)["data"])
        path.write_bytes(shrink(data))
        log(f"wrote {path} ({path.stat().st_size // 1024} KB)")

    def close(self) -> None:
        """Stops Chromium and removes its temporary profile."""
        self.session = ""  # Browser.close goes to the browser, not the page
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)


@contextlib.contextmanager
def chromium(binary: str, width: int, height: int) -> Iterator[Chromium]:
    """A started :class:`Chromium`, always closed on exit."""
    browser = Chromium(binary, width, height)
    try:
        yield browser
    finally:
        browser.close()


def shrink(png: bytes, max_bytes: int = MAX_BYTES) -> bytes:
    """The PNG re-encoded with a palette (and scaled down if needed) to stay under ``max_bytes``."""
    if len(png) <= max_bytes:
        return png
    try:
        from PIL import Image
    except ImportError:
        log("warning: Pillow is missing, PNG left as it is")
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    scale = 1.0
    while True:
        size = (round(image.width * scale), round(image.height * scale))
        resized = image if scale == 1.0 else image.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        resized.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            out, "PNG", optimize=True
        )
        if out.tell() <= max_bytes or scale < 0.5:
            return out.getvalue()
        scale *= 0.85


# --------------------------------------------------------------------------------------------
# The shots
# --------------------------------------------------------------------------------------------


def text_present(text: str) -> str:
    """A JavaScript test that ``text`` is on the page."""
    return f"document.body && document.body.innerText.includes({json.dumps(text)})"


# The runs table's columns and the sweep parent expanded, set through the experiment page's saved
# view state (the UI keeps it in localStorage, one entry per experiment; this Chromium profile is
# a throwaway). The dataset column is left out for room: the run page shows the datasets.
RUNS_TABLE_COLUMNS = [
    "attributes.`Models`",
    "metrics.`best_val_f1_macro`",
    "metrics.`val_f1_macro`",
    "metrics.`test_f1_macro`",
]
RUNS_TABLE_WIDTHS = {"attributes.`Run Name`": 280, "metrics.": 150}
VIEW_STATE_KEY_JS = (
    "`MLflowLocalStorage-1.1-ExperimentPage-${JSON.stringify([experimentId])}-ReactComponentState`"
)
VIEW_STATE_JS = """(([experimentId, parentId, columns]) => {
  const key = VIEW_STATE_KEY;
  const state = JSON.parse(localStorage.getItem(key) || 'null');
  if (!state) return false;
  if (parentId) state.runsExpanded = {...(state.runsExpanded || {}), [parentId]: true};
  state.selectedColumns = columns;
  localStorage.setItem(key, JSON.stringify(state));
  return true;
})""".replace("VIEW_STATE_KEY", VIEW_STATE_KEY_JS)
# Column widths only apply together with a column order: both from the header as displayed.
COLUMN_WIDTHS_JS = """(([experimentId, widths]) => {
  const key = VIEW_STATE_KEY;
  const state = JSON.parse(localStorage.getItem(key) || 'null');
  const ids = [...document.querySelectorAll('.ag-header-cell[col-id]')]
    .map(e => e.getAttribute('col-id'));
  if (!state || !ids.length) return false;
  state.columnOrder = ids;
  state.columnWidths = {};
  for (const id of ids) {
    const prefix = Object.keys(widths).find(p => id.startsWith(p));
    if (prefix) state.columnWidths[id] = widths[prefix];
  }
  localStorage.setItem(key, JSON.stringify(state));
  return true;
})""".replace("VIEW_STATE_KEY", VIEW_STATE_KEY_JS)
# Fallback: click the expander button in the parent's name cell (ag-grid row id = run id).
CLICK_EXPANDER_JS = """((runId) => {
  const row = document.querySelector(`[role=row][row-id="${runId}"]`);
  const button = row && row.querySelector('[col-id*="Run Name"] button');
  if (button) button.click();
  return Boolean(button);
})"""


SELECT_JS = "document.querySelectorAll('.du-bois-light-select')[%d]"  # 0: params, 1: metrics


def _remove_tag_js(select: int, name: str) -> str:
    """The remove (x) button of the tag ``name`` in a compare-view picker."""
    return (
        f"[...{SELECT_JS % select}.querySelectorAll('.du-bois-light-select-selection-item')]"
        f".filter(t => t.innerText.trim() === {json.dumps(name)})"
        ".map(t => t.querySelector('.du-bois-light-select-selection-item-remove'))[0]"
    )


def _tags_js(select: int) -> str:
    return (
        f"[...{SELECT_JS % select}.querySelectorAll('.du-bois-light-select-selection-item')]"
        ".map(t => t.innerText.trim())"
    )


def pick_compare_axes(browser: Chromium, metrics: list[str], drop_params: list[str]) -> None:
    """Puts ``metrics`` on the parallel-coordinates plot instead of the UI's default pick (the
    first metric logged) and drops the long ``drop_params`` axes."""
    for name in drop_params:
        if name in browser.evaluate(_tags_js(0)):
            browser.click(_remove_tag_js(0, name), f"the {name} axis")
    available = browser.evaluate(
        "fetch('/ajax-api/2.0/mlflow/runs/get?run_id=' + new URLSearchParams("
        "location.hash.split('?')[1]).get('runs').replace(/[\\[\\]\"]/g, '').split(',')[0])"
        ".then(r => r.json()).then(j => (j.run.data.metrics || []).map(m => m.key))"
        ".catch(() => [])"
    )
    wanted = [m for m in metrics if m in (available or metrics)]
    if not wanted:
        return
    for name in browser.evaluate(_tags_js(1)):
        if name not in wanted:
            browser.click(_remove_tag_js(1, name), f"the {name} axis")
    browser.click(f"{SELECT_JS % 1}.querySelector('.du-bois-light-select-selector')", "metrics")
    for name in wanted:
        if name not in browser.evaluate(_tags_js(1)):
            browser.type_text(name)
    browser.key("Escape")
    browser.click("document.querySelector('h2')", "the page title")  # closes the dropdown


# the runs table has loaded: its footer reads "N matching runs" (or "1 matching run")
RUNS_TABLE_READY_JS = "/\\d+ matching runs?\\b/.test(document.body ? document.body.innerText : '')"
# y of the bottom of the runs table's last row (the rest of the pane is empty)
RUNS_BOTTOM_JS = """Math.max(...[...document.querySelectorAll('.ag-center-cols-container [role=row],'
  + ' .ag-center-cols-viewport [role=row]')].map(r => r.getBoundingClientRect().bottom), 0) + 48"""
# y where the compare view's Artifacts section starts (under the metrics table)
COMPARE_BOTTOM_JS = """(() => {
  const metrics = document.querySelector('[role=switch][aria-label^=Metrics]');
  const top = metrics ? metrics.getBoundingClientRect().top : 0;
  const tops = [...document.querySelectorAll('main *')]
    .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() === 'Artifacts'))
    .map(e => e.getBoundingClientRect().top).filter(y => y > top);
  return tops.length ? Math.min(...tops) - 12 : 0;
})()"""
# y of the bottom of the artifact tree or the previewed image, whichever is lower
ARTIFACTS_BOTTOM_JS = """Math.max(...[...document.images].filter(i => i.naturalWidth > 200)
  .map(i => i.getBoundingClientRect().bottom), 0) + 32"""


def shoot(browser: Chromium, base: str, targets: Targets, out: Path) -> None:
    """Takes the four README shots."""
    exp = targets.experiment_id
    query = "?workflowType=machine_learning"

    # 1. The runs table, with the sweep parent expanded to show its children.
    runs_page = f"{base}/#/experiments/{exp}/runs{query}"
    browser.open(runs_page)
    browser.wait_for(RUNS_TABLE_READY_JS, "the runs table")
    browser.settle()
    state = json.dumps([exp, targets.parent, RUNS_TABLE_COLUMNS])
    if browser.evaluate(f"{VIEW_STATE_JS}({state})"):
        browser.open(runs_page)  # again, with the saved view state
        browser.wait_for(RUNS_TABLE_READY_JS, "the runs table")
        browser.settle()
        widths = json.dumps([exp, RUNS_TABLE_WIDTHS])
        if browser.evaluate(f"{COLUMN_WIDTHS_JS}({widths})"):
            browser.open(runs_page)
            browser.wait_for(RUNS_TABLE_READY_JS, "the runs table")
    else:
        log("warning: no saved view state for the runs table; default columns")
    if targets.parent:
        child = targets.child_names[0]
        try:
            browser.wait_for(text_present(child), "the sweep's child runs", timeout=10)
        except CdpError:
            if not browser.evaluate(f"{CLICK_EXPANDER_JS}({json.dumps(targets.parent)})"):
                log("warning: no expander on the sweep parent row; its children stay hidden")
            browser.wait_for(text_present(child), "the sweep's child runs", timeout=10)
    browser.settle()
    browser.screenshot(out / "runs-sweep.png", RUNS_BOTTOM_JS)

    # 2. The compare view of the sweep's children: the objective on the parallel-coordinates
    # plot, and only the params and metrics that differ (a taller page shows both tables).
    runs = json.dumps(targets.children, separators=(",", ":"))
    browser.resize(2000)
    browser.open(
        f"{base}/#/compare-runs?runs={urllib.parse.quote(runs)}"
        f"&experiments={urllib.parse.quote(json.dumps([exp]))}"
    )
    browser.wait_for(text_present("Comparing"), "the compare view")
    browser.settle()
    try:
        pick_compare_axes(browser, COMPARE_METRICS, ["classifier._target_"])
    except CdpError as err:
        log(f"warning: kept the default plot axes ({err})")
    for table in ("Parameters", "Metrics"):
        switch = f"document.querySelector('[role=switch][aria-label^={table}]')"
        if browser.evaluate(f"{switch} && {switch}.getAttribute('aria-checked') === 'false'"):
            browser.click(switch, f"{table} - Show diff only")
    browser.evaluate(
        "document.querySelector('main') && document.querySelector('main').scrollTo(0, 0)"
    )
    browser.settle()
    browser.screenshot(out / "compare-runs.png", COMPARE_BOTTOM_JS)
    browser.resize(browser.height)

    # 3. A finished child's page: params, metrics, datasets.
    browser.open(f"{base}/#/experiments/{exp}/runs/{targets.run}{query}")
    browser.wait_for(text_present("About this run"), "the run page")
    browser.settle()
    browser.screenshot(out / "run-page.png")

    # 4. Its artifacts tab, with a plot open.
    tab = f"artifacts/{targets.plot}" if targets.plot else "artifacts"
    browser.open(f"{base}/#/experiments/{exp}/runs/{targets.run}/{tab}{query}")
    if targets.plot:
        browser.wait_for(  # the UI shows artifacts as blob: URLs
            "[...document.images].some(i => i.complete && i.naturalWidth > 200)",
            f"the plot {targets.plot}",
        )
    browser.settle()
    browser.screenshot(out / "run-artifacts.png", ARTIFACTS_BOTTOM_JS if targets.plot else None)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a running MLflow UI (http://127.0.0.1:PORT)")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--experiment", default="arnews-classifier")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args(argv)

    # a plain `kill` also goes through the finally blocks that stop Chromium
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    base = args.url.rstrip("/")
    targets = find_targets(Mlflow(base), args.experiment)
    for warning in targets.warnings:
        log(f"warning: {warning}")
    log(
        f"experiment {targets.experiment_id}, sweep parent {targets.parent or '-'}, "
        f"{len(targets.children)} runs to compare, run page {targets.run} ({targets.run_name})"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with chromium(args.chromium, args.width, args.height) as browser:
            shoot(browser, base, targets, args.out)
    except (CdpError, OSError) as err:
        log(f"error: {err}")
        log("is chromium working? try: chromium --headless --no-sandbox --screenshot about:blank")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
