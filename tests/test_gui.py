"""The viewer and the intake GUI in a real headless browser (Debian's Chromium, driven by playwright).

``.ci/run`` installs Chromium; without it (or without playwright) these tests are skipped. Screenshots go
to ``test-artifacts/`` at the repository root. The browser may reach only 127.0.0.1: any other request is
aborted and fails the test, as does any error in the browser console.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

pytest.importorskip("panel")
pytest.importorskip("holoviews")
pytest.importorskip("datashader")
sync_api = pytest.importorskip("playwright.sync_api")

from intake_npx2020 import synth  # noqa: E402

CHROMIUM = os.environ.get("NPX2020_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
NAME = "synth-gui"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")]


# ------------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def demo_catalog(tmp_path_factory) -> Path:
    """A 6 s synthetic drift dataset in the ``npx2020 demo`` layout (DIR/catalog.yaml, DIR/store)."""
    root = tmp_path_factory.mktemp("gui-demo")
    result = synth.generate(root / "synth", duration=6.0, num_units=24, seed=5, progress=False)
    synth.write_catalog(result, root / "store", root / "catalog.yaml", NAME)
    return root / "catalog.yaml"


@pytest.fixture(scope="module")
def demo_url(demo_catalog):
    from intake_npx2020.apps.view import serve_viewer

    server, url = serve_viewer(demo_catalog)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def shipped_url():
    from intake_npx2020.apps.view import serve_viewer

    server, url = serve_viewer()  # the 2020 collection: no bytes here
    yield url
    server.stop()


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A browser page that records console errors and blocks (and records) every non-local request."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1500, "height": 1100})
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check(self) -> None:
        """Fail on anything seen so far: a console error, or a request to another host."""
        external, errors = list(self.external), list(self.errors)
        self.external.clear()
        self.errors.clear()
        assert external == [], f"the page tried to reach other hosts: {external}"
        assert errors == [], f"errors in the browser console: {errors}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def pages(browser):
    """Pages by URL, loaded once per module (a page load costs seconds); each test checks its own errors."""
    opened: dict[str, Page] = {}

    def get(url: str) -> Page:
        if url not in opened:
            opened[url] = Page(browser)
            opened[url].page.goto(url)
        return opened[url]

    yield get
    for p in opened.values():
        p.close()


@pytest.fixture
def viewer(pages, demo_url):
    """The viewer on the demo data, on its Catalog tab."""
    p = pages(demo_url)
    _tab(p, "Catalog")
    p.page.locator(".tabulator-row").first.wait_for()
    yield p
    p.check()


@pytest.fixture
def shipped_viewer(pages, shipped_url):
    p = pages(shipped_url)
    p.page.locator(".tabulator-row").first.wait_for()
    yield p
    p.check()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()
    p.check()


def _id_cell(p: Page, name: str):
    return p.page.locator(".tabulator-cell[tabulator-field='id']", has_text=re.compile(f"^{re.escape(name)}$"))


def _tab(p: Page, name: str) -> None:
    p.page.locator(".bk-tab", has_text=re.compile(f"^{name}$")).click()


def _bluish(img: np.ndarray) -> np.ndarray:
    r, b = img[..., 0], img[..., 2]
    return (b - r > 25) & (r < 200)


def _reddish(img: np.ndarray) -> np.ndarray:
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return (r - b > 60) & (r - g > 60)


def _dark(img: np.ndarray) -> np.ndarray:
    return img.max(axis=2) < 140


def _drawn(p: Page, name: str, test, at_least: int, timeout: float = 30.0) -> int:
    """Wait until the plot with CSS class ``npx-<name>`` shows ``at_least`` pixels passing ``test``
    (bokeh paints asynchronously); return that count."""
    from PIL import Image

    deadline = time.monotonic() + timeout
    element = p.page.locator(f".npx-{name}").first
    while True:
        img = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB")).astype(int)
        n = int(test(img).sum())
        if n >= at_least or time.monotonic() > deadline:
            return n
        p.page.wait_for_timeout(500)


# ------------------------------------------------------------------------------------------------ viewer

def test_viewer_loads_and_lists_the_entries(viewer):
    p = viewer
    rows = p.page.locator(".tabulator-row")
    assert rows.count() == 3
    for name in (NAME, f"{NAME}:ground_truth", f"{NAME}:drift"):
        assert _id_cell(p, name).count() == 1
    p.page.get_by_text("3 of 3 entries").wait_for()
    p.shot("viewer-catalog.png")
    search = p.page.get_by_placeholder("words in id, description, metadata")
    search.fill("ground_truth")
    p.page.get_by_text("1 of 3 entries").wait_for()
    assert rows.count() == 1 and "ground_truth" in rows.first.inner_text()
    search.fill("")
    p.page.get_by_text("3 of 3 entries").wait_for()


def test_choosing_a_recording_renders_its_traces(viewer):
    p = viewer
    _id_cell(p, NAME).click()
    p.page.get_by_text("kind: recording").wait_for()          # the detail pane: metadata of the entry
    p.page.get_by_role("button", name=f"Open {NAME} in the recording view").click()
    p.page.get_by_text("0.000–0.500 s, channels 0–383 of 384").wait_for()
    assert _drawn(p, "traces", _bluish, 50_000) >= 50_000, "no traces drawn"
    assert _drawn(p, "heatmap", _reddish, 100) >= 100, "no spikes in the heat map"
    assert _drawn(p, "geometry", _reddish, 1_000) >= 1_000, "no channel geometry drawn"
    p.shot("viewer-recording.png")
    p.page.get_by_role("button", name="later ▶").click()
    p.page.get_by_text("0.500–1.000 s, channels 0–383 of 384").wait_for()
    assert _drawn(p, "traces", _bluish, 50_000) >= 50_000
    assert _drawn(p, "heatmap", _reddish, 100) >= 100, "the heat map did not follow the window"
    p.shot("viewer-recording-scrolled.png")


def test_sorting_view(viewer):
    p = viewer
    _tab(p, "Sorting")
    empty = _drawn(p, "raster", _dark, 0)                      # axes and labels only
    p.page.get_by_role("button", name="Show").click()
    p.page.get_by_text(re.compile(r"24 units, \d+ spikes")).wait_for()
    assert _drawn(p, "rates", _bluish, 500) >= 500, "no firing-rate bars"
    assert _drawn(p, "raster", _dark, empty + 2_000) >= empty + 2_000, "no spike raster"
    p.shot("viewer-sorting.png")


def test_drift_view(viewer):
    p = viewer
    _tab(p, "Drift")
    p.page.get_by_label("Duration (s)").fill("3")
    p.page.get_by_label("Duration (s)").press("Enter")
    p.page.get_by_role("button", name="Detect peaks").click()
    p.page.get_by_text(re.compile(r"\d+ peaks in 0–3 s")).wait_for()
    p.page.get_by_text("Blue: imposed drift").wait_for()
    assert _drawn(p, "drift", _bluish, 500) >= 500, "no imposed drift drawn"
    assert _drawn(p, "drift", _dark, 2_000) >= 2_000, "no peaks drawn"
    p.shot("viewer-drift.png")


def test_entries_without_bytes_show_a_message(shipped_viewer):
    p = shipped_viewer
    p.page.get_by_text("47 of 47 entries").wait_for()
    p.shot("viewer-shipped-catalog.png")
    _tab(p, "Recording")
    p.page.get_by_text("are not available here").wait_for()
    p.page.get_by_text("npx2020 add FILE").first.wait_for()
    p.shot("viewer-shipped-recording-unavailable.png")


# ------------------------------------------------------------------------------------------------ intake GUI

def _select_each(p: Page, names: list[str], choose: list[str] | None = None) -> None:
    """Check the GUI's source list is ``names``, then select each of ``choose`` (default all) and see its YAML."""
    sources = p.page.locator("select", has=p.page.locator(f"option[value='{names[0]}']"))
    sources.wait_for()
    assert sources.locator("option").all_inner_texts() == names
    for name in choose or names:
        sources.select_option(name)
        p.page.locator(".ace_content", has_text=f"{name}:").wait_for()


def test_intake_gui_loads_and_shows_the_entries(page, demo_url, shipped_url):
    from intake_npx2020.sources.catalog import open_catalog

    p = page
    p.page.goto(demo_url + "intake")
    _select_each(p, [NAME, f"{NAME}:ground_truth", f"{NAME}:drift"])
    p.page.locator(".ace_content", has_text="driver:").wait_for()
    p.shot("intake-gui-demo.png")
    p.page.goto(shipped_url + "intake")
    names = list(open_catalog())
    # every entry is listed; a sample of each kind is selected here (test_view.py selects all 47)
    _select_each(p, names, ["cortexlab-single-phase-3", "cortexlab-drift-dataset1:drift",
                            "allen_mouse419112_probeE:mh-kilosort2", names[-1]])
    p.page.locator(".ace_content", has_text="description:").wait_for()
    p.shot("intake-gui-shipped.png")
