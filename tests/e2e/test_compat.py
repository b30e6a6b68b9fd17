"""Rapport against mustache.js 4.2.0: each folder of tests/e2e/compat/ holds a
template, its data, its partials and what mustache.js rendered for them
(expected.txt, made by compat/regen.js; see compat/README.md). Rapport must
print the same bytes."""

import os
import unittest

from harness import HERE, RapportTest

COMPAT = os.path.join(HERE, "compat")
CASES = sorted(name for name in os.listdir(COMPAT)
               if os.path.isdir(os.path.join(COMPAT, name)))


class MustacheJs(RapportTest):
    def test_there_are_cases(self):
        self.assertGreaterEqual(len(CASES), 30)
        for name in CASES:
            for needed in ("template.mustache", "data.json", "expected.txt"):
                self.assertTrue(os.path.isfile(os.path.join(COMPAT, name, needed)),
                                "%s/%s is missing" % (name, needed))


def make_test(name):
    def test(self):
        with open(os.path.join(COMPAT, name, "expected.txt"), "rb") as f:
            expected = f.read()
        r = self.rapport("mustache", os.path.join(name, "template.mustache"),
                         os.path.join(name, "data.json"), cwd=COMPAT)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, "", r)
        self.assertEqual(r.raw, expected, r)
    return test


for _name in CASES:
    setattr(MustacheJs, "test_" + _name.replace("-", "_"), make_test(_name))


if __name__ == "__main__":
    unittest.main(verbosity=2)
