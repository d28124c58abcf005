// The flame graph's behaviour. flamegraph_svg.cc pastes this into the SVG after the JSON it
// reads (#flame-data). It redraws any view from that data and handles the view switch, zoom,
// search and hover details.
//
// Frame names come from the profiled process and are hostile: they only ever reach the page
// through textContent and setAttribute, never as markup. (This file is embedded in a CDATA
// section inside a C++ raw string: it must not contain the CDATA terminator, nor the at-sign,
// which CMake's file(CONFIGURE) would substitute.)
(function () {
  'use strict';

  const SVG_NS = 'http://www.w3.org/2000/svg';
  // A node of the data: [label index (-1 for the root), weight, state, children]; leaves have
  // no children entry.
  const LABEL = 0, WEIGHT = 1, STATE = 2, CHILDREN = 3;
  const HIGHLIGHT = 'rgb(230,0,230)';  // flamegraph.pl's search colour
  const BLANK = ' ';                    // an empty <text> would collapse; a space keeps its place

  const data = JSON.parse(document.getElementById('flame-data').textContent);
  const layout = data.layout;
  const fullWidth = layout.width - 2 * layout.pad;
  const element = (id) => document.getElementById(id);

  let view = null;     // the entry of data.views on show
  let frames = [];     // its frames in pre-order: frame i's subtree is frames[i, frames[i].end)
  let zoomed = 0;      // index of the frame filling the width; 0 (the root) when not zoomed
  let searchTerm = '';

  // --- Same arithmetic as flamegraph_svg.cc, so a redraw looks like the static drawing. ---

  function warmColor(hash) {
    return 'rgb(' + (205 + hash % 51) + ',' + ((hash >> 8) % 231) + ',' + ((hash >> 16) % 56) + ')';
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
        color: isRoot ? data.rootColor
                      : view.tagged ? stateColor(node[STATE], hash) : warmColor(hash),
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

  function showView(name) {
    const next = data.views.find((candidate) => candidate.name === name);
    if (!next) return false;
    view = next;
    frames = view.root ? flatten(view.root) : [];
    zoomed = 0;
    const group = element('frames');
    while (group.firstChild) group.removeChild(group.firstChild);
    if (frames.length === 0) drawEmptyMessage(group);
    frames.forEach((frame, index) => drawFrame(group, frame, index));
    placeFrames();
    applySearch();
    for (const tab of document.querySelectorAll('.tab')) {
      tab.setAttribute('class', tab.getAttribute('data-view') === name ? 'tab active' : 'tab');
    }
    element('title-view').textContent = name;
    element('about').textContent = view.about;
    if (view.tagged) element('legend').removeAttribute('display');
    else element('legend').setAttribute('display', 'none');
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
  };
  document.documentElement.setAttribute('data-ready', 'true');
})();
