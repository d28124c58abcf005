"""The flame graph SVG in a real browser.

flame_fixture writes the SVG of a fixed synthetic recording (its shape is described at the top
of tests/tools/flame_fixture.cc). Each test copies that SVG with two extra scripts: one first
thing inside <svg> that records every uncaught error, and one just before </svg> that, after
load, drives the real handlers (dispatching MouseEvents on frames, tabs and controls), then
writes what it saw as JSON into <text id="test-result">. Headless Chromium loads the copy and
prints the resulting DOM (--dump-dom); the test parses it and asserts exact values.

A script that throws, or never runs, fails the test: the result marker must be present, carry
no error, and the page's own script must have finished (data-ready="true").

    GILSCOPE_FLAME_FIXTURE  path of the flame_fixture binary (required)
    GILSCOPE_CHROMIUM       browser to use (default /usr/bin/chromium; the tests are skipped
                            when it is absent)
"""

import json
import os
import pathlib
import signal
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

import shards

CHROMIUM = os.environ.get("GILSCOPE_CHROMIUM", "/usr/bin/chromium")
SVG = "{http://www.w3.org/2000/svg}"
FIXTURE_TIMEOUT_SECONDS = 30
BROWSER_TIMEOUT_SECONDS = 120
FULL_WIDTH = "1180.00"
HIGHLIGHT = "rgb(230,0,230)"

SPIN = "spin (app.py:10)"
PARSE = "parse_json (app.py:20)"
MAIN = "main (app.py:5)"
MODULE = "<module> (app.py:1)"
HOSTILE = "evil]]></script><script>alert(1)</script><b>&amp;\"' (app.py:25)"
BOOTSTRAP = "_bootstrap (threading.py:1)"

# First thing inside <svg>: records errors from the page's own script and its handlers.
ERROR_CATCHER = """<script type="text/ecmascript"><![CDATA[
window.testErrors = [];
window.addEventListener('error', (event) => { window.testErrors.push(String(event.message)); });
]]></script>
"""

# Just before </svg>. SCENARIO is filled in by the test. Must not contain the CDATA terminator.
DRIVER = """<script type="text/ecmascript"><![CDATA[
(function () {
  'use strict';
  const SCENARIO = %(scenario)s;

  const text = (id) => document.getElementById(id).textContent;
  const HIGHLIGHT = '%(highlight)s';
  const all = (selector) => Array.from(document.querySelectorAll(selector));
  const frames = () => all('#frames .frame');
  const labelOf = (frame) => frame.querySelector('title').textContent.split('\\n')[0];
  const find = (label) => frames().filter((frame) => labelOf(frame) === label);
  const startsWith = (prefix) => frames().filter((frame) => labelOf(frame).startsWith(prefix));
  const rectOf = (frame) => frame.querySelector('rect');

  function fire(target, type) {
    target.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window}));
  }
  const click = (target) => fire(target, 'click');

  // A mouse event at a point given in the SVG's own units.
  function fireAt(target, type, x, y) {
    const svg = document.documentElement;
    const point = svg.createSVGPoint();
    point.x = x;
    point.y = y;
    const client = point.matrixTransform(svg.getScreenCTM());
    target.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window,
                                               clientX: client.x, clientY: client.y}));
  }

  function timelineSnapshot() {
    const selection = document.getElementById('timeline-selection');
    return {
      view: window.flamegraph.view(),
      titleView: text('title-view'),
      activeTabs: all('.tab.active').map((tab) => tab.getAttribute('data-view')),
      framesDisplay: document.getElementById('frames').getAttribute('display'),
      timelineDisplay: document.getElementById('timeline').getAttribute('display'),
      legendDisplay: document.getElementById('legend').getAttribute('display'),
      laneLabels: all('#timeline .lane-label').map((label) => label.textContent),
      lanes: all('#timeline .lane').map((lane) => Array.from(lane.querySelectorAll('.segment'))
          .map((r) => [r.getAttribute('x'), r.getAttribute('width'), r.getAttribute('fill')])),
      details: text('timeline-details'),
      range: text('timeline-range'),
      selection: [selection.getAttribute('display'), selection.getAttribute('x'),
                  selection.getAttribute('width')],
      resetRange: document.getElementById('reset-range').getAttribute('display'),
      flameRange: window.flamegraph.range(),
    };
  }

  function facts(frame) {
    const rect = rectOf(frame);
    return {
      label: labelOf(frame),
      title: frame.querySelector('title').textContent,
      x: rect.getAttribute('x'),
      width: rect.getAttribute('width'),
      fill: rect.getAttribute('fill'),
      text: frame.querySelector('text').textContent,
      display: frame.getAttribute('display'),
      class: frame.getAttribute('class'),
      index: frame.getAttribute('data-index'),
    };
  }

  function snapshot() {
    return {
      view: window.flamegraph.view(),
      titleView: text('title-view'),
      about: text('about'),
      matched: text('matched'),
      details: text('details'),
      frames: frames().map(facts),
      empty: all('#frames .empty').map((line) => line.textContent),
      activeTabs: all('.tab.active').map((tab) => tab.getAttribute('data-view')),
      legendDisplay: document.getElementById('legend').getAttribute('display'),
      resetOpacity: document.getElementById('reset-zoom').getAttribute('opacity'),
      highlighted: frames().filter((frame) => rectOf(frame).getAttribute('fill') === HIGHLIGHT)
                           .map(labelOf),
    };
  }

  const scenarios = {
    observe: (steps) => { steps.initial = snapshot(); },

    interact: (steps) => {
      steps.initial = snapshot();
      const spin = () => find('%(spin)s')[0];
      fire(rectOf(spin()), 'mouseover');
      steps.hover = snapshot();
      fire(rectOf(spin()), 'mouseout');
      steps.unhover = snapshot();
      click(rectOf(spin()));
      steps.zoomSpin = snapshot();
      click(document.querySelector('#reset-zoom rect'));
      steps.reset = snapshot();
      click(find('%(main)s')[0].querySelector('text'));  // the label is clickable too
      steps.zoomMain = snapshot();
      click(rectOf(find('all')[0]));
      steps.zoomRoot = snapshot();

      steps.search = {};
      const terms = ['spin', 'SPIN', 'app\\\\.py', '(', 'evil]', 'json|spin', 'nothing-matches'];
      for (const term of terms) {
        steps.search[term] = window.flamegraph.search(term);
      }
      window.prompt = () => 'parse';  // what a user would type into the Search control
      click(document.querySelector('#search rect'));
      steps.searchControl = snapshot();
      click(document.querySelector('#clear-search text'));
      steps.cleared = snapshot();

      window.flamegraph.search('fetch');  // a search stays on across a view switch
      click(document.querySelector('#tab-wait rect'));
      steps.wait = snapshot();
      window.flamegraph.clearSearch();
      click(document.querySelector('#tab-wall text'));
      steps.wall = snapshot();
      click(rectOf(startsWith('evil')[0]));
      steps.zoomHostile = snapshot();
      click(document.querySelector('#tab-cpu rect'));
      steps.cpu = snapshot();
      steps.scriptElements = document.getElementsByTagName('script').length;
      steps.boldElements = document.getElementsByTagName('b').length;
    },

    timeline: (steps) => {
      steps.initial = snapshot();
      const names = ['blame', 'wait', 'gil', 'wall', 'cpu'];
      steps.embedded = {};
      for (const name of names) {
        window.flamegraph.showView(name);
        steps.embedded[name] = snapshot().frames;
      }
      steps.wholeRange = window.flamegraph.selectRange(0, 1e9);
      steps.recomputed = {};
      for (const name of names) {
        window.flamegraph.showView(name);
        steps.recomputed[name] = snapshot().frames;
      }
      window.flamegraph.clearRange();

      click(document.querySelector('#tab-timeline rect'));
      steps.timeline = timelineSnapshot();
      const lanes = all('#timeline .lane');
      const segment = (lane, index) => lanes[lane].querySelectorAll('.segment')[index];
      fire(segment(1, 3), 'mouseover');
      steps.hoverNative = text('timeline-details');
      fire(segment(2, 0), 'mouseover');
      steps.hoverSleeper = text('timeline-details');
      fire(segment(2, 0), 'mouseout');
      steps.unhover = text('timeline-details');

      // Drag from the start of the lanes to 460 units into them (0.958 s: samples 0-9), at
      // whole units (a MouseEvent's client coordinates are whole pixels).
      const left = 230, y0 = 175, y1 = 191;
      fireAt(segment(0, 0), 'mousedown', left, y0);
      fireAt(segment(1, 0), 'mousemove', left + 288, y1);
      steps.dragging = timelineSnapshot();
      fireAt(segment(1, 1), 'mouseup', left + 460, y1);
      steps.dragged = timelineSnapshot();
      click(document.querySelector('#tab-gil rect'));
      steps.gilRange = snapshot();
      click(document.querySelector('#tab-blame text'));
      steps.blameRange = snapshot();
      click(document.querySelector('#reset-range rect'));
      steps.reset = snapshot();
      steps.resetTimeline = timelineSnapshot();

      // A click without a drag selects nothing; a double-click clears a selection.
      click(document.querySelector('#tab-timeline rect'));
      fireAt(segment(0, 1), 'mousedown', left + 300, y0);
      fireAt(segment(0, 1), 'mouseup', left + 301, y0);
      steps.clicked = timelineSnapshot();
      fireAt(segment(0, 1), 'mousedown', left + 100, y0);
      fireAt(segment(0, 2), 'mouseup', left + 500, y0);
      steps.second = timelineSnapshot();
      fire(segment(0, 2), 'dblclick');
      steps.doubleClicked = timelineSnapshot();

      // Samples 17-19 cover half of spinner-b's native run, whose blame (10) counts in
      // proportion: 5 (its samples had 2 waiters each: 6 exactly).
      steps.partialRange = window.flamegraph.selectRange(1.7, 2.0);
      window.flamegraph.showView('blame');
      steps.partialBlame = snapshot();
      window.flamegraph.showView('gil');
      steps.partialGil = snapshot();
      steps.scriptElements = document.getElementsByTagName('script').length;
      steps.boldElements = document.getElementsByTagName('b').length;
    },

    bucketed: (steps) => {
      click(document.querySelector('#tab-timeline rect'));
      steps.timeline = timelineSnapshot();
      steps.selectRange = window.flamegraph.selectRange(0, 10);
      const segment = document.querySelector('#timeline .segment');
      fireAt(segment, 'mousedown', 300, 175);
      fireAt(segment, 'mouseup', 600, 175);
      fire(segment, 'mouseover');
      steps.after = timelineSnapshot();
    },

    calm: (steps) => {
      steps.initial = snapshot();
      click(document.querySelector('#tab-gil rect'));
      steps.gil = snapshot();
      click(document.querySelector('#tab-wait rect'));
      steps.wait = snapshot();
    },
  };

  function run() {
    const result = {ready: document.documentElement.getAttribute('data-ready'), steps: {}};
    try {
      scenarios[SCENARIO](result.steps);
    } catch (error) {
      result.error = String(error && error.stack ? error.stack : error);
    }
    result.errors = window.testErrors;
    const marker = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    marker.setAttribute('id', 'test-result');
    marker.textContent = JSON.stringify(result);
    document.documentElement.appendChild(marker);
  }
  window.addEventListener('load', run);
})();
]]></script>
"""


def fixture_binary():
    path = os.environ.get("GILSCOPE_FLAME_FIXTURE")
    if not path:
        raise AssertionError("GILSCOPE_FLAME_FIXTURE is not set: point it at the flame_fixture "
                             "binary, e.g. GILSCOPE_FLAME_FIXTURE=build/tests/flame_fixture")
    if not os.access(path, os.X_OK):
        raise AssertionError("GILSCOPE_FLAME_FIXTURE=%s is not an executable file" % path)
    return path


def run_bounded(argv, timeout):
    """Runs argv in its own process group, killing the whole group if it outlives timeout."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError("%s did not finish within %d s" % (argv[0], timeout))
    return process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def js_string(value):
    """A JavaScript string literal that cannot end a CDATA section or start markup."""
    return (json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))


@unittest.skipUnless(os.access(CHROMIUM, os.X_OK), "no browser at %s (apt-get install chromium, "
                     "or set GILSCOPE_CHROMIUM)" % CHROMIUM)
class FlameGraphBrowserTest(unittest.TestCase):

    def setUp(self):
        self.workdir = tempfile.TemporaryDirectory(prefix="gilscope-flame-")
        self.addCleanup(self.workdir.cleanup)

    def write_fixture(self, mode):
        path = os.path.join(self.workdir.name, "%s.svg" % mode)
        code, _, stderr = run_bounded([fixture_binary(), path, mode], FIXTURE_TIMEOUT_SECONDS)
        self.assertEqual(code, 0, "flame_fixture failed: %s" % stderr)
        with open(path, encoding="utf-8") as svg:
            text = svg.read()
        ElementTree.fromstring(text.encode("utf-8"))  # well-formed XML, or this raises
        return text

    def run_in_browser(self, svg_text, scenario, query=""):
        """Loads svg_text plus the driver in Chromium; returns (result JSON, dumped DOM root)."""
        start = svg_text.index(">", svg_text.index("<svg")) + 1
        end = svg_text.rindex("</svg>")
        driver = DRIVER % {"scenario": js_string(scenario), "highlight": HIGHLIGHT,
                           "spin": SPIN, "main": MAIN}
        page = svg_text[:start] + "\n" + ERROR_CATCHER + svg_text[start:end] + driver + "</svg>\n"
        path = pathlib.Path(self.workdir.name, "page-%s.svg" % scenario)
        path.write_text(page, encoding="utf-8")
        profile_dir = tempfile.mkdtemp(prefix="chromium-", dir=self.workdir.name)
        code, dom, stderr = run_bounded([
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + profile_dir, "--virtual-time-budget=5000",
            "--dump-dom", path.as_uri() + query,
        ], BROWSER_TIMEOUT_SECONDS)
        self.assertEqual(code, 0, "chromium failed:\n%s" % stderr[-3000:])
        try:
            root = ElementTree.fromstring(dom)
        except ElementTree.ParseError as error:
            self.fail("the dumped DOM is not XML (%s):\n%s\nchromium said:\n%s"
                      % (error, dom[:2000], stderr[-3000:]))
        marker = root.find(".//%stext[@id='test-result']" % SVG)
        self.assertIsNotNone(marker, "the driver script never wrote its result (did a script fail "
                                     "to parse?); chromium said:\n%s" % stderr[-3000:])
        result = json.loads(marker.text)
        self.assertNotIn("error", result, result.get("error"))
        self.assertEqual(result["errors"], [], "uncaught errors in the page")
        self.assertEqual(result["ready"], "true", "the flame graph's script did not finish")
        return result["steps"], root

    # --- helpers over snapshots ---

    def frame(self, snapshot, label, state=None):
        found = [f for f in snapshot["frames"]
                 if f["label"] == label and (state is None or state in f["title"])]
        labels = [f["label"] for f in snapshot["frames"]]
        self.assertEqual(len(found), 1, "%r (%s) among %s" % (label, state, labels))
        return found[0]

    def assertShown(self, snapshot, label, x, width):
        frame = self.frame(snapshot, label)
        self.assertIsNone(frame["display"], label)
        self.assertEqual((frame["x"], frame["width"]), (x, width), label)

    # --- tests ---

    def test_zoom_search_hover_and_view_switch_through_real_events(self):
        steps, root = self.run_in_browser(self.write_fixture("blame"), "interact")

        initial = steps["initial"]
        self.assertEqual(initial["view"], "blame")
        self.assertEqual(initial["activeTabs"], ["blame"])
        self.assertEqual([f["label"] for f in initial["frames"]],
                         ["all", MODULE, MAIN, PARSE, HOSTILE, SPIN])
        self.assertShown(initial, "all", "10.00", FULL_WIDTH)
        self.assertShown(initial, PARSE, "10.00", "472.00")
        self.assertShown(initial, SPIN, "482.00", "708.00")
        self.assertEqual(initial["legendDisplay"], "none")
        self.assertEqual(initial["resetOpacity"], "0.5")

        # Hover: the details line names the frame, its weight and its share of the view.
        self.assertEqual(steps["hover"]["details"], SPIN + " \u2014 6 waiter-samples, 60.00%")
        self.assertEqual(steps["unhover"]["details"], " ")

        # Click: spin fills the width, its ancestors stay (greyed), everything else hides.
        zoomed = steps["zoomSpin"]
        self.assertShown(zoomed, SPIN, "10.00", FULL_WIDTH)
        self.assertEqual(self.frame(zoomed, SPIN)["class"], "frame")
        for ancestor in ("all", MODULE, MAIN):
            self.assertShown(zoomed, ancestor, "10.00", FULL_WIDTH)
            self.assertEqual(self.frame(zoomed, ancestor)["class"], "frame parent")
        self.assertEqual(self.frame(zoomed, PARSE)["display"], "none")
        self.assertEqual(self.frame(zoomed, HOSTILE)["display"], "none")
        self.assertEqual(zoomed["resetOpacity"], "1")

        # Reset zoom brings the full view back.
        reset = steps["reset"]
        self.assertShown(reset, PARSE, "10.00", "472.00")
        self.assertShown(reset, SPIN, "482.00", "708.00")
        self.assertEqual({f["class"] for f in reset["frames"]}, {"frame"})
        self.assertEqual(self.frame(steps["zoomMain"], MODULE)["class"], "frame parent")
        self.assertShown(steps["zoomMain"], SPIN, "482.00", "708.00")
        self.assertEqual({f["class"] for f in steps["zoomRoot"]["frames"]}, {"frame"})

        # Search: regular expression, case-insensitive, literal when it does not compile; each
        # matching subtree counts once (every frame matches "app\.py": 100%, not more).
        self.assertEqual(steps["search"], {
            "spin": "Matched: 60.0%",
            "SPIN": "Matched: 60.0%",
            "app\\.py": "Matched: 100.0%",
            "(": "Matched: 100.0%",
            "evil]": "Matched: 40.0%",
            "json|spin": "Matched: 100.0%",
            "nothing-matches": "Matched: 0.0%",
        })
        self.assertEqual(steps["searchControl"]["matched"], "Matched: 40.0%")
        self.assertEqual(steps["searchControl"]["highlighted"], [PARSE])
        self.assertEqual(steps["cleared"]["matched"], " ")
        self.assertEqual(steps["cleared"]["highlighted"], [])
        self.assertEqual(self.frame(steps["cleared"], PARSE)["fill"],
                         self.frame(initial, PARSE)["fill"])

        # The switch: wait view, with the search carried over.
        wait = steps["wait"]
        self.assertEqual((wait["view"], wait["titleView"], wait["activeTabs"]),
                         ("wait", "wait", ["wait"]))
        self.assertEqual(wait["matched"], "Matched: 100.0%")
        self.assertEqual(wait["highlighted"], ["fetch (app.py:40)"])
        self.assertTrue(wait["about"].startswith("wait:"))

        # Wall: keyed by (label, state), coloured by state, with a legend.
        wall = steps["wall"]
        self.assertEqual(wall["view"], "wall")
        self.assertIsNone(wall["legendDisplay"])
        self.assertEqual(self.frame(wall, "all")["title"], "all\n25 thread-samples, 100.00%")
        waiting = self.frame(wall, BOOTSTRAP, "waiting for GIL")
        running = self.frame(wall, BOOTSTRAP, "running without GIL")
        self.assertEqual(waiting["title"],
                         BOOTSTRAP + "\nwaiting for GIL, 10 thread-samples, 40.00%")
        self.assertEqual(running["title"],
                         BOOTSTRAP + "\nrunning without GIL, 5 thread-samples, 20.00%")
        self.assertNotEqual(waiting["fill"], running["fill"])
        self.assertEqual((running["x"], running["width"]), ("954.00", "236.00"))

        # The hostile name is text all the way: exact label, no markup made of it.
        hostile = self.frame(steps["zoomHostile"], HOSTILE)
        self.assertEqual((hostile["x"], hostile["width"]), ("10.00", FULL_WIDTH))
        self.assertEqual(self.frame(steps["zoomHostile"], SPIN)["display"], "none")
        self.assertEqual(steps["boldElements"], 0)
        self.assertEqual(steps["scriptElements"], 4)  # data, flame graph, error catcher, driver

        self.assertEqual(self.frame(steps["cpu"], "all")["title"],
                         "all\n15 thread-samples, 100.00%")
        self.assertEqual(steps["cpu"]["activeTabs"], ["cpu"])

    def test_script_redraws_the_static_drawing_exactly(self):
        svg = self.write_fixture("wall")
        static_root = ElementTree.fromstring(svg.encode("utf-8"))
        static = []
        for group in static_root.find("%sg[@id='frames']" % SVG):
            rect, text = group.find(SVG + "rect"), group.find(SVG + "text")
            static.append((group.find(SVG + "title").text, rect.get("x"), rect.get("width"),
                           rect.get("fill"), text.text or ""))
        steps, _ = self.run_in_browser(svg, "observe")
        initial = steps["initial"]
        self.assertEqual(initial["view"], "wall")
        self.assertEqual(initial["activeTabs"], ["wall"])
        self.assertTrue(all(f["index"] is not None for f in initial["frames"]), "not redrawn")
        redrawn = [(f["title"], f["x"], f["width"], f["fill"], f["text"])
                   for f in initial["frames"]]
        self.assertEqual(redrawn, static)
        self.assertEqual(len(redrawn), 12)

    def test_url_parameters_pick_the_view_and_search(self):
        svg = self.write_fixture("blame")
        steps, _ = self.run_in_browser(svg, "observe", "?s=spin&view=gil")
        initial = steps["initial"]
        self.assertEqual((initial["view"], initial["activeTabs"]), ("gil", ["gil"]))
        self.assertEqual(initial["matched"], "Matched: 60.0%")
        self.assertEqual(initial["highlighted"], [SPIN])

        steps, _ = self.run_in_browser(svg, "observe", "?view=no-such-view")
        self.assertEqual(steps["initial"]["view"], "blame")
        self.assertEqual(steps["initial"]["matched"], " ")

    def test_timeline_lanes_hover_range_selection_and_native_colours(self):
        svg = self.write_fixture("timeline")
        steps, _ = self.run_in_browser(svg, "timeline")
        spin_a, spin_b, crc = "spin_a (app.py:60)", "spin_b (app.py:70)", "crc32_z (libz.so.1)"
        # Colours: StateBaseColor, exact, in the lanes.
        hold, native_hold = "rgb(232,96,60)", "rgb(178,34,80)"
        wait, idle = "rgb(156,104,214)", "rgb(150,162,178)"

        # The opening gil view, redrawn: the native frame in the native palette (blue-teal),
        # the Python frames warm, and the redraw equal to the static drawing.
        initial = steps["initial"]
        self.assertEqual(initial["view"], "gil")
        fills = {f["label"]: f["fill"] for f in initial["frames"]}
        r, g, b = (int(v) for v in fills[crc][4:-1].split(","))
        self.assertTrue(30 <= r < 80 and 120 <= g < 190 and 180 <= b < 240, fills[crc])
        r, g, b = (int(v) for v in fills[spin_b][4:-1].split(","))
        self.assertTrue(r >= 205 and b < 56, fills[spin_b])
        static_root = ElementTree.fromstring(svg.encode("utf-8"))
        static_fills = {group.find(SVG + "title").text.split("\n")[0]: group.find(SVG + "rect")
                        .get("fill") for group in static_root.find("%sg[@id='frames']" % SVG)}
        self.assertEqual(static_fills, fills)
        legend = static_root.find(".//%sg[@id='legend-native']" % SVG)
        self.assertEqual(legend.find(SVG + "text").text, "native code")

        # The whole recording as a range gives the embedded views, frame for frame.
        self.assertEqual(steps["wholeRange"], "0.00\u20132.00 s")
        for name in ("blame", "wait", "gil", "wall", "cpu"):
            self.assertEqual(steps["recomputed"][name], steps["embedded"][name], name)
        self.assertEqual(self.frame({"frames": steps["embedded"]["wall"]}, "all")["title"],
                         "all\n44 thread-samples, 100.00%")

        # The timeline: one lane per thread, first seen first, runs coloured by state.
        timeline = steps["timeline"]
        self.assertEqual((timeline["view"], timeline["titleView"], timeline["activeTabs"]),
                         ("timeline", "timeline", ["timeline"]))
        self.assertEqual((timeline["framesDisplay"], timeline["timelineDisplay"]), ("none", None))
        self.assertIsNone(timeline["legendDisplay"])
        self.assertEqual(timeline["laneLabels"], [
            "spinner-a (tid 11)", "spinner-b (tid 12)",
            "sleeper</script><b>.. (tid 13)"])  # the name cut to fit, its id whole
        self.assertEqual(timeline["lanes"], [
            [["230.00", "288.00", hold], ["518.00", "192.00", wait], ["710.00", "192.00", hold],
             ["902.00", "288.00", wait]],
            [["230.00", "288.00", wait], ["518.00", "192.00", hold], ["710.00", "192.00", wait],
             ["902.00", "288.00", native_hold]],
            [["230.00", "768.00", idle], ["998.00", "192.00", wait]],
        ])
        self.assertEqual(timeline["range"], "drag across the lanes to select a time range")
        self.assertEqual(timeline["resetRange"], "none")

        # Hover: thread, time, state, innermost function; hostile names as text.
        self.assertEqual(steps["hoverNative"], "spinner-b (tid 12) \u2014 1.40\u20132.00 s, "
                         "holding GIL in native code, " + crc)
        self.assertEqual(steps["hoverSleeper"], "sleeper</script><b>&amp;\\x1b[31m (tid 13) "
                         "\u2014 0.00\u20131.60 s, idle, sleep_loop (app.py:80)")
        self.assertEqual(steps["unhover"], " ")

        # The drag: the selection follows the mouse, then the range holds samples 0-9.
        self.assertEqual(steps["dragging"]["selection"], [None, "230.00", "288.00"])
        dragged = steps["dragged"]
        self.assertEqual(dragged["flameRange"], "0.00\u20130.96 s")
        self.assertEqual(dragged["selection"], [None, "230.00", "460.00"])
        self.assertTrue(dragged["range"].startswith("selected 0.00\u20130.96 s"), dragged["range"])
        self.assertIsNone(dragged["resetRange"])
        gil = steps["gilRange"]
        self.assertTrue(gil["about"].endswith(" \u2014 range 0.00\u20130.96 s"), gil["about"])
        self.assertEqual(self.frame(gil, "all")["title"], "all\n10 samples, 100.00%")
        self.assertEqual(self.frame(gil, spin_a)["title"], spin_a + "\n6 samples, 60.00%")
        self.assertEqual(self.frame(gil, spin_b)["title"], spin_b + "\n4 samples, 40.00%")
        self.assertNotIn(crc, [f["label"] for f in gil["frames"]])
        self.assertEqual(self.frame(steps["blameRange"], "all")["title"],
                         "all\n10 waiter-samples, 100.00%")

        # Reset range: the embedded views again.
        reset = steps["reset"]
        self.assertEqual(reset["view"], "blame")
        self.assertEqual(reset["frames"], steps["embedded"]["blame"])
        self.assertFalse(reset["about"].endswith(" s"), reset["about"])
        self.assertEqual(steps["resetTimeline"]["resetRange"], "none")
        self.assertEqual(steps["resetTimeline"]["selection"][0], "none")
        self.assertIsNone(steps["resetTimeline"]["flameRange"])

        self.assertIsNone(steps["clicked"]["flameRange"])
        self.assertEqual(steps["second"]["flameRange"], "0.21\u20131.04 s")
        self.assertIsNone(steps["doubleClicked"]["flameRange"])
        self.assertEqual(steps["doubleClicked"]["resetRange"], "none")
        self.assertEqual(steps["partialRange"], "1.70\u20132.00 s")
        self.assertEqual(self.frame(steps["partialBlame"], crc)["title"],
                         crc + "\n5 waiter-samples, 100.00%")
        self.assertEqual(self.frame(steps["partialGil"], crc)["title"],
                         crc + "\n3 samples, 100.00%")
        self.assertEqual(steps["boldElements"], 0)
        self.assertEqual(steps["scriptElements"], 4)

    def test_a_timeline_too_long_to_embed_is_bucketed_without_range_selection(self):
        steps, _ = self.run_in_browser(self.write_fixture("bucketed"), "bucketed")
        timeline = steps["timeline"]
        self.assertEqual(timeline["view"], "timeline")
        self.assertEqual(timeline["laneLabels"], ["thread (tid 21)", "thread (tid 22)"])
        # Each bucket holds as many holding samples as waiting ones: the first state wins, and
        # equal neighbours join, so each lane is one segment over the whole width.
        self.assertEqual(timeline["lanes"], [[["230.00", "960.00", "rgb(232,96,60)"]]] * 2)
        self.assertIn("range selection is off", timeline["range"])
        self.assertIsNone(steps["selectRange"])
        after = steps["after"]
        self.assertIsNone(after["flameRange"])
        self.assertEqual(after["selection"][0], "none")
        self.assertEqual(after["details"], "thread (tid 21) \u2014 0.00\u201360.00 s, "
                         "mostly holding GIL, spin (app.py:10)")

    def test_empty_views_say_so_and_the_switch_still_works(self):
        steps, root = self.run_in_browser(self.write_fixture("calm"), "calm")
        initial = steps["initial"]
        self.assertEqual(initial["view"], "blame")
        self.assertEqual(initial["frames"], [])
        self.assertEqual(initial["empty"], [
            "No thread waited for the GIL during this recording, so nothing is to blame.",
            "Open the gil view (what held the GIL) or the wall view (what every thread did).",
        ])
        gil = steps["gil"]
        self.assertEqual((gil["view"], gil["empty"]), ("gil", []))
        self.assertEqual([f["label"] for f in gil["frames"]],
                         ["all", MODULE, MAIN, PARSE, HOSTILE, SPIN])
        self.assertEqual(steps["wait"]["empty"][0],
                         "No thread waited for the GIL during this recording.")
        self.assertEqual(steps["wait"]["frames"], [])


if __name__ == "__main__":
    shards.main()
