#!/usr/bin/python3
"""Loads streamgate's dashboard in headless Chromium (Selenium + chromedriver) and reports what it shows.

    dashboard_probe.py URL [--expect PATH=COUNT ...] [--end PATH --token TOKEN] [--screenshot FILE]

Waits until every table named by --expect (the API path it lists, e.g. /api/v1/socks/sessions) shows COUNT
rows and every chart has two data points or more, takes the screenshot, then, with --end, clicks "end" on
the first row of that table, types TOKEN into the page's prompt, and waits for that row to go. Prints one JSON
object: {"counts": {PATH: rows}, "points": {chart: n}, "ended": id or null, "after_end": rows or null,
"requests": [every URL the page fetched]}. Exit status 0 when everything expected was seen, 1 otherwise
(the JSON still says what was seen). Runs wherever the admin listener is reachable: the test starts it in
the gateway's network namespace when the listener is there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHARTS = ("chart-throughput", "chart-active", "chart-loss")


def browser() -> webdriver.Chrome:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--expect", action="append", default=[], metavar="PATH=COUNT")
    parser.add_argument("--end", metavar="PATH")
    parser.add_argument("--token", default="")
    parser.add_argument("--screenshot")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    expected = {path: int(count) for path, count in (e.rsplit("=", 1) for e in args.expect)}

    driver = browser()
    report = {"counts": {}, "points": {}, "ended": None, "after_end": None, "requests": []}
    ok = True
    try:
        driver.get(args.url)

        def count(path):
            return driver.execute_script(
                "const t = document.querySelector(`table[data-path='${arguments[0]}']`);"
                "return t ? Number(t.dataset.count) : null;", path)

        def points(chart):
            return int(driver.execute_script(
                "return Number(document.getElementById(arguments[0]).dataset.points || 0);", chart))

        ok &= wait_until(lambda: all(count(p) == n for p, n in expected.items()), args.timeout)
        ok &= wait_until(lambda: any(points(c) >= 2 for c in CHARTS), args.timeout)
        report["counts"] = {p: count(p) for p in expected}
        report["points"] = {c: points(c) for c in CHARTS}
        if args.screenshot:
            driver.save_screenshot(args.screenshot)

        if args.end:
            button = driver.execute_script(
                "return document.querySelector(`table[data-path='${arguments[0]}'] button.end`);", args.end)
            if button is None:
                ok = False
            else:
                row_id = button.get_attribute("data-id")
                button.click()
                alert = driver.switch_to.alert
                alert.send_keys(args.token)
                alert.accept()
                report["ended"] = row_id

                def ids():
                    return driver.execute_script(
                        "return [...document.querySelectorAll(`table[data-path='${arguments[0]}'] button.end`)]"
                        ".map(b => b.dataset.id);", args.end)

                ok &= wait_until(lambda: row_id not in ids(), args.timeout)
                report["after_end"] = count(args.end)
        report["requests"] = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name);")
    finally:
        driver.quit()
    print(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
