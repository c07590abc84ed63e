#!/usr/bin/python3
"""RTSP origin server for integration tests (GstRtspServer through python3-gi).

Serves one or more mount points, by default a live 320x240 25 fps H.264 test pattern (RTP payload type 96),
optionally with an audio track. Prints "READY <port>" on stdout once it listens, exits 0 on SIGTERM/SIGINT.
Works bound to an IPv4 or an IPv6 address. Run it with /usr/bin/python3 (Debian's, which has python3-gi).

    gst_rtsp_origin.py --address 198.18.3.2 --port 8554 --mount /test
    gst_rtsp_origin.py --address 2001:2:0:4::2 --mount /a --mount '/b=( videotestsrc ! ... name=pay0 )'
    gst_rtsp_origin.py --audio pcma --auth user:secret --auth-method digest --protocols tcp
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

DEFAULT_VIDEO = ("videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=25/1 ! "
                 "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! "
                 "rtph264pay name=pay0 pt=96")
AUDIO = {
    "pcma": "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=8000,channels=1 ! alawenc ! "
            "rtppcmapay name=pay1 pt=8",
    "opus": "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=2 ! opusenc ! "
            "rtpopuspay name=pay1 pt=97",
    "aac": "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=2 ! voaacenc ! "
           "rtpmp4gpay name=pay1 pt=98",
}
PROTOCOLS = {
    "udp": GstRtsp.RTSPLowerTrans.UDP,
    "udp-mcast": GstRtsp.RTSPLowerTrans.UDP_MCAST,
    "tcp": GstRtsp.RTSPLowerTrans.TCP,
}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", default="0.0.0.0", help="address to bind (IPv4 or IPv6 literal, or ::)")
    p.add_argument("--port", type=int, default=8554,
                   help="RTSP port; 0 picks a free one (printed after READY)")
    p.add_argument("--mount", action="append", metavar="PATH[=LAUNCH]",
                   help="mount point, optionally with its own launch line (repeatable; default /test)")
    p.add_argument("--pipeline", default=DEFAULT_VIDEO,
                   help="launch line for mounts without their own; payloaders must be named pay0, pay1, ...")
    p.add_argument("--audio", choices=sorted(AUDIO),
                   help="append an audio track (payloader pay1) to --pipeline")
    p.add_argument("--protocols", default="udp,tcp",
                   help="comma-separated lower transports to allow: udp, udp-mcast, tcp (default udp,tcp)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require authentication")
    p.add_argument("--auth-method", choices=("basic", "digest"), default="digest")
    p.add_argument("--not-shared", action="store_true", help="one pipeline per client instead of one shared")
    args = p.parse_args(argv)
    try:
        args.lower_trans = 0
        for name in args.protocols.split(","):
            args.lower_trans |= int(PROTOCOLS[name.strip()])
    except KeyError as exc:
        p.error(f"unknown protocol {exc}")
    if args.auth is not None and ":" not in args.auth:
        p.error("--auth wants USER:PASSWORD")
    return args


def make_auth(args):
    user, password = args.auth.split(":", 1)
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
    if args.auth_method == "digest":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.add_digest(user, password, token)
    else:
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    return auth


def make_factory(launch, args):
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f"( {launch} )")
    factory.set_shared(not args.not_shared)
    factory.set_protocols(GstRtsp.RTSPLowerTrans(args.lower_trans))
    if args.auth is not None:
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
    return factory


def main(argv):
    args = parse_args(argv)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    if args.auth is not None:
        server.set_auth(make_auth(args))

    default_launch = args.pipeline + (" " + AUDIO[args.audio] if args.audio else "")
    mounts = server.get_mount_points()
    for spec in args.mount or ["/test"]:
        path, sep, launch = spec.partition("=")
        if not path.startswith("/"):
            print(f"mount path must start with '/': {path!r}", file=sys.stderr)
            return 2
        mounts.add_factory(path, make_factory(launch if sep else default_launch, args))

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"cannot listen on {args.address} port {args.port}", file=sys.stderr)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: (loop.quit(), GLib.SOURCE_REMOVE)[1])
    # Expire idle sessions regularly so clients that vanish without TEARDOWN do not pile up.
    GLib.timeout_add_seconds(2, lambda: (server.get_session_pool().cleanup(), GLib.SOURCE_CONTINUE)[1])
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
