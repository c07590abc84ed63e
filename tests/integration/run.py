#!/usr/bin/python3
"""Runs one integration test module for CTest: exit 0 passed, 1 failed, 77 everything skipped.

    /usr/bin/python3 run.py test_testnet [TestClass[.test_method] ...]
"""

import sys
import unittest
from pathlib import Path

EXIT_PASSED, EXIT_FAILED, EXIT_SKIPPED = 0, 1, 77  # 77: CTest SKIP_RETURN_CODE (and automake's)


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
    if not result.wasSuccessful():
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


if __name__ == "__main__":
    sys.exit(main(sys.argv))
