#!/usr/bin/python3
"""Counts the RTP packets a GStreamer payloader makes of a media file, offline (no network).

An independent count of what an RTSP origin serving the same file with the same payloader sends per client:
    count_rtp_packets.py clip.mkv 'matroskademux ! h264parse ! rtph264pay pt=96'
prints the number of packets on stdout. Run it with /usr/bin/python3 (python3-gi).
"""

import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path, chain = argv
    Gst.init(None)
    pipeline = Gst.parse_launch(f"filesrc location={path} ! {chain} ! fakesink name=sink signal-handoffs=true")
    count = 0

    def on_handoff(*_):
        nonlocal count
        count += 1

    pipeline.get_by_name("sink").connect("handoff", on_handoff)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type != Gst.MessageType.EOS:
        print(f"pipeline did not reach EOS: {msg.parse_error() if msg else 'timeout'}", file=sys.stderr)
        return 1
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
