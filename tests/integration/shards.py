"""Runs one shard of an integration test module, so that ctest can spread a module's test
classes (one per interpreter, most of them) over every core.

    GILSCOPE_TEST_SHARD=K/N   run the K-th (0-based) of N shards; unset: the whole module

A shard is a set of whole test classes (a class's tests share its setUpClass), dealt out in
the module's own order like cards: class i goes to shard i % N. Module fixtures
(setUpModule, tearDownModule) run in every shard that has a class.

    if __name__ == "__main__":
        shards.main()          # instead of unittest.main()
"""

import os
import re
import sys
import unittest

ENV_VAR = "GILSCOPE_TEST_SHARD"


class ShardError(Exception):
    pass


def parse(text):
    """(index, count) from "K/N"; (0, 1) for None or ""."""
    if not text:
        return 0, 1
    match = re.match(r"^(\d+)/(\d+)$", text)
    if not match:
        raise ShardError("%s=%r: expected K/N, e.g. 0/3" % (ENV_VAR, text))
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        raise ShardError("%s=%r: need 0 <= K < N" % (ENV_VAR, text))
    return index, count


def _tests(suite):
    """Every test case in suite, in order."""
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            for test in _tests(item):
                yield test
        else:
            yield item


def select(suite, index, count):
    """The tests of suite whose class falls in shard index of count, as one flat suite."""
    tests = list(_tests(suite))
    classes = []
    for test in tests:
        if type(test) not in classes:
            classes.append(type(test))
    mine = set(cls for number, cls in enumerate(classes) if number % count == index)
    return unittest.TestSuite(test for test in tests if type(test) in mine)


def label():
    """"" or " [shard K/N]": for lines a shard prints about what it covered."""
    text = os.environ.get(ENV_VAR)
    return " [shard %s]" % text if text else ""


def main(module="__main__"):
    """Runs this process's shard of module's tests (verbose) and exits 0 when they pass."""
    index, count = parse(os.environ.get(ENV_VAR))
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module])
    selected = select(suite, index, count)
    sys.stderr.write("shard %d/%d: %d tests\n" % (index, count, selected.countTestCases()))
    result = unittest.TextTestRunner(verbosity=2).run(selected)
    sys.exit(0 if result.wasSuccessful() else 1)
