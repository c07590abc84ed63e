#!/usr/bin/env python3
"""Writes the seed corpora of mssr_packet_fuzz and mssr_reassembly_fuzz (formats: the targets' comments)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def data_packet(seq, stream, sseq, length, index, frag, prio=0, rtx=0, marker=0, time_ms=1000, wants=0):
    """RTP header + the 12-octet MSSR version 2 header (docs/mssr.md) + the fragment."""
    rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq, 90000, 0x1000 + stream)
    first = (2 << 6) | (prio << 4) | stream
    mssr = bytes([first]) + length.to_bytes(3, "big") + struct.pack("!HHHH", seq, sseq, time_ms & 0xffff,
                                                                    (rtx << 15) | (wants << 14) | index)
    return rtp + mssr + frag


def data_packet_v3(seq, stream, sseq, length, index, frag, parity_count, prio=1):
    """Version 3: version 2's header with the P bit and a thirteenth octet, the ADU's parity count."""
    rtp = struct.pack("!BBHII", 0x80, 96, seq, 90000, 0x1000 + stream)
    first = (3 << 6) | (prio << 4) | stream
    p_bit = (1 << 13) if parity_count else 0
    mssr = bytes([first]) + length.to_bytes(3, "big") + struct.pack("!HHHH", seq, sseq, 1000, p_bit | index)
    return rtp + mssr + bytes([parity_count]) + frag


def feedback(ssrc, rwnd, cum, acks, nacks, with_rr=False):
    """The APP packet alone (reduced-size RTCP, version 2); with_rr: version 1's compound, still parsed."""
    body = struct.pack("!IHBB", rwnd, cum, len(acks), len(nacks))
    body += b"".join(struct.pack("!HH", s, c) for s, c in acks)
    body += b"".join(struct.pack("!HH", p, b) for p, b in nacks)
    app_len = (12 + len(body)) // 4 - 1
    app = struct.pack("!BBHI", 0x80 | 0, 204, app_len, ssrc) + b"MSSR" + body
    return (struct.pack("!BBHI", 0x80, 201, 1, ssrc) if with_rr else b"") + app


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


write("mssr_packet_fuzz", "data_first", data_packet(7, 0, 3, 1300, 0, b"\x5a" * 524))
write("mssr_packet_fuzz", "data_last_rtx", data_packet(0xffff, 1, 0xffff, 1300, 2, b"\x01" * 252, 1, 1, 1))
write("mssr_packet_fuzz", "data_wants_feedback_wrapped_time",
      data_packet(9, 15, 4, 0xffffff, 0x3fff, b"\x02" * 16, 2, 0, 0, 0x1ffff, 1))
write("mssr_packet_fuzz", "data_v3_parity", data_packet_v3(11, 0, 5, 1300, 3, b"\x07" * 523, 2))
write("mssr_packet_fuzz", "feedback", feedback(0xcafe, 65536, 2, [(4, 3), (9, 1)], [(3, 0), (8, 0x0003)]))
write("mssr_packet_fuzz", "feedback_zero_window", feedback(1, 0, 10, [], []))
write("mssr_packet_fuzz", "feedback_v1_compound", feedback(1, 4096, 10, [(12, 2)], [], with_rr=True))
hello_body = struct.pack("!BBHB3x", 2, 0, 548, 2) + struct.pack("!HBB", 120, 0, 0) + struct.pack("!HBB", 400, 1, 1)
write("mssr_packet_fuzz", "hello", struct.pack("!BBHI", 0x80, 201, 1, 7) +
      struct.pack("!BBHI", 0x81, 204, (12 + len(hello_body)) // 4 - 1, 7) + b"MSSR" + hello_body)


def built(kind_extra, step, stream, prio, seq, sseq, length, index, time_ms, fill):
    return bytes([1 | kind_extra, step, stream, prio]) + struct.pack("!HHH", seq, sseq, length) + bytes(
        [index]) + struct.pack("!H", time_ms) + bytes([fill])


# An ADU of three fragments with the middle one late, then feedback; a second stream; a wrap (of the
# sequence numbers, and of the 16-bit ADU time: 0xfffe, then 0x0028).
seq = b""
seq += built(0, 0, 0, 0, 10, 0, 192, 0, 1000, 1)
seq += built(0x80, 1, 0, 0, 12, 0, 192, 2, 1000, 1)
seq += built(0, 5, 0, 0, 11, 0, 192, 1, 1000, 1)
seq += built(0x80, 1, 1, 1, 13, 0, 50, 0, 1000, 2)
seq += built(0, 1, 0, 1, 0xffff, 0xffff, 128, 0, 0xfffe, 3)
seq += built(0x80, 200, 0, 1, 0, 0xffff, 128, 1, 0xfffe, 3)
seq += built(0x80, 40, 0, 1, 2, 0, 64, 0, 0x0028, 1)
write("mssr_reassembly_fuzz", "three_fragments_reordered", seq)
lossy = b"".join(built(0x80 if i % 3 == 0 else 0, 3, i % 3, i % 3, 100 + 2 * i, i, 100, i % 2, 2000 + 10 * i, i)
                 for i in range(20))
write("mssr_reassembly_fuzz", "gaps_and_deadlines", lossy)
raw = data_packet(5, 0, 0, 30, 0, b"\x07" * 30, wants=1)  # a raw record holds at most 63 octets
write("mssr_reassembly_fuzz", "raw_datagram", bytes([0x80 | (len(raw) << 1), 0]) + raw)


def ts_packets(pid, payload, unit_start, random_access=False):
    """TS packets of `payload` on `pid`, the first with payload_unit_start (and the random access flag); the
    last one's tail is 0xff."""
    out = b""
    first = True
    while payload or first:
        header_len = 6 if (random_access and first) else 4
        chunk, payload = payload[:188 - header_len], payload[188 - header_len:]
        head = bytes([0x47, (0x40 if (unit_start and first) else 0) | (pid >> 8), pid & 0xff])
        head += bytes([0x30, 1, 0x40]) if (random_access and first) else bytes([0x10])
        out += head + chunk + b"\xff" * (188 - header_len - len(chunk))
        first = False
    return out


def video_pes(es, key=False):
    """One video PES (PTS only) on PID 0x100 as TS packets."""
    return ts_packets(0x100, bytes([0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1]) + es, True, key)


def nal(header, body=8):
    return b"\x00\x00\x00\x01" + bytes(header) + b"\x55" * body


# mssr_ts_grouper_fuzz: the first octet cuts the rest into datagrams of 1 + (octet % 8) TS packets.
h264 = (video_pes(nal([0x09, 0xF0], 0) + nal([0x67, 0x64]) + nal([0x65, 0x88], 300), key=True) +
        video_pes(nal([0x09, 0xF0], 0) + nal([0x41, 0x9A], 200)) +
        video_pes(nal([0x09, 0xF0], 0) + nal([0x06, 0x05], 160) + nal([0x01, 0x9E], 200)) +
        ts_packets(0x101, bytes([0, 0, 1, 0xC0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1]) + b"\x11" * 100, True) +
        ts_packets(0x1FFF, b"", False))
write("mssr_ts_grouper_fuzz", "h264_key_reference_disposable_audio_null", bytes([6]) + h264)
h265 = (video_pes(nal([0x46, 0x01, 0x50], 0) + nal([0x40, 0x01]) + nal([0x26, 0x01], 300), key=True) +
        video_pes(nal([0x46, 0x01, 0x50], 0) + nal([0x02, 0x01], 200)) +
        video_pes(nal([0x46, 0x01, 0x50], 0) + nal([0x00, 0x01], 200)))
write("mssr_ts_grouper_fuzz", "h265_key_reference_disposable", bytes([0]) + h265)
