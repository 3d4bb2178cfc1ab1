"""The viewer and the intake GUI in a real headless browser (Debian's Chromium, driven by playwright).

``.ci/run`` installs Chromium; without it (or without playwright) these tests are skipped. Screenshots go
to ``test-artifacts/`` at the repository root. The browser may reach only 127.0.0.1: any other request is
aborted and fails the test, as does any error in the browser console. What a figure shows is checked from
its pixels and from the Bokeh models in the page (axis labels, ranges, the data sources drawn).
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
        """Screenshot the whole page once no loading indicator is left (each update has been drawn)."""
        deadline = time.monotonic() + 20
        while self.page.locator(".pn-loading").count() and time.monotonic() < deadline:
            self.page.wait_for_timeout(200)
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


_AXES_JS = """() => {
  const out = [];
  for (const doc of Bokeh.documents) {
    for (const m of doc._all_models.values()) {
      if (!(m.left && m.below && m.renderers)) continue;
      const ys = [];
      for (const r of m.renderers) {
        const d = r.data_source && r.data_source.data;
        if (d && d.y) ys.push(...Array.from(d.y).filter(Number.isFinite));
      }
      const bars = [...m.right, ...m.left, ...m.below].filter(b => b.color_mapper !== undefined);
      out.push({x: m.below.map(a => a.axis_label), y: m.left.map(a => a.axis_label),
                colorbar: bars.map(b => b.title), title: m.title ? m.title.text : "",
                y0: m.y_range.start, y1: m.y_range.end, ymin: Math.min(...ys), ymax: Math.max(...ys),
                points: ys.length});
    }
  }
  return out;
}"""

UNITS = re.compile(r"\((s|µm|µV|counts|Hz)\)|µV apart|counts apart")


def _figures(p: Page) -> dict[str, dict]:
    """The page's Bokeh figures by title: axis labels, colour bar titles, y range and the y data drawn."""
    return {f["title"]: f for f in p.page.evaluate(_AXES_JS)}


def _figure(p: Page, starts: str, with_points: bool = False, timeout: float = 30.0) -> dict:
    """The figure whose title starts with ``starts`` (with ``with_points``: once it draws ``y`` data)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [f for t, f in _figures(p).items() if t.startswith(starts)]
        if found and (found[0]["points"] or not with_points) or time.monotonic() > deadline:
            assert found, f"no figure titled {starts!r}: {list(_figures(p))}"
            return found[0]
        p.page.wait_for_timeout(500)


def _assert_units(figure: dict, quantitative_y: bool = True) -> None:
    """The x axis (always) and the y axis (when it is a quantity) name a unit, and so does a colour bar."""
    assert all(UNITS.search(label) for label in figure["x"]), figure
    if quantitative_y:
        assert all(UNITS.search(label) for label in figure["y"]), figure
    assert all(UNITS.search(title or "") for title in figure["colorbar"]), figure


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
    p.page.get_by_text(re.compile(r"0\.000–0\.500 s of 6\.0 s; heat map: all 384 channels; traces: channels "
                                  r"\d+–\d+")).wait_for()
    assert _drawn(p, "traces", _bluish, 20_000) >= 20_000, "no traces drawn"
    assert _drawn(p, "heatmap", _reddish, 100) >= 100, "no spikes in the heat map"
    assert _drawn(p, "geometry", _reddish, 300) >= 300, "the traced channels are not marked on the probe"
    figures = _figures(p)
    traces, heat, probe = (_figure(p, t) for t in ("traces", "every channel", "probe"))
    assert re.fullmatch(r"channel \(traces \d+ µV apart\)", traces["y"][0]), traces
    assert heat["colorbar"] == ["amplitude (µV)"] and probe["x"] == ["x (µm)"] and probe["y"] == ["y (µm)"]
    for figure in (traces, heat, probe):
        _assert_units(figure, figure is not heat)
    assert "entry=synth-gui" in p.page.url and "tab=recording" in p.page.url, "the address bar did not follow"
    p.shot("viewer-recording.png")
    p.page.get_by_role("button", name="later ▶").click()
    p.page.get_by_text("0.500–1.000 s of 6.0 s").wait_for()
    assert _drawn(p, "traces", _bluish, 20_000) >= 20_000
    assert _drawn(p, "heatmap", _reddish, 100) >= 100, "the heat map did not follow the window"
    assert len(figures) >= 3
    p.shot("viewer-recording-scrolled.png")


def test_sorting_view_shows_data_on_first_open(viewer):
    p = viewer
    _tab(p, "Sorting")                                         # no button to press
    p.page.get_by_text(re.compile(r"24 units, \d+ spikes over")).wait_for()
    assert _drawn(p, "rates", _bluish, 500) >= 500, "no firing-rate bars"
    assert _drawn(p, "raster", _dark, 4_000) >= 4_000, "no spike raster"
    for title in ("spike raster", "firing rate"):
        _assert_units(_figure(p, title), quantitative_y=False)
    p.shot("viewer-sorting.png")


def test_drift_view_shows_every_peak_on_first_open(viewer):
    p = viewer
    _tab(p, "Drift")                                           # detects at once, in the default window
    p.page.get_by_text(re.compile(r"\d+ peaks in 0–6 s")).wait_for()
    p.page.get_by_text("Blue: imposed drift").wait_for()
    assert _drawn(p, "drift", _bluish, 500) >= 500, "no imposed drift drawn"
    assert _drawn(p, "drift", _dark, 2_000) >= 2_000, "no peaks drawn"
    drift = _figure(p, "detected peaks", with_points=True)
    _assert_units(drift)
    assert drift["y0"] <= drift["ymin"] and drift["y1"] >= drift["ymax"], f"peaks outside the axis: {drift}"
    assert drift["y1"] - drift["y0"] <= 1.1 * (drift["ymax"] - drift["ymin"]) + 20, f"axis too wide: {drift}"
    assert drift["ymax"] - drift["ymin"] > 2_000, "the peaks of the whole probe should be shown"
    p.shot("viewer-drift.png")


def test_deep_link_opens_the_entry_and_time(page, demo_url):
    p = page
    p.page.goto(demo_url + f"?entry={NAME}&t=2.5&channel=100&channels=16")
    p.page.get_by_text("2.500–3.000 s of 6.0 s; heat map: all 384 channels; traces: channels 100–115").wait_for()
    assert p.page.locator(".bk-tab.bk-active", has_text="Recording").count() == 1
    assert _drawn(p, "traces", _bluish, 5_000) >= 5_000, "no traces drawn"
    p.page.wait_for_url(re.compile(r"tab=recording&entry=synth-gui&t=2\.5&window=0\.5&channel=100&channels=16"))
    p.shot("viewer-deep-link-recording.png")
    p.page.goto(demo_url + f"?tab=drift&entry={NAME}:drift&t=1&window=2")
    p.page.get_by_text(re.compile(r"\d+ peaks in 1–3 s")).wait_for()
    assert p.page.locator(".bk-tab.bk-active", has_text="Drift").count() == 1
    p.shot("viewer-deep-link-drift.png")


def test_entries_without_bytes_show_their_geometry_and_a_message(shipped_viewer):
    p = shipped_viewer
    p.page.get_by_text("47 of 47 entries").wait_for()
    p.shot("viewer-shipped-catalog.png")
    _tab(p, "Recording")
    p.page.get_by_text("are not available here").wait_for()
    p.page.get_by_text("npx2020 add FILE").first.wait_for()
    p.page.get_by_text("(from the catalog): 62.9 min, 374 channels, 30000 Hz").wait_for()
    assert _drawn(p, "geometry", _bluish, 1_000) >= 1_000, "no channel geometry drawn"
    probe = _figure(p, "probe", with_points=True)
    assert probe["points"] == 374 and probe["x"] == ["x (µm)"] and probe["y"] == ["y (µm)"]
    assert p.page.locator(".npx-traces").is_hidden(), "empty trace axes are shown"
    p.shot("viewer-shipped-recording-unavailable.png")
    for tab, name in (("Sorting", "cortexlab-single-phase-3:curated"), ("Drift", "cortexlab-drift-dataset1")):
        _tab(p, tab)
        p.page.get_by_text(f"{name} are not available here").wait_for()
        assert p.page.locator(".npx-raster" if tab == "Sorting" else ".npx-drift").is_hidden()
        p.shot(f"viewer-shipped-{tab.lower()}-unavailable.png")


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
