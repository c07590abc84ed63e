#!/usr/bin/python3
"""Plays an RTSP URL over WebSocket (ONVIF's RTSP over WebSocket, subprotocol rtsp.onvif.org) from a page in
headless Chromium (Selenium + chromedriver): the browser's own WebSocket client carries the RTSP requests and
receives the interleaved media, as a web player would.

    websocket_rtsp_player.py PAGE WS_URL RTSP_URL [--seconds S] [--idle S]

PAGE is loaded first: its origin is the Origin the handshake carries. The page script sends OPTIONS,
DESCRIBE, a SETUP per media section (interleaved channels 0-1, 2-3, ...), PLAY; counts the RTP packets of
each even channel, their version and sequence gaps; after S seconds of play, or once no packet came for
--idle seconds (a clip that ended), sends TEARDOWN and closes the WebSocket normally. Prints one JSON object:
{"protocol", "statuses": {method: status}, "rtp": {channel: packets}, "gaps": {channel: missing},
"bad_version", "close_code", "error"}. Exit status 0 when the page ran to the end (the JSON says what it saw),
1 when it failed (no handshake, an RTSP error, a timeout).
"""

from __future__ import annotations

import argparse
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

PLAYER = r"""
const [wsUrl, rtspUrl, playSeconds, idleSeconds, done] = arguments;
const report = {protocol: null, statuses: {}, rtp: {}, gaps: {}, bad_version: 0, close_code: null, error: null};
const decoder = new TextDecoder();
const encoder = new TextEncoder();
let buffer = new Uint8Array(0);
let cseq = 0;
const waiting = new Map();
const lastSeq = {};
let lastPacketAt = 0;
let finished = false;

function finish(error) {
  if (finished) return;
  finished = true;
  if (error) report.error = String(error);
  done(report);
}

function append(bytes) {
  const joined = new Uint8Array(buffer.length + bytes.length);
  joined.set(buffer);
  joined.set(bytes, buffer.length);
  buffer = joined;
}

function onFrame(channel, data) {
  if (channel % 2 !== 0) return;  // RTCP
  lastPacketAt = performance.now();
  report.rtp[channel] = (report.rtp[channel] || 0) + 1;
  if (data.length < 12 || (data[0] >> 6) !== 2) { report.bad_version++; return; }
  const seq = (data[2] << 8) | data[3];
  if (channel in lastSeq) {
    const missing = (seq - lastSeq[channel] - 1) & 0xffff;
    if (missing !== 0) report.gaps[channel] = (report.gaps[channel] || 0) + missing;
  }
  lastSeq[channel] = seq;
}

function headEnd() {
  for (let i = 0; i + 3 < buffer.length; i++)
    if (buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10) return i;
  return -1;
}

// The server's byte stream, cut into messages anywhere: interleaved frames and responses.
function pump() {
  for (;;) {
    if (buffer.length === 0) return;
    if (buffer[0] === 0x24) {
      if (buffer.length < 4) return;
      const length = (buffer[2] << 8) | buffer[3];
      if (buffer.length < 4 + length) return;
      onFrame(buffer[1], buffer.subarray(4, 4 + length));
      buffer = buffer.slice(4 + length);
      continue;
    }
    const end = headEnd();
    if (end < 0) return;
    const lines = decoder.decode(buffer.subarray(0, end)).split("\r\n");
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyLength = Number(headers["content-length"] || 0);
    if (buffer.length < end + 4 + bodyLength) return;
    const body = decoder.decode(buffer.subarray(end + 4, end + 4 + bodyLength));
    buffer = buffer.slice(end + 4 + bodyLength);
    const status = Number(lines[0].split(" ")[1]);
    const pending = waiting.get(headers["cseq"]);
    if (pending) { waiting.delete(headers["cseq"]); pending({status, headers, body}); }
  }
}

function request(ws, method, url, headers) {
  const seq = String(++cseq);
  let text = `${method} ${url} RTSP/1.0\r\nCSeq: ${seq}\r\nUser-Agent: websocket_rtsp_player\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  ws.send(encoder.encode(text + "\r\n"));
  return new Promise(resolve => waiting.set(seq, resolve)).then(response => {
    report.statuses[method] = response.status;
    if (response.status !== 200) throw new Error(`${method} answered ${response.status}`);
    return response;
  });
}

// The control URLs of the SDP's media sections, absolute.
function controls(sdp, base) {
  const found = [];
  let inMedia = false;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith("m=")) inMedia = true;
    else if (inMedia && line.startsWith("a=control:")) {
      const control = line.slice("a=control:".length).trim();
      found.push(control.startsWith("rtsp://") ? control : base.replace(/\/?$/, "/") + control);
    }
  }
  return found;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const ws = new WebSocket(wsUrl, "rtsp.onvif.org");
ws.binaryType = "arraybuffer";
ws.onmessage = event => {
  append(new Uint8Array(typeof event.data === "string" ? encoder.encode(event.data) : event.data));
  pump();
};
ws.onclose = event => {
  report.close_code = event.code;
  finish(report.statuses.TEARDOWN === 200 ? null : `websocket closed (${event.code})`);
};
ws.onopen = async () => {
  try {
    report.protocol = ws.protocol;
    await request(ws, "OPTIONS", rtspUrl, {});
    const described = await request(ws, "DESCRIBE", rtspUrl, {Accept: "application/sdp"});
    const base = described.headers["content-base"] || rtspUrl;
    let session = null;
    let channel = 0;
    for (const url of controls(described.body, base)) {
      const headers = {Transport: `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1}`};
      if (session) headers.Session = session;
      const setUp = await request(ws, "SETUP", url, headers);
      session = session || setUp.headers["session"].split(";")[0].trim();
      channel += 2;
    }
    await request(ws, "PLAY", rtspUrl, {Session: session, Range: "npt=0.000-"});
    const start = performance.now();
    for (;;) {
      await sleep(100);
      const now = performance.now();
      if (now - start > playSeconds * 1000) break;
      if (idleSeconds > 0 && lastPacketAt > 0 && now - lastPacketAt > idleSeconds * 1000) break;
    }
    await request(ws, "TEARDOWN", rtspUrl, {Session: session});
    ws.close(1000);
  } catch (error) {
    ws.close(1000);
    finish(error);
  }
};
ws.onerror = () => { if (report.protocol === null) finish("websocket handshake failed"); };
"""


def browser() -> webdriver.Chrome:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, printed on failure
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("page")
    parser.add_argument("ws_url")
    parser.add_argument("rtsp_url")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--idle", type=float, default=0)
    args = parser.parse_args()
    driver = browser()
    try:
        driver.set_script_timeout(args.seconds + 60)
        driver.get(args.page)
        report = driver.execute_async_script(PLAYER, args.ws_url, args.rtsp_url, args.seconds, args.idle)
        if report.get("error") is not None:
            for entry in driver.get_log("browser"):
                print(f"console: {entry.get('level')} {entry.get('message')}", file=sys.stderr)
    finally:
        driver.quit()
    print(json.dumps(report))
    return 0 if report.get("error") is None else 1


if __name__ == "__main__":
    sys.exit(main())
