#!/usr/bin/env python3
"""shards.py: every test class runs in exactly one shard, whole, and bad K/N is refused."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shards  # noqa: E402


def make_class(name, methods):
    return type(name, (unittest.TestCase,),
                {method: (lambda self: None) for method in methods})


def module_suite():
    classes = [make_class("Checks_%d" % number, ["test_a", "test_b", "test_c"][:number % 3 + 1])
               for number in range(7)]
    loader = unittest.defaultTestLoader
    return unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in classes)


def names(suite):
    return [test.id() for test in shards._tests(suite)]


class ShardsTest(unittest.TestCase):
    def test_every_test_in_exactly_one_shard_with_its_whole_class(self):
        everything = names(module_suite())
        for count in (1, 2, 3, 4, 7, 10):
            seen = []
            for index in range(count):
                mine = names(shards.select(module_suite(), index, count))
                classes = set(name.split(".")[-2] for name in mine)
                for cls in classes:  # whole classes only
                    self.assertEqual(
                        sorted(n for n in mine if n.split(".")[-2] == cls),
                        sorted(n for n in everything if n.split(".")[-2] == cls))
                seen += mine
            self.assertEqual(sorted(seen), sorted(everything), "count %d" % count)

    def test_classes_are_dealt_in_order(self):
        mine = names(shards.select(module_suite(), 1, 3))
        self.assertEqual(sorted(set(name.split(".")[-2] for name in mine)),
                         ["Checks_1", "Checks_4"])

    def test_parse(self):
        self.assertEqual(shards.parse(None), (0, 1))
        self.assertEqual(shards.parse(""), (0, 1))
        self.assertEqual(shards.parse("2/3"), (2, 3))
        for bad in ("3/3", "1/0", "a/b", "1", "-1/2", "1/2/3"):
            with self.subTest(bad=bad):
                with self.assertRaises(shards.ShardError):
                    shards.parse(bad)


if __name__ == "__main__":
    unittest.main()
