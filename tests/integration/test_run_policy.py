"""run.py's verdict: in CI a skipped test fails the module; locally it is listed and the rest decides.

Runs small suites in this process (no network, no root), so the rule that keeps CI honest cannot rot silently.
"""

from __future__ import annotations

import io
import unittest
from contextlib import redirect_stdout

from run import EXIT_FAILED, EXIT_PASSED, EXIT_SKIPPED, verdict


class _Passes(unittest.TestCase):
    def test_ok(self):
        pass


class _Skips(unittest.TestCase):
    def test_skipped(self):
        self.skipTest("missing tools: socat")


class _SkipsInSetUpClass(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise unittest.SkipTest("no network namespaces")

    def test_never_runs(self):
        pass


def _run(*cases: type[unittest.TestCase]) -> unittest.TestResult:
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in cases)
    return unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)


class RunPolicy(unittest.TestCase):
    def verdict(self, strict: bool, *cases: type[unittest.TestCase]) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = verdict(_run(*cases), strict)
        return code, out.getvalue()

    def test_all_passed(self):
        self.assertEqual(self.verdict(True, _Passes)[0], EXIT_PASSED)
        self.assertEqual(self.verdict(False, _Passes)[0], EXIT_PASSED)

    def test_one_skip_among_passes_fails_in_ci(self):
        code, out = self.verdict(True, _Passes, _Skips)
        self.assertEqual(code, EXIT_FAILED)
        self.assertIn("missing tools: socat", out)

    def test_one_skip_among_passes_is_listed_locally(self):
        code, out = self.verdict(False, _Passes, _Skips)
        self.assertEqual(code, EXIT_PASSED)
        self.assertIn("SKIPPED", out)
        self.assertIn("missing tools: socat", out)

    def test_skip_in_set_up_class_fails_in_ci(self):
        code, out = self.verdict(True, _SkipsInSetUpClass)
        self.assertEqual(code, EXIT_FAILED)
        self.assertIn("no network namespaces", out)

    def test_everything_skipped_is_not_run_locally(self):
        self.assertEqual(self.verdict(False, _SkipsInSetUpClass)[0], EXIT_SKIPPED)

    def test_no_tests_fails(self):
        self.assertEqual(self.verdict(False)[0], EXIT_FAILED)


def load_tests(loader: unittest.TestLoader, tests, pattern) -> unittest.TestSuite:
    """Only RunPolicy: the small suites above are its fixtures, not tests of this module."""
    return loader.loadTestsFromTestCase(RunPolicy)


if __name__ == "__main__":
    unittest.main()
