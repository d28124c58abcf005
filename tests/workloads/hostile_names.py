# A target whose code objects and threads carry attacker-chosen names, for the untrusted-strings
# tests: markup and script that would run if pasted into an SVG, terminal escape sequences, NUL,
# lone surrogates (3.x) or invalid UTF-8 bytes (2.7), separators of gilscope's own formats, and
# a 100 KB name. Runs on Python 2.7 and 3.6+ (code objects renamed with CodeType.replace on
# 3.8+, with the CodeType constructor before).
#
# Each name runs in its own thread: most spin (so they hold and wait for the GIL, and show in
# every view), one sleeps. Prints "ready" once all run, then runs until killed.
import sys
import threading
import time
import types

PY2 = sys.version_info[0] == 2

HUGE = "x" + u"\u00e9" * 50000  # 100 KB of UTF-8; a cut at an even byte count splits a char
NAMES = [
    u"</text><script>alert(1)</script>",
    u"\"><svg onload=alert(1)>&amp;",
    u"]]></script><script>alert(2)</script><![CDATA[",
    u"\x1b[2J\x1b[31mred\x1b]0;owned\x07\x9b1m",
    u"semi;colon\nnew line\ttab 1234",
    u"nul\x00byte",
    HUGE,
]
if not PY2:
    NAMES.append(u"lone\udcffsurrogate")


def spin():
    while True:
        pass


def nap():
    while True:
        time.sleep(0.05)


def renamed(function, name):
    code = function.__code__
    if PY2:
        raw = name.encode("utf-8", "replace") + b"\xff\xfe\xc3"  # 2.7 names are bytes
        return types.FunctionType(types.CodeType(
            code.co_argcount, code.co_nlocals, code.co_stacksize, code.co_flags, code.co_code,
            code.co_consts, code.co_names, code.co_varnames, raw + b".py", raw,
            code.co_firstlineno, code.co_lnotab, code.co_freevars, code.co_cellvars),
            function.__globals__)
    if sys.version_info >= (3, 8):
        changes = {"co_name": name, "co_filename": name + ".py"}
        if sys.version_info >= (3, 11):
            changes["co_qualname"] = name
        new_code = code.replace(**changes)
    else:
        new_code = types.CodeType(
            code.co_argcount, code.co_kwonlyargcount, code.co_nlocals, code.co_stacksize,
            code.co_flags, code.co_code, code.co_consts, code.co_names, code.co_varnames,
            name + ".py", name, code.co_firstlineno, code.co_lnotab, code.co_freevars,
            code.co_cellvars)
    return types.FunctionType(new_code, function.__globals__)


def main():
    threads = []
    for name in NAMES:
        body = nap if name.startswith(u"nul") else spin
        thread_name = name if not PY2 else name.encode("utf-8", "replace")
        threads.append(threading.Thread(target=renamed(body, name), name=thread_name))
    for thread in threads:
        thread.daemon = True
        thread.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
