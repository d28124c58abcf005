# Generates the line-table fixtures in testdata/linetables/ that tests/unit/line_table_test.cc
# checks gilscope's decoder (src/walkers/line_table.cc) against.
#
# Every fixture is produced by a real CPython: the script compiles a fixed set of tricky
# snippets, and for every code object (recursively through co_consts) records the raw line
# table and the line CPython itself assigns to every instruction offset.
#
# To regenerate (from the repository root), run it under each installed interpreter:
#
#   for py in /root/.pyenv/versions/*/bin/python; do
#     "$py" tests/tools/gen_line_fixtures.py testdata/linetables
#   done
#
# It writes testdata/linetables/<major>.<minor>.txt. It must keep running under Python 2.7
# and 3.6-3.13, so: no f-strings, no nonlocal, print() with a single argument only.
#
# Ground truth (the expected line of each offset):
#   <= 3.9   dis.findlinestarts(code): a line applies from its start offset until the next
#            start. Offsets are instruction starts only: every 2 bytes for 3.6-3.9; for 2.7
#            the instruction boundaries found by walking co_code (3 bytes when the opcode is
#            >= dis.HAVE_ARGUMENT, else 1).
#   >= 3.10  code.co_lines(): (start, end, line) byte ranges, line None -> -1; every 2-byte
#            code unit of co_code is recorded (for 3.11+ that includes CACHE entries).
# As a second, independent oracle, the interpreter's own C function PyCode_Addr2Line is
# called through ctypes for every recorded offset; the script refuses to write a fixture
# if the two disagree.
#
# File format (text, one token per field, separated by single spaces):
#   # comment lines
#   version X.Y.Z
#   code NAME FIRSTLINE FORMAT CODESIZE HEXTABLE     (HEXTABLE is "-" when the table is empty)
#   OFFSET LINE                                      (one line per instruction offset)
#   end
# NAME is "<snippet>:<co_name>". FORMAT is one of lnotab_unsigned (2.7 co_lnotab),
# lnotab_signed (3.6-3.9 co_lnotab), linetable310 (3.10 co_linetable), locations311 (3.11+
# co_linetable). CODESIZE is len(co_code) in bytes.

import binascii
import dis
import os
import sys
import types

VERSION = sys.version_info[:2]


def _long_sum(name, terms):
    return " + ".join([name] * terms)


# A function with a one-line statement big enough that its bytecode exceeds 255 bytes, a gap
# of more than 127 (and more than 255) lines between statements, comments and blank lines.
LONG_FUNCTION = (
    "def long_function(a, b):\n"
    "    x = " + _long_sum("a", 150) + "\n"
    "    # a comment\n"
    + "\n" * 140 +
    "    y = x * b\n"
    + "    # filler comment\n" * 300 +
    "    if y:\n"
    "        y = " + _long_sum("b", 90) + "\n"
    "    return y - 1\n"
)

# Decreasing lines with deltas below -127: a call whose arguments span hundreds of lines, and a
# loop whose body is long enough that the backward jump returns more than 127 lines up.
BACKWARDS = (
    "def backwards(f, a, items):\n"
    "    r = f(\n"
    "        a,\n"
    + "\n" * 200 +
    "        a)\n"
    "    for i in items:\n"
    "        r = r + i\n"
    + "        # loop body comment\n" * 150 +
    "        r = r * 2\n"
    "    return r\n"
)

# Columns beyond 127 force the long-form location entries in 3.11+.
WIDE_COLUMNS = (
    "def wide(a, b):\n"
    "    return " + "a" + " " * 140 + "+ b + " + " " * 200 + "a(b)\n"
)

SNIPPETS = [
    ("straight",
     "a = 1\n"
     "b = a + 2\n"
     "c = b * a\n"
     "print(c)\n"),
    ("loops",
     "total = 0\n"
     "for i in range(10):\n"
     "    if i % 2:\n"
     "        continue\n"
     "    total += i\n"
     "else:\n"
     "    total -= 1\n"
     "n = 0\n"
     "while n < 5:\n"
     "    n += 1\n"
     "    if n == 4:\n"
     "        break\n"
     "print(total)\n"),
    ("spaced",
     "def spaced(a, b):\n"
     "    # leading comment\n"
     "\n"
     "    x = a\n"
     "\n"
     "\n"
     "    # middle comment\n"
     "    y = (x +\n"
     "         b +\n"
     "\n"
     "         a)\n"
     "\n"
     "    return (\n"
     "        x,\n"
     "        y,\n"
     "    )\n"),
    ("long", LONG_FUNCTION),
    ("backwards", BACKWARDS),
    ("wide", WIDE_COLUMNS),
    ("nested",
     "def outer(a):\n"
     "    def middle(b):\n"
     "        def inner(c):\n"
     "            return a + b + c\n"
     "        return inner(b)\n"
     "    class Local(object):\n"
     "        attr = a\n"
     "        def method(self):\n"
     "            return self.attr\n"
     "    return middle(a) + Local().method()\n"),
    ("exceptions",
     "def guarded(f, x):\n"
     "    try:\n"
     "        y = f(x)\n"
     "    except ValueError as e:\n"
     "        y = -1\n"
     "    except (KeyError, IndexError):\n"
     "        y = -2\n"
     "    else:\n"
     "        y += 1\n"
     "    finally:\n"
     "        x = None\n"
     "    with open(f) as handle:\n"
     "        y = handle.read()\n"
     "    return y\n"),
    ("lambdas",
     "square = lambda v: v * v\n"
     "pick = lambda a, b: (a\n"
     "                     if a > b\n"
     "                     else b)\n"
     "def apply(items):\n"
     "    return sorted(items, key=lambda item: (\n"
     "        item[1],\n"
     "        item[0]))\n"),
    ("comprehensions",
     "def comprehensions(rows):\n"
     "    flat = [cell\n"
     "            for row in rows\n"
     "            for cell in row\n"
     "            if cell]\n"
     "    squares = dict((k, k * k) for k in flat)\n"
     "    keys = {k: v for k, v in squares.items()}\n"
     "    unique = {c for c in flat}\n"
     "    return sum(x for x in unique), keys\n"),
    ("generator",
     "def gen(n):\n"
     "    i = 0\n"
     "    while i < n:\n"
     "        yield i\n"
     "        i += 1\n"
     "    x = yield\n"
     "    return\n"),
]

# Snippets whose syntax only newer interpreters accept.
if VERSION >= (3, 6):
    SNIPPETS.append(
        ("async",
         "async def fetch(session, urls):\n"
         "    results = []\n"
         "    for url in urls:\n"
         "        async with session.get(url) as response:\n"
         "            results.append(await response.text())\n"
         "    return [r async for r in session.stream()] + results\n"))
if VERSION >= (3, 10):
    SNIPPETS.append(
        ("match",
         "def classify(value):\n"
         "    match value:\n"
         "        case [x, y]:\n"
         "            return x + y\n"
         "        case {'k': v}:\n"
         "            return v\n"
         "        case int() if value > 3:\n"
         "            return value\n"
         "        case _:\n"
         "            return None\n"))
if VERSION >= (3, 11):
    SNIPPETS.append(
        ("exception_groups",
         "def grouped(f):\n"
         "    caught = []\n"
         "    try:\n"
         "        f()\n"
         "    except* ValueError as eg:\n"
         "        caught.append(eg)\n"
         "    except* TypeError:\n"
         "        caught.append(None)\n"
         "    return caught\n"))


def to_bytes(raw):
    if isinstance(raw, bytes):
        return raw
    return raw.encode("latin-1")


def line_table(code):
    if VERSION >= (3, 10):
        table = code.co_linetable
        fmt = "linetable310" if VERSION == (3, 10) else "locations311"
    else:
        table = code.co_lnotab
        fmt = "lnotab_unsigned" if VERSION[0] == 2 else "lnotab_signed"
    return fmt, to_bytes(table)


def instruction_offsets(code):
    size = len(code.co_code)
    if VERSION[0] == 2:
        offsets = []
        i = 0
        while i < size:
            offsets.append(i)
            op = ord(code.co_code[i])
            i += 3 if op >= dis.HAVE_ARGUMENT else 1
        return offsets
    return list(range(0, size, 2))


def expected_lines(code, offsets):
    result = {}
    if VERSION >= (3, 10):
        ranges = list(code.co_lines())
        for offset in offsets:
            line = -1
            for start, end, range_line in ranges:
                if start <= offset < end:
                    line = -1 if range_line is None else range_line
                    break
            result[offset] = line
        return result
    starts = list(dis.findlinestarts(code))
    for offset in offsets:
        line = None
        for start, start_line in starts:
            if start <= offset:
                line = start_line
            else:
                break
        if line is None:
            raise SystemExit("no line start at or before offset %d in %s" % (offset, code.co_name))
        result[offset] = line
    return result


def c_addr2line():
    try:
        import ctypes
        function = ctypes.pythonapi.PyCode_Addr2Line
    except (ImportError, AttributeError):
        return None
    function.argtypes = [ctypes.py_object, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def walk(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            for nested in walk(const):
                yield nested


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: gen_line_fixtures.py OUTPUT_DIR")
    out_dir = sys.argv[1]
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    addr2line = c_addr2line()
    version = "%d.%d.%d" % sys.version_info[:3]
    lines = [
        "# gilscope line-table fixture generated by tests/tools/gen_line_fixtures.py",
        "# under Python %s; regenerate with that script, do not edit by hand." % version,
        "version " + version,
    ]
    records = 0
    checked = 0
    for snippet, source in SNIPPETS:
        module = compile(source, "<" + snippet + ">", "exec")
        for code in walk(module):
            fmt, table = line_table(code)
            offsets = instruction_offsets(code)
            expected = expected_lines(code, offsets)
            name = snippet + ":" + code.co_name
            if addr2line is not None:
                for offset in offsets:
                    c_line = addr2line(code, offset)
                    if c_line != expected[offset]:
                        raise SystemExit("%s offset %d: co_lines/findlinestarts say %d, "
                                         "PyCode_Addr2Line says %d"
                                         % (name, offset, expected[offset], c_line))
            hex_table = binascii.hexlify(table).decode("ascii") or "-"
            lines.append("code %s %d %s %d %s" % (name, code.co_firstlineno, fmt,
                                                 len(code.co_code), hex_table))
            for offset in offsets:
                lines.append("%d %d" % (offset, expected[offset]))
            lines.append("end")
            records += 1
            checked += len(offsets)
    path = os.path.join(out_dir, "%d.%d.txt" % VERSION)
    handle = open(path, "w")
    try:
        handle.write("\n".join(lines) + "\n")
    finally:
        handle.close()
    sys.stdout.write("%s: %d records, %d offsets, PyCode_Addr2Line cross-check %s\n"
                     % (path, records, checked, "done" if addr2line is not None else "skipped"))


if __name__ == "__main__":
    main()
