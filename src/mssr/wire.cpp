#include "mssr/wire.hpp"

namespace sg::mssr {
namespace {

// Octet 0: version (2 bits), priority (2 bits), stream (4 bits); then the 24-bit ADU length.
constexpr std::uint8_t k_version_shift = 6;
constexpr std::uint8_t k_priority_shift = 4;
constexpr std::uint8_t k_priority_mask = 0x30;
constexpr std::uint8_t k_stream_mask = 0x0f;
constexpr std::uint8_t k_max_priority = static_cast<std::uint8_t>(Priority::disposable);
// Octets 10-11: R (retransmission), W (feedback wanted), P (parity-protected ADU), the 13-bit fragment index.
constexpr std::uint16_t k_retransmission_bit = 0x8000;
constexpr std::uint16_t k_feedback_wanted_bit = 0x4000;
constexpr std::uint16_t k_parity_bit = 0x2000;
constexpr std::uint16_t k_index_mask = 0x1fff;

constexpr std::size_t k_feedback_fixed_size = 8;  // RWND, cumulative ack, two block counts

bool fragment_fits(const FragmentHeader& h, std::size_t fragment_size) noexcept {
    return fragment_size != 0 && h.adu_length != 0 && h.adu_length <= k_max_adu_size &&
           fragment_size <= h.adu_length;
}

}  // namespace

Result<FragmentHeader> parse_fragment_header(Bytes payload) noexcept {
    ByteReader r(payload);
    std::uint8_t first = 0;
    std::uint16_t flags_and_index = 0;
    FragmentHeader h;
    if (!r.read_u8(first) || !r.read_u24(h.adu_length) || !r.read_u16(h.sequence) ||
        !r.read_u16(h.stream_sequence) || !r.read_u16(h.adu_time_ms) || !r.read_u16(flags_and_index)) {
        return fail("MSSR header truncated");
    }
    h.version = static_cast<std::uint8_t>(first >> k_version_shift);
    if (h.version != k_version && h.version != k_version_parity_count)
        return fail("MSSR version is not 2 or 3");
    const auto priority = static_cast<std::uint8_t>((first & k_priority_mask) >> k_priority_shift);
    if (priority > k_max_priority) return fail("MSSR priority 3 is reserved");
    if (h.adu_length == 0) return fail("MSSR ADU length 0");
    h.priority = static_cast<Priority>(priority);
    h.stream = first & k_stream_mask;
    h.retransmission = (flags_and_index & k_retransmission_bit) != 0;
    h.feedback_wanted = (flags_and_index & k_feedback_wanted_bit) != 0;
    h.parity = (flags_and_index & k_parity_bit) != 0;
    h.fragment_index = flags_and_index & k_index_mask;
    if (h.version == k_version_parity_count) {
        if (!r.read_u8(h.parity_count)) return fail("MSSR header truncated");
        if ((h.parity_count != 0) != h.parity) return fail("MSSR parity count does not match the P bit");
    }
    return h;
}

Result<DataPacketView> parse_data_packet(Bytes datagram) noexcept {
    auto rtp = rtp::parse_rtp(datagram);
    if (!rtp) return Error{rtp.error()};
    const Bytes payload = rtp->payload();
    auto header = parse_fragment_header(payload);
    if (!header) return Error{header.error()};
    const Bytes fragment = payload.subspan(payload_header_size(header->version));
    if (!fragment_fits(*header, fragment.size())) return fail("MSSR fragment empty or longer than its ADU");
    return DataPacketView{*rtp, *header, fragment};
}

Result<std::size_t> append_data_packet(std::vector<std::uint8_t>& out, const RtpFields& rtp,
                                       const FragmentHeader& header, Bytes fragment) {
    if (static_cast<std::uint8_t>(header.priority) > k_max_priority)
        return fail("MSSR priority out of range");
    if (header.stream > k_max_stream) return fail("MSSR stream number beyond 15");
    if (header.fragment_index > k_max_fragment_index) return fail("MSSR fragment index beyond 8,191");
    if (!fragment_fits(header, fragment.size())) return fail("MSSR fragment empty or longer than its ADU");
    if (header.version == k_version_parity_count) {
        if ((header.parity_count != 0) != header.parity) return fail("MSSR parity count does not match P");
    } else if (header.version != k_version || header.parity_count != 0) {
        return fail("MSSR version 2 carries no parity count");
    }

    std::vector<std::uint8_t> mssr;
    mssr.reserve(payload_header_size(header.version));
    ByteWriter w(mssr);
    w.put_u8(static_cast<std::uint8_t>((header.version << k_version_shift) |
                                       (static_cast<std::uint8_t>(header.priority) << k_priority_shift) |
                                       header.stream));
    w.put_u24(header.adu_length);
    w.put_u16(header.sequence);
    w.put_u16(header.stream_sequence);
    w.put_u16(header.adu_time_ms);
    w.put_u16(static_cast<std::uint16_t>((header.retransmission ? k_retransmission_bit : 0) |
                                         (header.feedback_wanted ? k_feedback_wanted_bit : 0) |
                                         (header.parity ? k_parity_bit : 0) | header.fragment_index));
    if (header.version == k_version_parity_count) w.put_u8(header.parity_count);

    rtp::RtpHeader rtp_header;
    rtp_header.marker = rtp.marker;
    rtp_header.payload_type = rtp.payload_type;
    rtp_header.sequence = rtp.rtp_sequence;
    rtp_header.timestamp = rtp.rtp_timestamp;
    rtp_header.ssrc = rtp.ssrc;
    const auto written = rtp::append_rtp(out, rtp_header, mssr);
    if (!written) return written;
    out.insert(out.end(), fragment.begin(), fragment.end());
    return *written + fragment.size();
}

AckRange FeedbackView::ack(std::size_t i) const noexcept {
    if (i >= ack_count_) return {};
    const std::uint8_t* p = blocks_.data() + 4 * i;
    return AckRange{load_be16(p), load_be16(p + 2)};
}

NackBlock FeedbackView::nack(std::size_t i) const noexcept {
    if (i >= nack_count_) return {};
    const std::uint8_t* p = blocks_.data() + 4 * (ack_count_ + i);
    return NackBlock{load_be16(p), load_be16(p + 2)};
}

Feedback FeedbackView::to_feedback() const {
    Feedback f;
    f.ssrc = ssrc_;
    f.receive_window = receive_window_;
    f.cumulative_ack = cumulative_ack_;
    for (std::size_t i = 0; i < ack_count_; ++i)
        f.acks.push_back(ack(i));
    for (std::size_t i = 0; i < nack_count_; ++i)
        f.nacks.push_back(nack(i));
    return f;
}

Result<FeedbackView> parse_feedback(const rtp::RtcpPacket& packet) noexcept {
    const auto app = rtp::parse_app(packet);
    if (!app) return Error{app.error()};
    if (app->name != k_app_name) return fail("RTCP APP is not MSSR");
    if (app->subtype != k_feedback_subtype) return fail("unknown MSSR APP subtype");
    ByteReader r(app->data);
    FeedbackView v;
    std::uint8_t acks = 0;
    std::uint8_t nacks = 0;
    if (!r.read_u32(v.receive_window_) || !r.read_u16(v.cumulative_ack_) || !r.read_u8(acks) ||
        !r.read_u8(nacks)) {
        return fail("MSSR feedback truncated");
    }
    if (r.remaining() != 4 * (std::size_t{acks} + nacks)) return fail("MSSR feedback block count mismatch");
    v.ssrc_ = app->ssrc;
    v.ack_count_ = acks;
    v.nack_count_ = nacks;
    v.blocks_ = r.rest();
    for (std::size_t i = 0; i < v.ack_count_; ++i) {
        if (v.ack(i).count == 0) return fail("MSSR empty ack range");
    }
    return v;
}

Result<FeedbackView> parse_feedback_datagram(Bytes datagram) noexcept {
    const auto compound = rtp::parse_compound(datagram);
    if (!compound) return Error{compound.error()};
    for (const rtp::RtcpPacket& packet : *compound) {
        if (packet.type != rtp::RtcpType::app) continue;
        const auto app = rtp::parse_app(packet);
        if (app && app->name == k_app_name) return parse_feedback(packet);
    }
    return fail("no MSSR feedback in the RTCP packet");
}

Result<std::size_t> append_feedback(std::vector<std::uint8_t>& out, const Feedback& feedback) {
    if (feedback.acks.size() > k_max_feedback_blocks || feedback.nacks.size() > k_max_feedback_blocks) {
        return fail("too many MSSR feedback blocks");
    }
    std::vector<std::uint8_t> body;
    body.reserve(k_feedback_fixed_size + 4 * (feedback.acks.size() + feedback.nacks.size()));
    ByteWriter w(body);
    w.put_u32(feedback.receive_window);
    w.put_u16(feedback.cumulative_ack);
    w.put_u8(static_cast<std::uint8_t>(feedback.acks.size()));
    w.put_u8(static_cast<std::uint8_t>(feedback.nacks.size()));
    for (const AckRange& a : feedback.acks) {
        if (a.count == 0) return fail("MSSR empty ack range");
        w.put_u16(a.start);
        w.put_u16(a.count);
    }
    for (const NackBlock& n : feedback.nacks) {
        w.put_u16(n.pid);
        w.put_u16(n.blp);
    }
    return rtp::append_app(out, k_feedback_subtype, feedback.ssrc, k_app_name, body);
}

Result<std::size_t> append_feedback_datagram(std::vector<std::uint8_t>& out, const Feedback& feedback) {
    return append_feedback(out, feedback);
}

}  // namespace sg::mssr
