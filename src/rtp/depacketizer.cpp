#include "rtp/depacketizer.hpp"

#include <array>

#include "rtp/rtp_packet.hpp"

namespace sg::rtp {
namespace {

constexpr std::array<std::uint8_t, 4> k_start_code{0, 0, 0, 1};
constexpr std::int64_t k_aac_frame_samples = 1024;

// H.264 (RFC 6184 §5.4) and H.265 (RFC 7798 §4.4) payload structures this depacketizer reads.
constexpr std::uint8_t k_h264_stap_a = 24;
constexpr std::uint8_t k_h264_fu_a = 28;
constexpr std::uint8_t k_h264_idr = 5;
constexpr std::uint8_t k_h265_ap = 48;
constexpr std::uint8_t k_h265_fu = 49;
constexpr std::uint8_t k_h265_first_irap = 16;
constexpr std::uint8_t k_h265_last_irap = 21;
constexpr std::uint8_t k_fu_start = 0x80;
constexpr std::uint8_t k_fu_end = 0x40;

std::uint8_t h264_type(std::uint8_t header) noexcept {
    return header & 0x1f;
}
std::uint8_t h265_type(std::uint8_t header) noexcept {
    return (header >> 1) & 0x3f;
}

// Reads big-endian bit fields (RFC 3640 AU headers).
class BitReader {
public:
    explicit BitReader(Bytes data) noexcept : data_(data) {}
    std::optional<std::uint32_t> read(unsigned bits) noexcept {
        if (bits > 32 || position_ + bits > data_.size() * 8) return std::nullopt;
        std::uint32_t value = 0;
        for (unsigned i = 0; i < bits; ++i, ++position_) {
            const auto bit = (data_[position_ / 8] >> (7 - position_ % 8)) & 1U;
            value = (value << 1) | bit;
        }
        return value;
    }

private:
    Bytes data_;
    std::size_t position_ = 0;
};

// Aggregation packets: NAL units each behind a 16-bit size, after `skip` header octets.
template <class Append>
bool for_each_aggregated(Bytes payload, std::size_t skip, Append&& append) {
    std::size_t offset = skip;
    if (offset >= payload.size()) return false;
    while (offset < payload.size()) {
        if (payload.size() - offset < 2) return false;
        const std::size_t size = load_be16(payload.data() + offset);
        offset += 2;
        if (size == 0 || size > payload.size() - offset) return false;
        append(payload.subspan(offset, size));
        offset += size;
    }
    return true;
}

}  // namespace

void Depacketizer::damage() noexcept {
    damaged_ = true;
    in_fragment_ = false;
}

void Depacketizer::feed(Bytes packet) {
    const auto view = parse_rtp(packet);
    if (!view) {
        damage();
        return;
    }
    ++packets_;
    const std::uint16_t sequence = view->sequence();
    if (next_sequence_ && sequence != *next_sequence_) damage();
    next_sequence_ = static_cast<std::uint16_t>(sequence + 1);
    const std::uint32_t timestamp = view->timestamp();
    if (last_timestamp_) extended_ += static_cast<std::int32_t>(timestamp - *last_timestamp_);
    last_timestamp_ = timestamp;
    if (damaged_) return;
    const Bytes payload = view->payload();
    switch (codec_) {
        case DepacketizedCodec::h264:
        case DepacketizedCodec::h265:
            if (open_ && unit_.timestamp != extended_) {
                if (in_fragment_) damage();
                close_unit();
            }
            unit_.timestamp = extended_;
            open_ = true;
            if (codec_ == DepacketizedCodec::h264) {
                feed_h264(payload);
            } else {
                feed_h265(payload);
            }
            if (view->marker() && !in_fragment_) close_unit();
            return;
        case DepacketizedCodec::aac:
            feed_aac(payload, extended_);
            return;
        case DepacketizedCodec::opus:
        case DepacketizedCodec::pcmu:
        case DepacketizedCodec::pcma:
        case DepacketizedCodec::mp2t:
            if (payload.empty()) return;  // nothing to store (a keep-alive)
            ready_.push_back(AccessUnit{extended_, true, {payload.begin(), payload.end()}});
            return;
    }
}

void Depacketizer::append_nal(Bytes nal) {
    if (nal.empty() || unit_.data.size() + k_start_code.size() + nal.size() > k_max_unit_bytes) {
        damage();
        return;
    }
    if (codec_ == DepacketizedCodec::h264) {
        unit_.key = unit_.key || h264_type(nal[0]) == k_h264_idr;
    } else if (nal.size() >= 2) {
        const auto type = h265_type(nal[0]);
        unit_.key = unit_.key || (type >= k_h265_first_irap && type <= k_h265_last_irap);
    }
    unit_.data.insert(unit_.data.end(), k_start_code.begin(), k_start_code.end());
    unit_.data.insert(unit_.data.end(), nal.begin(), nal.end());
}

void Depacketizer::feed_fragment(Bytes body, bool start, bool end, Bytes header) {
    if (start) {
        if (in_fragment_) {
            damage();
            return;
        }
        append_nal(header);
        in_fragment_ = !damaged_;
    } else if (!in_fragment_) {
        damage();
        return;
    }
    if (unit_.data.size() + body.size() > k_max_unit_bytes) {
        damage();
        return;
    }
    unit_.data.insert(unit_.data.end(), body.begin(), body.end());
    if (end) in_fragment_ = false;
}

void Depacketizer::feed_h264(Bytes payload) {
    if (payload.empty()) {
        damage();
        return;
    }
    const auto type = h264_type(payload[0]);
    if (in_fragment_ && type != k_h264_fu_a) {
        damage();
        return;
    }
    if (type >= 1 && type < k_h264_stap_a) {
        append_nal(payload);
    } else if (type == k_h264_stap_a) {
        if (!for_each_aggregated(payload, 1, [this](Bytes nal) { append_nal(nal); })) damage();
    } else if (type == k_h264_fu_a && payload.size() >= 2) {
        const std::array<std::uint8_t, 1> header{
            static_cast<std::uint8_t>((payload[0] & 0xe0) | (payload[1] & 0x1f))};
        feed_fragment(payload.subspan(2), (payload[1] & k_fu_start) != 0, (payload[1] & k_fu_end) != 0,
                      Bytes(header.data(), header.size()));
    } else {
        damage();  // STAP-B, MTAP, FU-B (interleaved mode) or reserved
    }
}

void Depacketizer::feed_h265(Bytes payload) {
    if (payload.size() < 2) {
        damage();
        return;
    }
    const auto type = h265_type(payload[0]);
    if (in_fragment_ && type != k_h265_fu) {
        damage();
        return;
    }
    if (type < k_h265_ap) {
        append_nal(payload);
    } else if (type == k_h265_ap) {
        if (!for_each_aggregated(payload, 2, [this](Bytes nal) { append_nal(nal); })) damage();
    } else if (type == k_h265_fu && payload.size() >= 3) {
        const std::uint8_t fu = payload[2];
        const std::array<std::uint8_t, 2> header{
            static_cast<std::uint8_t>((payload[0] & 0x81) | ((fu & 0x3f) << 1)), payload[1]};
        feed_fragment(payload.subspan(3), (fu & k_fu_start) != 0, (fu & k_fu_end) != 0,
                      Bytes(header.data(), header.size()));
    } else {
        damage();  // PACI or reserved
    }
}

// RFC 3640 §3.2: AU-headers-length in bits, the AU headers (size, then index or index-delta), then the
// access units back to back. A unit fragmented across packets is not supported (AAC frames fit a packet).
void Depacketizer::feed_aac(Bytes payload, std::int64_t timestamp) {
    const unsigned header_bits = size_length_ + index_length_;
    if (payload.size() < 2 || header_bits == 0) {
        damage();
        return;
    }
    const std::size_t headers_bits = load_be16(payload.data());
    const std::size_t headers_bytes = (headers_bits + 7) / 8;
    if (headers_bits == 0 || headers_bits % header_bits != 0 || 2 + headers_bytes > payload.size()) {
        damage();
        return;
    }
    BitReader headers(payload.subspan(2, headers_bytes));
    std::size_t offset = 2 + headers_bytes;
    const std::size_t count = headers_bits / header_bits;
    for (std::size_t i = 0; i < count; ++i) {
        const auto size = headers.read(size_length_);
        if (!size || !headers.read(index_length_) || *size == 0 || *size > payload.size() - offset) {
            damage();
            return;
        }
        const Bytes unit = payload.subspan(offset, *size);
        offset += *size;
        ready_.push_back(AccessUnit{timestamp + static_cast<std::int64_t>(i) * k_aac_frame_samples,
                                    true,
                                    {unit.begin(), unit.end()}});
    }
}

void Depacketizer::close_unit() {
    if (open_ && !unit_.data.empty() && !damaged_) ready_.push_back(std::move(unit_));
    unit_ = AccessUnit{};
    open_ = false;
}

void Depacketizer::flush() {
    if (in_fragment_) damage();
    close_unit();
}

std::vector<AccessUnit> Depacketizer::take() {
    std::vector<AccessUnit> out;
    out.swap(ready_);
    return out;
}

}  // namespace sg::rtp
