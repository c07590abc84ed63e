// libFuzzer target for MSSR's parsers and the sender's feedback handling.
//  1. The input as an MSSR data packet: one that parses is rebuilt with append_data_packet (when its RTP
//     header is one our builder writes) and must give the same octets (version 2 has no reserved bits, so
//     every header that parses has exactly one encoding); where it lies in its ADU, for a few fragment
//     sizes, must lie within the ADU whenever the geometry check accepts it, and a parity fragment is never
//     also a data fragment.
//  2. The input as an MSSR-RTCP datagram: feedback that parses is rebuilt and must parse to the same value.
//  3. The input as a session HELLO / HELLO-ACK: one that parses is rebuilt and must parse to the same value.
//  4. Parsed feedback drives a sender with data outstanding: its accounting must stay within its bounds. The
//     input's third octet decides whether that data carries parity fragments (an RTT above both budgets),
//     whether the key ADU's come in groups, whether the data headers are version 3 (the parity count on the
//     wire), and whether the sender paces (then, after the feedback, the
//     pacer's wake-up must be in the future whenever it holds back a datagram, or a caller waiting for it
//     would spin).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mssr/fragmenter.hpp"
#include "mssr/handshake.hpp"
#include "mssr/sender.hpp"
#include "mssr/wire.hpp"

namespace {

using namespace sg::mssr;

void check(bool property) {
    if (!property) __builtin_trap();
}

void data_round_trip(sg::Bytes input) {
    const auto view = parse_data_packet(input);
    if (!view) return;
    const FragmentHeader& h = view->header;
    check(h.adu_length >= 1 && h.adu_length <= k_max_adu_size && view->fragment.size() <= h.adu_length);
    check(!view->fragment.empty());
    check(h.stream <= k_max_stream && h.fragment_index <= k_max_fragment_index);
    check(h.version == k_version || h.version == k_version_parity_count);
    check((h.parity_count != 0) == (h.parity && h.version == k_version_parity_count));
    for (const std::size_t fs :
         {std::size_t{1}, std::size_t{64}, fragment_size(k_default_mss),
          fragment_size(k_default_mss, k_version_parity_count), fragment_size(1340), view->fragment.size()}) {
        const auto offset = fragment_offset(h, view->fragment.size(), fs);
        if (!offset) continue;
        check(*offset % fs == 0 && *offset / fs == h.fragment_index);
        check(*offset < h.adu_length && view->fragment.size() <= h.adu_length - *offset);
        check(view->fragment.size() == fs || *offset + view->fragment.size() == h.adu_length);
        for (const std::size_t key_group : {std::size_t{0}, std::size_t{4}})
            check(!is_parity_fragment(h, view->fragment.size(), fs, key_group));
    }
    const auto again_header = parse_fragment_header(view->rtp.payload());
    check(again_header.ok() && *again_header == h);
    if (view->rtp.csrc_count() != 0 || view->rtp.has_extension() || view->rtp.has_padding()) return;
    RtpFields rtp;
    rtp.payload_type = view->rtp.payload_type();
    rtp.rtp_sequence = view->rtp.sequence();
    rtp.rtp_timestamp = view->rtp.timestamp();
    rtp.ssrc = view->rtp.ssrc();
    rtp.marker = view->rtp.marker();
    std::vector<std::uint8_t> out;
    const auto written = append_data_packet(out, rtp, h, view->fragment);
    check(written.ok() && *written == input.size());
    for (std::size_t i = 0; i < out.size(); ++i)
        check(out[i] == input[i]);
}

void hello_round_trip(sg::Bytes input) {
    const auto hello = parse_hello_datagram(input);
    if (!hello) return;
    check(hello->streams.size() <= k_max_session_streams);
    for (const StreamPolicy& p : hello->streams)
        check(p.latency.count() <= k_max_latency_ms);
    std::vector<std::uint8_t> out;
    check(append_hello(out, *hello).ok());
    const auto again = parse_hello_datagram(out);
    check(again.ok() && *again == *hello);
}

void feedback_round_trip(sg::Bytes input, Sender& sender, std::chrono::steady_clock::time_point now) {
    const auto view = parse_feedback_datagram(input);
    if (!view) return;
    const Feedback f = view->to_feedback();
    check(f.acks.size() == view->ack_count() && f.nacks.size() == view->nack_count());
    std::vector<std::uint8_t> out;
    check(append_feedback_datagram(out, f).ok());
    const auto again = parse_feedback_datagram(out);
    check(again.ok() && again->to_feedback() == f);

    sender.on_feedback(now, *view);
    std::vector<std::uint8_t> packet;
    int sent = 0;
    for (; sent < 64 && sender.next_packet(now, packet); ++sent) {
        check(parse_data_packet(packet).ok());
        packet.clear();
    }
    check(sender.buffered_bytes() <= (1u << 20));
    // Nothing more goes out now, so a wake-up due now would find nothing to do: it must lie ahead.
    if (sent < 64) {
        const auto wake = sender.next_wakeup();
        check(!wake || *wake > now || sender.next_packet(now, packet));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    data_round_trip(input);
    hello_round_trip(input);

    SenderConfig config;
    config.max_buffer_bytes = 1u << 20;
    config.initial_sequence = size >= 2 ? static_cast<std::uint16_t>(data[0] << 8 | data[1]) : 0;
    config.streams = {SenderStreamConfig{1, StreamPolicy{}},
                      SenderStreamConfig{2, StreamPolicy{std::chrono::milliseconds(500),
                                                         RetransmitMode::key_only, LatePolicy::drop}}};
    const bool parity = size >= 3 && (data[2] & 1) != 0;
    config.parity_when_unrepairable = parity;
    config.key_parity_group = size >= 3 && (data[2] & 4) != 0 ? 3 : 0;  // the key ADU's 8 fragments: 3 groups
    config.cauchy_parity = size >= 3 && (data[2] & 8) != 0;
    if (size >= 3 && (data[2] & 16) != 0) config.header_version = k_version_parity_count;
    const bool pacing = size >= 3 && (data[2] & 2) != 0;
    config.pacing = pacing;
    Sender sender(config);
    if (parity) sender.seed_rtt(std::chrono::milliseconds(600));
    if (pacing && !parity) sender.seed_rtt(std::chrono::milliseconds(30));
    auto now = std::chrono::steady_clock::time_point{} + std::chrono::seconds(1);
    for (std::uint8_t stream = 0; stream < 2; ++stream) {
        Adu adu;
        adu.stream = stream;
        adu.priority = stream == 0 ? Priority::key : Priority::reference;
        adu.data.assign(4000, stream);
        check(sender.submit(now, std::move(adu)).ok());
    }
    std::vector<std::uint8_t> packet;
    while (sender.next_packet(now, packet))
        packet.clear();
    now += std::chrono::milliseconds(40);
    feedback_round_trip(input, sender, now);
    return 0;
}
