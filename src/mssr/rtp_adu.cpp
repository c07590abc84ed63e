#include "mssr/rtp_adu.hpp"

#include "mssr/handshake.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::mssr {
namespace {

constexpr std::string_view k_magic = "MSSD";
constexpr std::size_t k_record_header = 2;
constexpr std::size_t k_rtp_header = 12;
constexpr std::size_t k_max_record = 0xffff;

// Whether a record with a plausible RTP packet of this ADU starts at `at`.
bool plausible_record(Bytes adu, std::size_t at, std::uint32_t rtp_timestamp) noexcept {
    if (at + k_record_header + k_rtp_header > adu.size()) return false;
    const std::size_t length = load_be16(adu.data() + at);
    if (length < k_rtp_header || length > adu.size() - at - k_record_header) return false;
    const std::uint8_t* rtp = adu.data() + at + k_record_header;
    return (rtp[0] >> 6) == 2 && load_be32(rtp + 4) == rtp_timestamp;
}

// Whether [begin, end) lies in received fragments.
bool received_range(const std::vector<bool>& received, std::size_t fragment_size, std::size_t begin,
                    std::size_t end) noexcept {
    if (received.empty()) return true;
    if (fragment_size == 0 || end <= begin) return false;
    for (std::size_t f = begin / fragment_size; f <= (end - 1) / fragment_size; ++f)
        if (f >= received.size() || !received[f]) return false;
    return true;
}

}  // namespace

Result<std::vector<std::uint8_t>> assign_streams(const std::vector<std::string>& media) {
    std::vector<std::uint8_t> streams;
    bool video = false;
    bool audio = false;
    std::size_t next = k_rtp_first_extra_stream;
    for (const auto& m : media) {
        if (m == "video" && !video) {
            video = true;
            streams.push_back(k_rtp_video_stream);
        } else if (m == "audio" && !audio) {
            audio = true;
            streams.push_back(k_rtp_audio_stream);
        } else {
            if (next >= k_max_session_streams) return fail("too many tracks");
            streams.push_back(static_cast<std::uint8_t>(next++));
        }
    }
    return streams;
}

std::vector<std::uint8_t> encode_session_description(const SessionDescription& description) {
    std::vector<std::uint8_t> out(k_magic.begin(), k_magic.end());
    out.push_back(static_cast<std::uint8_t>(description.track_streams.size()));
    out.insert(out.end(), description.track_streams.begin(), description.track_streams.end());
    out.insert(out.end(), description.sdp.begin(), description.sdp.end());
    return out;
}

Result<SessionDescription> parse_session_description(Bytes adu) {
    if (adu.size() < k_magic.size() + 1 ||
        std::string_view(reinterpret_cast<const char*>(adu.data()), k_magic.size()) != k_magic)
        return fail("not a session description");
    const std::size_t tracks = adu[k_magic.size()];
    const std::size_t map_end = k_magic.size() + 1 + tracks;
    if (adu.size() < map_end) return fail("truncated track map");
    if (adu.size() - map_end > k_max_description_bytes) return fail("session description too long");
    SessionDescription d;
    for (std::size_t i = k_magic.size() + 1; i < map_end; ++i) {
        if (adu[i] >= k_max_session_streams || adu[i] == k_description_stream)
            return fail("track stream out of range");
        d.track_streams.push_back(adu[i]);
    }
    d.sdp.assign(reinterpret_cast<const char*>(adu.data() + map_end), adu.size() - map_end);
    return d;
}

void RtpAduGrouper::feed(Bytes packet, bool starts_key, bool non_reference) {
    ++stats_.packets;
    const auto view = rtp::parse_rtp(packet);
    if (!view || packet.size() > k_max_record) {
        ++stats_.invalid;
        return;
    }
    // A new access unit starts where the timestamp changes (the last one's marker was lost or never set).
    if (open_ && (view->timestamp() != adu_.rtp_timestamp ||
                  adu_.data.size() + k_record_header + packet.size() > k_max_adu_bytes))
        close();
    if (!open_) {
        open_ = true;
        adu_ = Adu{};
        adu_.stream = stream_;
        adu_.priority = Priority::reference;
        adu_.rtp_timestamp = view->timestamp();
    }
    if (starts_key) adu_.priority = Priority::key;
    if (non_reference && adu_.priority == Priority::reference) adu_.priority = Priority::disposable;
    ByteWriter w(adu_.data);
    w.put_u16(static_cast<std::uint16_t>(packet.size()));
    w.put_bytes(packet);
    if (!frames_ || view->marker()) close();
}

void RtpAduGrouper::flush() {
    if (open_) close();
}

void RtpAduGrouper::close() {
    open_ = false;
    ++stats_.adus;
    if (adu_.priority == Priority::key) ++stats_.key_adus;
    if (adu_.priority == Priority::disposable) ++stats_.disposable_adus;
    ready_.push_back(std::move(adu_));
    adu_ = Adu{};
}

std::vector<Adu> RtpAduGrouper::take() {
    std::vector<Adu> out;
    out.swap(ready_);
    return out;
}

std::size_t for_each_rtp_packet(Bytes adu, std::uint32_t rtp_timestamp, const std::vector<bool>& received,
                                std::size_t fragment_size, const std::function<void(Bytes)>& packet) {
    std::size_t count = 0;
    std::size_t at = 0;
    bool synced = true;  // the previous record ended here, so a record starts here
    while (at + k_record_header + k_rtp_header <= adu.size()) {
        if (!synced && !plausible_record(adu, at, rtp_timestamp)) {
            ++at;
            continue;
        }
        const std::size_t length = load_be16(adu.data() + at);
        const std::size_t end = at + k_record_header + length;
        const bool whole =
            end <= adu.size() && length >= k_rtp_header && received_range(received, fragment_size, at, end);
        if (!whole || !plausible_record(adu, at, rtp_timestamp)) {
            // A hole (or garbage): look for the next record after the first byte of this one.
            if (received.empty()) break;  // a complete ADU has no holes: the rest is not ours to guess
            synced = false;
            ++at;
            continue;
        }
        packet(adu.subspan(at + k_record_header, length));
        ++count;
        at = end;
        synced = true;
    }
    return count;
}

}  // namespace sg::mssr
