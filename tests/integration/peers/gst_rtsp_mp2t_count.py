"""Plays an MP2T RTSP URL (RFC 2250) with GStreamer: rtspsrc ! rtpmp2tdepay ! tsdemux, then decodes the video
(mpeg2 or h264) and the MPEG audio (mp2) and counts decoded video frames and audio buffers.

Usage: gst_rtsp_mp2t_count.py URL udp|tcp mpeg2|h264 TIMEOUT_S
Prints one JSON line: {"video_frames": n, "audio_buffers": n, "eos": bool, "errors": [...]}; exits 0 when the
pipeline reached EOS without an error message, 1 otherwise.
"""

import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

VIDEO = {"mpeg2": "mpegvideoparse ! avdec_mpeg2video", "h264": "h264parse ! avdec_h264"}


def main() -> int:
    url, protocol, video, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    Gst.init(None)
    # Explicit elements rather than decodebin (whose autoplugging stalls now and then on a loaded machine);
    # tsdemux's pads appear once the PMT is read and link by caps.
    pipeline = Gst.parse_launch(
        f"rtspsrc location={url} protocols={protocol} ! rtpmp2tdepay ! tsdemux name=demux "
        f"demux. ! queue ! {VIDEO[video]} ! "
        "fakesink name=video sync=false async=false signal-handoffs=true "
        "demux. ! queue ! mpegaudioparse ! avdec_mp2float ! "
        "fakesink name=audio sync=false async=false signal-handoffs=true")
    counts = {"video_frames": 0, "audio_buffers": 0}

    def on_video(_sink, _buffer, _pad):
        counts["video_frames"] += 1

    def on_audio(_sink, _buffer, _pad):
        counts["audio_buffers"] += 1

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
