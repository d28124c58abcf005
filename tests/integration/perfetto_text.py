"""Reads a Perfetto trace written by `gilscope record -f perfetto` the way trace_processor does,
decoded by protoc against Perfetto's published schema (testdata/perfetto/perfetto_trace.proto),
so that the field numbers gilscope writes are checked against Perfetto's, not against its own
copy of them.

    trace = perfetto_text.decode(path)   # None (with the reason) when protoc is missing
    trace.tracks                         # {uuid: track descriptor (a Message)}
    trace.slices[uuid]                   # [Slice(name, begin, end, depth)], nested per track
    trace.counters[uuid]                 # [(ts, value)]
    trace.summary                        # {annotation name: value} of "gilscope summary"
    trace.texts                          # every string in the trace, unescaped
"""

import collections
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.realpath(os.path.join(HERE, "..", "..", "testdata", "perfetto"))
SCHEMA = os.path.join(SCHEMA_DIR, "perfetto_trace.proto")

Slice = collections.namedtuple("Slice", "name begin end depth")


class Message(dict):
    """A decoded message: field name -> list of values (scalars or Messages)."""

    def one(self, name, default=None):
        values = self.get(name)
        return values[0] if values else default


_ESCAPE = re.compile(rb"\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)")
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b", b"f": b"\f",
           b"v": b"\v", b"\\": b"\\", b"'": b"'", b'"': b'"', b"?": b"?"}


def _unescape(literal):
    """The text of a C-escaped string literal of protoc's text format (without its quotes)."""
    def replace(match):
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        if code[:1] == b"x" and len(code) > 1:
            return bytes([int(code[1:], 16)])
        return _SIMPLE.get(code, code)
    return _ESCAPE.sub(replace, literal.encode("utf-8")).decode("utf-8")


def _value(text):
    if text.startswith('"'):
        return _unescape(text[1:-1])
    if re.match(r"^-?\d+$", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text  # an enum name, true, false


def parse_text_format(text):
    """protoc --decode's output (one field per line) as nested Messages."""
    root = Message()
    stack = [root]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            child = Message()
            stack[-1].setdefault(line[:-1].strip(), []).append(child)
            stack.append(child)
        else:
            name, value = line.split(":", 1)
            stack[-1].setdefault(name.strip(), []).append(_value(value.strip()))
    if len(stack) != 1:
        raise ValueError("unbalanced braces in protoc's output")
    return root


def protoc_missing():
    """Why the trace cannot be decoded here, or None."""
    if not shutil.which("protoc"):
        return "protoc is not installed (apt-get install protobuf-compiler)"
    return None


class Trace(object):
    def __init__(self, root):
        self.packets = root.get("packet", [])
        self.tracks = {}
        self.slices = collections.defaultdict(list)
        self.counters = collections.defaultdict(list)
        self.summary = {}
        self.texts = []
        names, annotation_names = {}, {}
        events = []  # (ts, file order, track_event)
        for order, packet in enumerate(self.packets):
            interned = packet.one("interned_data", Message())
            for entry in interned.get("event_names", []):
                names[entry.one("iid")] = entry.one("name")
            for entry in interned.get("debug_annotation_names", []):
                annotation_names[entry.one("iid")] = entry.one("name")
            if "track_descriptor" in packet:
                track = packet.one("track_descriptor")
                self.tracks[track.one("uuid")] = track
            elif "track_event" in packet:
                events.append((packet.one("timestamp", 0), order, packet.one("track_event")))
        self._collect_texts(self.packets)
        # trace_processor sorts by timestamp, ties in file order.
        events.sort(key=lambda event: (event[0], event[1]))
        open_slices = collections.defaultdict(list)
        for ts, _, event in events:
            track = event.one("track_uuid")
            kind = event.one("type")
            name = names.get(event.one("name_iid"), event.one("name"))
            if kind == "TYPE_SLICE_BEGIN":
                open_slices[track].append((name, ts))
            elif kind == "TYPE_SLICE_END":
                name, begin = open_slices[track].pop()
                self.slices[track].append(Slice(name, begin, ts, len(open_slices[track])))
            elif kind == "TYPE_COUNTER":
                value = event.one("counter_value", event.one("double_counter_value"))
                self.counters[track].append((ts, value))
            elif kind == "TYPE_INSTANT" and name == "gilscope summary":
                for annotation in event.get("debug_annotations", []):
                    value = None
                    for field in ("string_value", "double_value", "int_value", "bool_value"):
                        if field in annotation:
                            value = annotation.one(field)
                    self.summary[annotation_names[annotation.one("name_iid")]] = value
        self.unclosed = sum(len(slices) for slices in open_slices.values())
        self.end = max([ts for ts, _, _ in events] or [0])

    def _collect_texts(self, values):
        for value in values:
            if isinstance(value, str):
                self.texts.append(value)
            elif isinstance(value, Message):
                for children in value.values():
                    self._collect_texts(children)

    def thread_tracks(self):
        """{uuid: thread descriptor}"""
        return {uuid: track.one("thread") for uuid, track in self.tracks.items()
                if "thread" in track}

    def children_of(self, parent, name):
        """uuids of the tracks named `name` whose parent is track `parent`."""
        return [uuid for uuid, track in self.tracks.items()
                if track.one("parent_uuid") == parent and track.one("name") == name]

    def track_named(self, name):
        return [uuid for uuid, track in self.tracks.items() if track.one("name") == name]


def decode(path):
    """The Trace in path, decoded with protoc against Perfetto's published schema."""
    with open(path, "rb") as stream:
        proc = subprocess.run(["protoc", "--decode=perfetto.protos.Trace", "-I", SCHEMA_DIR,
                               SCHEMA], stdin=stream, capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("protoc could not decode %s: %s" % (path, proc.stderr.decode()))
    return Trace(parse_text_format(proc.stdout.decode("utf-8")))
