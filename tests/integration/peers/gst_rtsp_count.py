"""Plays an RTSP URL with GStreamer's rtspsrc and counts decoded video frames and audio buffers.

Usage: gst_rtsp_count.py URL udp|tcp TIMEOUT_S
Prints one JSON line: {"video_frames": n, "audio_buffers": n, "audio_seconds": s, "eos": bool, "errors": [...]}; exits 0 when the
pipeline reached EOS without an error message, 1 otherwise.
"""

import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main() -> int:
    url, protocol, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    Gst.init(None)
    pipeline = Gst.Pipeline.new("count")
    src = Gst.ElementFactory.make("rtspsrc", "src")
    src.set_property("location", url)
    src.set_property("protocols", protocol)
    pipeline.add(src)
    # Explicit depayloaders and decoders, and sinks that do not wait for preroll: decodebin's dynamic
    # autoplugging stalled the pipeline now and then on a loaded machine.
    branches = {
        "video": "queue ! rtph264depay ! h264parse ! avdec_h264 ! "
                 "fakesink name=video sync=false async=false signal-handoffs=true",
        "audio": "queue ! rtpmp4gdepay ! aacparse ! avdec_aac ! "
                 "fakesink name=audio sync=false async=false signal-handoffs=true",
    }
    for media, description in branches.items():
        branches[media] = Gst.parse_bin_from_description(description, True)
        pipeline.add(branches[media])
    link_errors = []

    # rtspsrc's pads are linked here by their media, not by gst_parse_launch's "src. ! caps" delayed links:
    # when rtspsrc adds both pads at once from two streaming threads, a delayed link now and then leaves one
    # pad unlinked (about 1 run in 15 over TCP), and that stream is silently dropped.
    def on_pad_added(_src, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        media = caps.get_structure(0).get_string("media") if caps.get_size() else None
        if media not in branches:
            link_errors.append(f"rtspsrc pad {pad.get_name()} has no branch for media {media}")
            return
        result = pad.link(branches[media].get_static_pad("sink"))
        if result != Gst.PadLinkReturn.OK:
            link_errors.append(f"linking {pad.get_name()} ({media}): {result.value_nick}")

    src.connect("pad-added", on_pad_added)
    counts = {"video_frames": 0, "audio_buffers": 0, "audio_seconds": 0.0}

    def on_video(_sink, _buffer, _pad):
        counts["video_frames"] += 1

    def on_audio(_sink, buffer, _pad):
        # Decoders batch audio differently, so the decoded duration is what can be compared to the source.
        counts["audio_buffers"] += 1
        if buffer.duration != Gst.CLOCK_TIME_NONE:
            counts["audio_seconds"] += buffer.duration / Gst.SECOND

    pipeline.get_by_name("video").connect("handoff", on_video)
    pipeline.get_by_name("audio").connect("handoff", on_audio)
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    errors = link_errors
    eos = False
    msg = bus.timed_pop_filtered(int(timeout * Gst.SECOND), Gst.MessageType.EOS | Gst.MessageType.ERROR)
    if msg is None:
        errors.append("timeout")
    elif msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        errors.append(f"{err.message} ({debug})")
    else:
        eos = True
    pipeline.set_state(Gst.State.NULL)
    print(json.dumps({**counts, "eos": eos, "errors": errors}), flush=True)
    return 0 if eos and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
