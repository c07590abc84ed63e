#!/usr/bin/python3
"""Runs one integration test module for CTest: exit 0 passed, 1 failed, 77 everything skipped.

    /usr/bin/python3 run.py test_testnet [TestClass[.test_method] ...]

In CI (CI=true, as CI sets it, or SG_NO_SKIP=1) a skip is a failure: a missing tool, no network namespaces or
an unset STREAMGATE_BIN must turn the run red, never into "Not Run". Locally a skip stays a skip, and every
skipped test is listed with its reason.
"""

import sys
import unittest
from pathlib import Path

from testnet import skips_fail

EXIT_PASSED, EXIT_FAILED, EXIT_SKIPPED = 0, 1, 77  # 77: CTest SKIP_RETURN_CODE (and automake's)


def verdict(result: unittest.TestResult, strict: bool) -> int:
    """The exit code for a finished run (see the module docstring)."""
    if not result.wasSuccessful():
        return EXIT_FAILED
    for test, reason in result.skipped:
        print(f"SKIPPED {test.id() if isinstance(test, unittest.TestCase) else test}: {reason}")
    if result.skipped and strict:
        print(f"{len(result.skipped)} skipped: a skip is a failure in CI (CI=true or SG_NO_SKIP=1)")
        return EXIT_FAILED
    # A SkipTest in setUpModule/setUpClass is reported as one skip that is not counted in testsRun.
    skipped_tests = sum(1 for test, _ in result.skipped if isinstance(test, unittest.TestCase))
    executed = result.testsRun - skipped_tests - len(result.expectedFailures)
    if result.skipped and executed <= 0:
        return EXIT_SKIPPED
    if result.testsRun == 0 and not result.skipped:
        print("no tests found", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_PASSED


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    module = argv[1].removesuffix(".py")
    names = [f"{module}.{name}" for name in argv[2:]] or [module]
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    return verdict(result, skips_fail())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
