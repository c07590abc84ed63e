#!/usr/bin/env python3
"""Writes the seed corpus of vod_depacketizer_fuzz (format: the target's comment)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
H264, H265, AAC, OPUS, PCMU, PCMA, MP2T, SDP = range(8)


def rtp(seq, ts, payload, marker=False, pt=96):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq, ts, 0x1234) + payload


def packets(*items):
    return b"".join(struct.pack("!H", len(p)) + p for p in items)


def write(name, mode, body):
    d = os.path.join(HERE, "corpus", "vod_depacketizer_fuzz")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([mode]) + body)


idr = bytes([0x65]) + bytes(range(1, 200))
stap = bytes([0x78]) + struct.pack("!H", 4) + b"\x67\x42\xc0\x1e" + struct.pack("!H", 3) + b"\x68\xce\x32"
fu = [bytes([0x7c, 0x85]) + idr[1:80], bytes([0x7c, 0x05]) + idr[80:150], bytes([0x7c, 0x45]) + idr[150:]]
write("h264_stap_fu", H264, packets(rtp(1, 0, stap), rtp(2, 0, fu[0]), rtp(3, 0, fu[1]),
                                    rtp(4, 0, fu[2], marker=True), rtp(5, 3600, b"\x41\x9a\x02", marker=True)))
write("h264_gap", H264, packets(rtp(1, 0, fu[0]), rtp(3, 0, fu[2], marker=True)))
write("h264_wrap", H264, packets(rtp(65535, 0xFFFFFF00, b"\x41\x01", marker=True), rtp(0, 3500, b"\x41\x02")))
h265_ap = b"\x60\x01" + struct.pack("!H", 3) + b"\x40\x01\x0c" + struct.pack("!H", 3) + b"\x42\x01\x01"
h265_fu = [b"\x62\x01\x93" + bytes(60), b"\x62\x01\x53" + bytes(40)]
write("h265_ap_fu", H265, packets(rtp(1, 0, h265_ap), rtp(2, 0, h265_fu[0]), rtp(3, 0, h265_fu[1], marker=True)))
aac_two = b"\x00\x20\x00\x18\x00\x10\x01\x02\x03\x04\x05"
write("aac_hbr", AAC, bytes([0x3c]) + packets(rtp(1, 0, aac_two, True, 97), rtp(2, 2048, aac_two, True, 97)))
write("opus", OPUS, packets(rtp(1, 0, b"\xfc\xff\xfe", pt=111), rtp(2, 960, b"\xfc\x01")))
write("pcmu", PCMU, packets(rtp(1, 0, bytes(160), pt=0), rtp(2, 160, bytes(160), pt=0)))
write("mp2t", MP2T, packets(rtp(1, 0, (b"\x47" + bytes(187)) * 7, pt=33)))
sdp = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=clip\r\nt=0 0\r\na=range:npt=0-4.000\r\n"
       "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
       "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkA,aM4yyA==\r\n"
       "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/44100/2\r\n"
       "a=fmtp:97 streamtype=5;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1210\r\n"
       "m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n")
write("sdp_h264_aac_opus", SDP, sdp.encode())
write("sdp_h265", SDP, ("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 98\r\n"
                        "a=rtpmap:98 H265/90000\r\na=fmtp:98 sprop-vps=QAE=;sprop-sps=QgE=;sprop-pps=RAE=\r\n").encode())
write("sdp_mp2t", SDP, b"v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 33\r\n")
