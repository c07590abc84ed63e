#pragma once
// SDP texts shared by the SDP tests, in canonical form (§5 order, single spaces) but written with bare
// LF for readability; crlf() turns them into what a server sends.

#include <string>
#include <string_view>

namespace sg::sdp::samples {

inline std::string crlf(std::string_view lf_text) {
    std::string out;
    for (const char c : lf_text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

// RFC 4566 §5, the example session description.
inline constexpr std::string_view k_rfc4566 =
    "v=0\n"
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\n"
    "s=SDP Seminar\n"
    "i=A Seminar on the session description protocol\n"
    "u=http://www.example.com/seminars/sdp.pdf\n"
    "e=j.doe@example.com (Jane Doe)\n"
    "c=IN IP4 224.2.17.12/127\n"
    "t=2873397496 2873404696\n"
    "a=recvonly\n"
    "m=audio 49170 RTP/AVP 0\n"
    "m=video 51372 RTP/AVP 99\n"
    "a=rtpmap:99 h263-1998/90000\n";

// The same session over IPv6 (RFC 4566 §5.7's FF15::101/3 group: three addresses, no TTL).
inline constexpr std::string_view k_rfc4566_ipv6 =
    "v=0\n"
    "o=jdoe 2890844526 2890842807 IN IP6 2001:db8::10:47:16:5\n"
    "s=SDP Seminar\n"
    "i=A Seminar on the session description protocol\n"
    "u=http://www.example.com/seminars/sdp.pdf\n"
    "e=j.doe@example.com (Jane Doe)\n"
    "c=IN IP6 FF15::101/3\n"
    "t=2873397496 2873404696\n"
    "a=recvonly\n"
    "m=audio 49170 RTP/AVP 0\n"
    "m=video 51372 RTP/AVP 99\n"
    "a=rtpmap:99 h263-1998/90000\n";

// live555's RTSPServer for an H.264 + AAC file.
inline constexpr std::string_view k_live555 =
    "v=0\n"
    "o=- 1700000000123456 1 IN IP4 192.168.1.20\n"
    "s=Session streamed by \"testOnDemandRTSPServer\"\n"
    "i=h264ESVideoTest\n"
    "t=0 0\n"
    "a=tool:LIVE555 Streaming Media v2023.01.19\n"
    "a=type:broadcast\n"
    "a=control:*\n"
    "a=range:npt=0-10.000\n"
    "a=x-qt-text-nam:Session streamed by \"testOnDemandRTSPServer\"\n"
    "a=x-qt-text-inf:h264ESVideoTest\n"
    "m=video 0 RTP/AVP 96\n"
    "c=IN IP4 0.0.0.0\n"
    "b=AS:500\n"
    "a=rtpmap:96 H264/90000\n"
    "a=fmtp:96 packetization-mode=1;profile-level-id=42001F;sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM48gA==\n"
    "a=control:track1\n"
    "m=audio 0 RTP/AVP 97\n"
    "c=IN IP4 0.0.0.0\n"
    "b=AS:96\n"
    "a=rtpmap:97 MPEG4-GENERIC/48000/2\n"
    "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;"
    "config=1190\n"
    "a=control:track2\n";

// GStreamer's gst-rtsp-server (test-launch with x264enc + avenc_aac).
inline constexpr std::string_view k_gstreamer =
    "v=0\n"
    "o=- 1188340656180883 1 IN IP4 127.0.0.1\n"
    "s=Session streamed with GStreamer\n"
    "i=rtsp-server\n"
    "t=0 0\n"
    "a=tool:GStreamer\n"
    "a=type:broadcast\n"
    "a=control:*\n"
    "a=range:npt=0-10.000\n"
    "m=video 0 RTP/AVP 96\n"
    "c=IN IP4 0.0.0.0\n"
    "a=rtpmap:96 H264/90000\n"
    "a=framerate:30\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM48gA==;profile-level-id=42001f\n"
    "a=control:stream=0\n"
    "a=ts-refclk:local\n"
    "a=mediaclk:sender\n"
    "m=audio 0 RTP/AVP 97\n"
    "c=IN IP4 0.0.0.0\n"
    "a=rtpmap:97 MPEG4-GENERIC/48000/2\n"
    "a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=1190;sizelength=13;indexlength=3;"
    "indexdeltalength=3\n"
    "a=control:stream=1\n"
    "a=ts-refclk:local\n"
    "a=mediaclk:sender\n";

// FFmpeg's libavformat (ff_sdp_create, as sent by its RTSP muxer and by mediamtx-style servers).
inline constexpr std::string_view k_ffmpeg =
    "v=0\n"
    "o=- 0 0 IN IP4 127.0.0.1\n"
    "s=Big Buck Bunny\n"
    "c=IN IP4 0.0.0.0\n"
    "t=0 0\n"
    "a=tool:libavformat 60.16.100\n"
    "a=range:npt=0-10.000\n"
    "m=video 0 RTP/AVP 96\n"
    "b=AS:1200\n"
    "a=rtpmap:96 H264/90000\n"
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAH6zZQFAFuhAAAAMAEAAAAwPA8YMZYA==,aOvjyyLA; "
    "profile-level-id=64001F\n"
    "a=control:trackID=0\n"
    "m=audio 0 RTP/AVP 97\n"
    "b=AS:128\n"
    "a=rtpmap:97 MPEG4-GENERIC/44100/2\n"
    "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; "
    "config=121056E500\n"
    "a=control:trackID=1\n";

// An IP camera (Hikvision style): absolute control URLs with a query, vendor attributes.
inline constexpr std::string_view k_camera =
    "v=0\n"
    "o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\n"
    "s=Media Presentation\n"
    "e=NONE\n"
    "b=AS:5050\n"
    "t=0 0\n"
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\n"
    "m=video 0 RTP/AVP 96\n"
    "c=IN IP4 0.0.0.0\n"
    "b=AS:5000\n"
    "a=recvonly\n"
    "a=x-dimensions:1920,1080\n"
    "a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\n"
    "a=rtpmap:96 H264/90000\n"
    "a=fmtp:96 profile-level-id=420029; packetization-mode=1; "
    "sprop-parameter-sets=Z00AKp2oHgCJ+WbgICAgQA==,aO48gA==\n"
    "a=Media_header:MEDIAINFO="
    "494D4B48010100000400010000000000000000000000000000000000000000000000000000000000;\n"
    "a=appversion:1.0\n";

// A GB/T 28181 camera answer: y= and f= are not RFC 4566 letters but must survive the gateway.
inline constexpr std::string_view k_gb28181 =
    "v=0\n"
    "o=34020000001320000001 0 0 IN IP4 192.168.1.108\n"
    "s=Play\n"
    "c=IN IP4 192.168.1.108\n"
    "t=0 0\n"
    "m=video 15060 RTP/AVP 96\n"
    "a=sendonly\n"
    "a=rtpmap:96 PS/90000\n"
    "y=0100000001\n"
    "f=v/2/4///a///\n";

}  // namespace sg::sdp::samples
