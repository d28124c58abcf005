// The flame graph's behaviour. flamegraph_svg.cc pastes this into the SVG after the JSON it
// reads (#flame-data). It redraws any view from that data and handles the view switch, zoom,
// search and hover details; it alone draws the timeline view (one lane per thread, coloured by
// GIL state) and, for a time range dragged across its lanes, recomputes every flame view.
//
// Frame and thread names come from the profiled process and are hostile: they only ever reach
// the page through textContent and setAttribute, never as markup. (This file is embedded in a
// CDATA section inside a C++ raw string: it must not contain the CDATA terminator, nor the
// at-sign, which CMake's file(CONFIGURE) would substitute.)
(function () {
  'use strict';

  const SVG_NS = 'http://www.w3.org/2000/svg';
  // A node of the data: [label index (-1 for the root), weight, state, children]; leaves have
  // no children entry.
  const LABEL = 0, WEIGHT = 1, STATE = 2, CHILDREN = 3;
  const HIGHLIGHT = 'rgb(230,0,230)';  // flamegraph.pl's search colour
  const BLANK = ' ';                    // an empty <text> would collapse; a space keeps its place
  const DASH = '\u2014', EN_DASH = '\u2013';

  const data = JSON.parse(document.getElementById('flame-data').textContent);
  const layout = data.layout;
  const fullWidth = layout.width - 2 * layout.pad;
  const element = (id) => document.getElementById(id);
  const native = new Set(data.native);  // label indices of native frames
  const timeline = data.timeline;       // null when nothing was sampled
  const svg = document.documentElement;
  const staticHeight = Number(svg.getAttribute('height'));

  let view = null;     // the entry of data.views on show
  let frames = [];     // its frames in pre-order: frame i's subtree is frames[i, frames[i].end)
  let zoomed = 0;      // index of the frame filling the width; 0 (the root) when not zoomed
  let searchTerm = '';
  let range = null;    // the selected time range and the views recomputed over it; null: none

  // --- Same arithmetic as flamegraph_svg.cc, so a redraw looks like the static drawing. ---

  function warmColor(hash) {
    return 'rgb(' + (205 + hash % 51) + ',' + ((hash >> 8) % 231) + ',' + ((hash >> 16) % 56) + ')';
  }

  function nativeColor(hash) {
    return 'rgb(' + (30 + hash % 50) + ',' + (120 + (hash >> 8) % 70) + ',' +
           (180 + (hash >> 16) % 60) + ')';
  }

  function stateColor(state, hash) {
    const shift = 2 * (hash % 21 - 10);
    const channel = (value) => Math.min(255, Math.max(0, value + shift));
    return 'rgb(' + data.states[state].rgb.map(channel).join(',') + ')';
  }

  // What of `label` fits in `width`, cut with ".." as flamegraph.pl does (code points, not
  // UTF-16 units, so a character outside the BMP is never split).
  function fitText(label, width) {
    const chars = Math.floor(width / (layout.fontSize * layout.charWidth));
    if (chars < 3) return '';
    const codePoints = Array.from(label);
    if (codePoints.length <= chars) return label;
    return codePoints.slice(0, chars - 2).join('') + '..';
  }

  const percentOf = (weight, digits) => (100 * weight / view.total).toFixed(digits);

  // --- Building a view. ---

  function flatten(root) {
    const list = [];
    (function visit(node, depth, offset) {
      const isRoot = node[LABEL] < 0;
      const hash = isRoot ? 0 : data.hashes[node[LABEL]];
      const frame = {
        label: isRoot ? data.rootLabel : data.labels[node[LABEL]],
        weight: node[WEIGHT],
        state: node[STATE],
        isRoot: isRoot,
        color: isRoot                   ? data.rootColor
               : native.has(node[LABEL]) ? nativeColor(hash)
               : view.tagged             ? stateColor(node[STATE], hash)
                                         : warmColor(hash),
        depth: depth,
        offset: offset,  // in weight units from the view's left edge
        end: 0,
      };
      list.push(frame);
      let childOffset = offset;
      for (const child of node[CHILDREN] || []) {
        visit(child, depth + 1, childOffset);
        childOffset += child[WEIGHT];
      }
      frame.end = list.length;
    })(root, 0, 0);
    return list;
  }

  function svgChild(parent, name, attributes) {
    const child = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) child.setAttribute(key, String(value));
    parent.appendChild(child);
    return child;
  }

  function describe(frame) {
    const state = view.tagged && !frame.isRoot ? data.states[frame.state].words + ', ' : '';
    return state + frame.weight + ' ' + view.unit + ', ' + percentOf(frame.weight, 2) + '%';
  }

  function drawFrame(group, frame, index) {
    const y = layout.framesBottom - (frame.depth + 1) * layout.frameHeight;
    frame.element = svgChild(group, 'g', {class: 'frame', 'data-index': index});
    svgChild(frame.element, 'title', {}).textContent = frame.label + '\n' + describe(frame);
    frame.rect = svgChild(frame.element, 'rect',
                          {y: y, height: layout.frameHeight - 1, rx: 2, fill: frame.color});
    frame.text = svgChild(frame.element, 'text', {y: y + layout.frameHeight - 4});
  }

  function drawEmptyMessage(group) {
    view.empty.forEach((line, i) => {
      const y = layout.messageTop + i * layout.messageLineHeight;
      svgChild(group, 'text', {class: 'empty', x: layout.centerX, y: y}).textContent = line;
    });
  }

  function setHeight(height) {
    svg.setAttribute('height', height);
    svg.setAttribute('viewBox', '0 0 ' + layout.width + ' ' + height);
  }

  const show = (id, shown) => shown ? element(id).removeAttribute('display')
                                    : element(id).setAttribute('display', 'none');

  function showView(name) {
    const timelineView = name === 'timeline';
    const next = timelineView ? TIMELINE : (range ? range.views : data.views)
                                               .find((candidate) => candidate.name === name);
    if (!next) return false;
    view = next;
    frames = view.root ? flatten(view.root) : [];
    zoomed = 0;
    const group = element('frames');
    while (group.firstChild) group.removeChild(group.firstChild);
    if (frames.length === 0 && !timelineView) drawEmptyMessage(group);
    frames.forEach((frame, index) => drawFrame(group, frame, index));
    placeFrames();
    applySearch();
    for (const tab of document.querySelectorAll('.tab')) {
      tab.setAttribute('class', tab.getAttribute('data-view') === name ? 'tab active' : 'tab');
    }
    element('title-view').textContent = name;
    element('about').textContent =
        view.about + (range && !timelineView ? ' ' + DASH + ' range ' + range.text : '');
    show('legend', view.tagged);
    show('frames', !timelineView);
    show('timeline', timelineView);
    if (timelineView && !element('timeline').firstChild) drawTimeline();
    setHeight(timelineView ? timelineHeight() : staticHeight);
    element('details').textContent = BLANK;
    return true;
  }

  // --- Zoom: the zoomed frame fills the width, its ancestors stay (greyed, full width) and
  // everything else is hidden, as in flamegraph.pl. ---

  function placeFrames() {
    element('reset-zoom').setAttribute('opacity', zoomed > 0 ? '1' : '0.5');
    if (frames.length === 0) return;
    const focus = frames[zoomed];
    const scale = fullWidth / focus.weight;
    frames.forEach((frame, i) => {
      const inFocus = i >= zoomed && i < focus.end;
      const ancestor = i < zoomed && zoomed < frame.end;
      if (!inFocus && !ancestor) {
        frame.element.setAttribute('display', 'none');
        return;
      }
      frame.element.removeAttribute('display');
      frame.element.setAttribute('class', ancestor ? 'frame parent' : 'frame');
      const x = ancestor ? layout.pad : layout.pad + (frame.offset - focus.offset) * scale;
      const width = ancestor ? fullWidth : frame.weight * scale;
      frame.rect.setAttribute('x', x.toFixed(2));
      frame.rect.setAttribute('width', width.toFixed(2));
      frame.text.setAttribute('x', (x + 3).toFixed(2));
      frame.text.textContent = fitText(frame.label, width);
    });
  }

  function zoom(index) {
    if (index < 0 || index >= frames.length) return;
    zoomed = index;
    placeFrames();
  }

  const resetZoom = () => zoom(0);

  // --- Search: a case-insensitive regular expression (a plain substring if it does not
  // compile). "Matched" counts each matching subtree once, so nested matches (recursion) do
  // not count twice. ---

  function matcherFor(term) {
    try {
      return new RegExp(term, 'i');
    } catch (error) {
      return new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    }
  }

  function applySearch() {
    const matcher = searchTerm ? matcherFor(searchTerm) : null;
    let matchedWeight = 0;
    let countedUntil = 0;  // frames before this index lie inside a subtree already counted
    frames.forEach((frame, i) => {
      const hit = matcher !== null && !frame.isRoot && matcher.test(frame.label);
      frame.rect.setAttribute('fill', hit ? HIGHLIGHT : frame.color);
      if (hit && i >= countedUntil) {
        matchedWeight += frame.weight;
        countedUntil = frame.end;
      }
    });
    const shown = matcher !== null && view.total > 0;
    element('matched').textContent =
        shown ? 'Matched: ' + percentOf(matchedWeight, 1) + '%' : BLANK;
  }

  function search(term) {
    searchTerm = term ? String(term) : '';
    applySearch();
    return element('matched').textContent;
  }

  const clearSearch = () => search('');

  // --- A time range: every flame view recomputed from the timeline's runs, with the rules of
  // Profile::AddSample (wall: every run, idle ones only when kept; cpu: running without the GIL,
  // or holding it outside a system call; wait: waiting; gil: holding; blame: the run's blame).
  // A range holds whole samples: those whose time t has from <= t < to. A run's blame is only
  // known summed over the run, so a partly covered run counts it in proportion to the samples
  // covered, rounded. (gil counts every thread in a holding state: the sampler settles one
  // holder per GIL, so this differs only for a torn read of an unpaused target.) ---

  // Per run: first sample, samples, state, stack, blame, interpreter, blocked in a system call.
  const RUN_FIELDS = 7;
  const WAITING = 2, RUNNING = 3, IDLE = 4;  // ThreadState's values
  const holds = (state) => state === 0 || state === 1;
  const endTime = () => timeline.times[timeline.times.length - 1];
  const interpreterLabels = new Map(timeline ? timeline.interpreters : []);

  // Sample i's time, in seconds from the first; sampleTime(samples) is the recording's end.
  function sampleTime(i) {
    const stride = timeline.stride, j = Math.floor(i / stride), start = j * stride;
    if (i === start) return timeline.times[j];
    const end = Math.min(start + stride, timeline.samples);
    return timeline.times[j] +
           (i - start) / (end - start) * (timeline.times[j + 1] - timeline.times[j]);
  }

  // The first sample at or after `seconds` (samples when none).
  function sampleAt(seconds) {
    let low = 0, high = timeline.samples;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (sampleTime(middle) < seconds) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  // One view's weighted stacks as a tree in the embedded format, pruned and ordered as
  // flamegraph_svg.cc does (labels are indexed in sorted order, so indices compare as labels).
  function treeOf(paths) {
    const root = {label: -1, state: 0, weight: 0, children: new Map()};
    for (const path of paths.values()) {
      root.weight += path.weight;
      let node = root;
      for (const label of path.labels) {
        const key = label * 8 + path.state;
        let child = node.children.get(key);
        if (!child) {
          child = {label: label, state: path.state, weight: 0, children: new Map()};
          node.children.set(key, child);
        }
        child.weight += path.weight;
        node = child;
      }
    }
    const total = root.weight;
    const wideEnough = (node) => node.weight * 1000 >= total * layout.pruneBelowPerMille;
    const toData = (node) => {
      const kept = Array.from(node.children.values()).filter(wideEnough)
                       .sort((a, b) => a.label - b.label || a.state - b.state);
      const out = [node.label, node.weight, node.state];
      if (kept.length > 0) out.push(kept.map(toData));
      return out;
    };
    return {total: total, root: total > 0 ? toData(root) : null};
  }

  // The five flame views over samples [first, end).
  function rangeViews(first, end, text) {
    const paths = new Map(data.views.map((base) => [base.name, new Map()]));
    const tagged = new Map(data.views.map((base) => [base.name, base.tagged]));
    function add(name, state, stack, interpreter, weight) {
      if (weight <= 0) return;
      const shown = tagged.get(name) ? state : name === 'wait' ? WAITING : 0;
      const key = stack + ',' + shown + ',' + (timeline.split ? interpreter : '');
      const byKey = paths.get(name);
      let path = byKey.get(key);
      if (!path) {
        const root = timeline.split ? [interpreterLabels.get(interpreter)] : [];
        path = {labels: root.concat(timeline.stacks[stack]), state: shown, weight: 0};
        byKey.set(key, path);
      }
      path.weight += weight;
    }
    for (const thread of timeline.threads) {
      const runs = thread.runs;
      for (let r = 0; r < runs.length; r += RUN_FIELDS) {
        const [start, count, state, stack, blame, interpreter, blocked] =
            runs.slice(r, r + RUN_FIELDS);
        const covered = Math.min(start + count, end) - Math.max(start, first);
        if (covered <= 0 || (state === IDLE && !timeline.idleKept)) continue;
        const addTo = (name, weight) => add(name, state, stack, interpreter, weight);
        addTo('wall', covered);
        if (state === RUNNING || (holds(state) && !blocked)) addTo('cpu', covered);
        if (state === WAITING) addTo('wait', covered);
        if (holds(state)) {
          addTo('gil', covered);
          addTo('blame', covered === count ? blame : Math.round(blame * covered / count));
        }
      }
    }
    return data.views.map((base) => {
      const tree = treeOf(paths.get(base.name));
      return Object.assign({}, base, tree, {
        empty: tree.total > 0 ? [] : ['Nothing in this view between ' + text + '.'],
      });
    });
  }

  // Selects [from, to) in seconds; the flame views show it until clearRange. Returns the range
  // as text, or null where a range cannot be selected.
  function selectRange(from, to) {
    if (!timeline || timeline.coarse) return null;
    from = Math.max(0, from);
    to = Math.min(endTime(), to);
    if (!(to > from)) return null;
    const text = from.toFixed(2) + EN_DASH + to.toFixed(2) + ' s';
    range = {from: from, to: to, text: text,
             views: rangeViews(sampleAt(from), sampleAt(to), text)};
    rangeChanged();
    return text;
  }

  function clearRange() {
    range = null;
    rangeChanged();
  }

  function rangeChanged() {
    show('reset-range', range !== null);
    if (element('timeline').firstChild) markRange();
    showView(view.name);
  }

  // --- The timeline view: time across, one lane per thread (the first MAX_LANES seen), each
  // run a rect in its state's colour. Drawn on first show. ---

  const LANE_HEIGHT = 16, LABEL_WIDTH = 220, MAX_LANES = 100;
  const lanesLeft = layout.pad + LABEL_WIDTH, lanesWidth = layout.width - layout.pad - lanesLeft;
  const lanesTop = layout.framesTop + 44;
  const laneCount = () => timeline ? Math.min(timeline.threads.length, MAX_LANES) : 0;
  const TIMELINE = {
    name: 'timeline', tagged: true, total: 0, root: null, empty: [],
    about: 'timeline: each thread\'s GIL state over time; drag across the lanes to see the ' +
           'other views over that time range',
  };
  const timelineHeight = () => Math.max(staticHeight, lanesTop + laneCount() * LANE_HEIGHT + 40);
  const xOf = (seconds) => lanesLeft + seconds / endTime() * lanesWidth;
  const timeOf = (x) => Math.min(endTime(), Math.max(0, (x - lanesLeft) / lanesWidth * endTime()));
  const stateRgb = (state) => 'rgb(' + data.states[state].rgb.join(',') + ')';

  // A tick step of 1, 2 or 5 times a power of ten giving about ten ticks.
  function tickStep(seconds) {
    const power = Math.pow(10, Math.floor(Math.log10(seconds / 10)));
    return [1, 2, 5, 10].map((m) => m * power).find((step) => seconds / step <= 10);
  }

  function drawTimeline() {
    const group = element('timeline');
    const top = layout.framesTop;
    svgChild(group, 'text', {id: 'timeline-details', x: layout.pad, y: top + 8})
        .textContent = BLANK;
    svgChild(group, 'text', {id: 'timeline-range', x: layout.width - layout.pad, y: top + 8});
    if (!timeline) {
      svgChild(group, 'text', {class: 'empty', x: layout.centerX, y: layout.messageTop})
          .textContent = 'No sample was recorded.';
      return;
    }
    const step = tickStep(endTime());
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    for (let k = 0; k * step <= endTime() * (1 + 1e-9); ++k) {
      const x = xOf(k * step);
      svgChild(group, 'rect', {x: x - 0.5, y: lanesTop - 8, width: 1, height: 6, fill: '#888'});
      svgChild(group, 'text', {class: 'tick', x: x + 12, y: lanesTop - 12})
          .textContent = (k * step).toFixed(digits) + ' s';
    }
    const lanes = svgChild(group, 'g', {id: 'lanes', class: 'lanes'});
    timeline.threads.slice(0, MAX_LANES).forEach((thread, t) => {
      const y = lanesTop + t * LANE_HEIGHT;
      const tid = ' (tid ' + thread.tid + ')';  // kept whole; the name is cut to fit
      const nameWidth = LABEL_WIDTH - 6 - tid.length * layout.fontSize * layout.charWidth;
      svgChild(group, 'text', {class: 'lane-label', x: layout.pad, y: y + LANE_HEIGHT - 4})
          .textContent = fitText(thread.name || 'thread', nameWidth) + tid;
      const lane = svgChild(lanes, 'g', {class: 'lane', 'data-thread': t});
      svgChild(lane, 'rect', {x: lanesLeft, y: y, width: lanesWidth, height: LANE_HEIGHT - 1,
                              fill: '#ececec'});
      for (let r = 0; r < thread.runs.length; r += RUN_FIELDS) {
        const from = sampleTime(thread.runs[r]);
        const to = sampleTime(thread.runs[r] + thread.runs[r + 1]);
        svgChild(lane, 'rect', {
          class: 'segment', 'data-run': r / RUN_FIELDS, x: xOf(from).toFixed(2), y: y,
          width: (xOf(to) - xOf(from)).toFixed(2), height: LANE_HEIGHT - 1,
          fill: stateRgb(thread.runs[r + 2]),
        });
      }
    });
    svgChild(group, 'rect', {id: 'timeline-selection', y: lanesTop - 2, fill: 'rgb(40,120,220)',
                             height: laneCount() * LANE_HEIGHT + 2, opacity: 0.25,
                             'pointer-events': 'none', display: 'none'});
    if (timeline.threads.length > MAX_LANES) {
      svgChild(group, 'text', {x: layout.pad, y: lanesTop + laneCount() * LANE_HEIGHT + 16})
          .textContent = (timeline.threads.length - MAX_LANES) +
                         ' more threads not drawn (their runs count in a range)';
    }
    wireLanes(lanes);
    markRange();
  }

  // The selection over the lanes, and what the range line says.
  function markRange(from, to) {
    const selection = element('timeline-selection');
    if (from === undefined && range) [from, to] = [xOf(range.from), xOf(range.to)];
    if (selection && from !== undefined) {
      selection.setAttribute('x', Math.min(from, to).toFixed(2));
      selection.setAttribute('width', Math.abs(to - from).toFixed(2));
      selection.removeAttribute('display');
    } else if (selection) {
      selection.setAttribute('display', 'none');
    }
    let words = range ? 'selected ' + range.text + ' (double-click or Reset range to clear)'
                      : 'drag across the lanes to select a time range';
    if (timeline && timeline.coarse) {
      words = 'too many runs to embed: each lane shows its thread\'s main state per time ' +
              'bucket, and range selection is off';
    }
    if (timeline && timeline.truncated) words += '; recorded past its end, too long to keep';
    element('timeline-range').textContent = words;
  }

  function laneHover(event) {
    const segment = event.target.closest ? event.target.closest('.segment') : null;
    if (!segment) return BLANK;
    const thread = timeline.threads[Number(segment.parentNode.getAttribute('data-thread'))];
    const r = Number(segment.getAttribute('data-run')) * RUN_FIELDS;
    const [start, count, state, stack] = thread.runs.slice(r, r + 4);
    const labels = timeline.stacks[stack];
    return (thread.name || 'thread') + ' (tid ' + thread.tid + ') ' + DASH + ' ' +
           sampleTime(start).toFixed(2) + EN_DASH + sampleTime(start + count).toFixed(2) + ' s, ' +
           (timeline.coarse ? 'mostly ' : '') + data.states[state].words + ', ' +
           data.labels[labels[labels.length - 1]];
  }

  function svgX(event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse()).x;
  }

  // Hover details; a drag selects a range (a click without moving does not); double-click
  // clears it.
  function wireLanes(lanes) {
    let dragFrom = null;
    lanes.addEventListener('mouseover', (event) => {
      element('timeline-details').textContent = laneHover(event);
    });
    lanes.addEventListener('mouseout', () => {
      element('timeline-details').textContent = BLANK;
    });
    lanes.addEventListener('mousedown', (event) => {
      if (timeline.coarse) return;
      event.preventDefault();
      dragFrom = svgX(event);
      markRange(dragFrom, dragFrom);
    });
    document.addEventListener('mousemove', (event) => {
      if (dragFrom !== null) markRange(dragFrom, svgX(event));
    });
    document.addEventListener('mouseup', (event) => {
      if (dragFrom === null) return;
      const to = svgX(event), from = dragFrom;
      dragFrom = null;
      if (Math.abs(to - from) < 2 || selectRange(timeOf(Math.min(from, to)),
                                                 timeOf(Math.max(from, to))) === null) {
        markRange();
      }
    });
    lanes.addEventListener('dblclick', clearRange);
  }

  // --- Wiring. ---

  function frameIndexOf(event) {
    const frameElement = event.target.closest ? event.target.closest('.frame') : null;
    return frameElement ? Number(frameElement.getAttribute('data-index')) : -1;
  }

  const framesGroup = element('frames');
  framesGroup.addEventListener('click', (event) => zoom(frameIndexOf(event)));
  framesGroup.addEventListener('mouseover', (event) => {
    const index = frameIndexOf(event);
    if (index < 0) return;
    element('details').textContent = frames[index].label + ' \u2014 ' + describe(frames[index]);
  });
  framesGroup.addEventListener('mouseout', () => { element('details').textContent = BLANK; });
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => showView(tab.getAttribute('data-view')));
  }
  element('reset-zoom').addEventListener('click', resetZoom);
  element('search').addEventListener('click', () => {
    const term = window.prompt('Search frames (regular expression, case-insensitive):', searchTerm);
    if (term !== null) search(term);
  });
  element('clear-search').addEventListener('click', clearSearch);
  element('reset-range').addEventListener('click', clearRange);

  // As flamegraph.pl: ?s=term searches on load; ?view=name opens another view.
  const params = new URLSearchParams(window.location.search);
  searchTerm = params.get('s') || '';
  if (!showView(params.get('view') || data.open)) showView(data.open);

  // For tests and the curious (the browser console).
  window.flamegraph = {
    showView: showView,
    view: () => view.name,
    zoom: zoom,
    resetZoom: resetZoom,
    search: search,
    clearSearch: clearSearch,
    selectRange: selectRange,
    clearRange: clearRange,
    range: () => range && range.text,
  };
  document.documentElement.setAttribute('data-ready', 'true');
})();
