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
    pipeline = Gst.parse_launch(
        f"rtspsrc location={url} protocols={protocol} name=src "
        # Explicit depayloaders and decoders, and sinks that do not wait for preroll: decodebin's dynamic
        # autoplugging stalled the pipeline now and then on a loaded machine.
        "src. ! application/x-rtp,media=video ! queue ! rtph264depay ! h264parse ! avdec_h264 ! "
        "fakesink name=video sync=false async=false signal-handoffs=true "
        "src. ! application/x-rtp,media=audio ! queue ! rtpmp4gdepay ! aacparse ! avdec_aac ! "
        "fakesink name=audio sync=false async=false signal-handoffs=true")
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
    errors = []
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
