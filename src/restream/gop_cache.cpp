#include "restream/gop_cache.hpp"

#include "rtp/rtp_packet.hpp"

namespace sg::proxy {

void GopCache::clear() noexcept {
    while (!packets_.empty())
        pop_front();
    recycle(previous_);
    have_gop_ = false;
    skipping_ = false;
}

bool GopCache::ready() const noexcept {
    if (packets_.empty()) return false;
    return codec_ == VideoCodec::none || have_gop_;
}

void GopCache::pop_front() noexcept {
    auto& front = packets_.front();
    bytes_ -= front.bytes.size();
    // Bounded: never more spare buffers than packets the cache may hold.
    if (spare_.size() < limits_.max_packets) spare_.push_back(std::move(front.bytes));
    packets_.pop_front();
}

void GopCache::recycle(std::deque<Packet>& packets) noexcept {
    for (auto& packet : packets)
        if (spare_.size() < limits_.max_packets) spare_.push_back(std::move(packet.bytes));
    packets.clear();
}

void GopCache::push(std::span<const std::uint8_t> packet, Clock::time_point arrival, std::uint32_t timestamp,
                    bool non_vcl_only) {
    std::vector<std::uint8_t> bytes;
    if (!spare_.empty()) {
        bytes = std::move(spare_.back());
        spare_.pop_back();
    }
    bytes.assign(packet.begin(), packet.end());
    bytes_ += bytes.size();
    packets_.push_back(Packet{std::move(bytes), arrival, timestamp, non_vcl_only, next_serial_++});
}

const GopCache::Packet* GopCache::find(std::uint64_t serial) const noexcept {
    // Each deque holds consecutive serials: the one wanted is at a fixed distance from its front.
    for (const auto* held : {&packets_, &previous_}) {
        if (held->empty() || serial < held->front().serial) continue;
        const std::uint64_t index = serial - held->front().serial;
        if (index < held->size()) return &(*held)[static_cast<std::size_t>(index)];
    }
    return nullptr;
}

std::optional<std::uint64_t> GopCache::add(std::span<const std::uint8_t> packet, Clock::time_point arrival) {
    if (limits_.max_bytes == 0 || limits_.max_packets == 0) return std::nullopt;
    const auto view = rtp::parse_rtp(Bytes(packet.data(), packet.size()));
    if (!view) return std::nullopt;
    // A new upstream stream (reconnect, rollover): its numbers do not continue the old one's.
    if (!packets_.empty() && view->ssrc() != ssrc_) clear();
    ssrc_ = view->ssrc();
    const std::uint32_t timestamp = view->timestamp();

    if (codec_ == VideoCodec::none) {
        while (!packets_.empty() &&
               (arrival - packets_.front().arrival > limits_.tail || !fits(packet.size())))
            pop_front();
        if (!fits(packet.size())) return std::nullopt;
        push(packet, arrival, timestamp, false);
        return packets_.back().serial;
    }

    const auto summary = summarize_payload(codec_, view->payload());
    // A key frame's first slice starts a GOP; its further slices (same timestamp) belong to it.
    const bool same_picture = (have_gop_ || skipping_) && timestamp == gop_timestamp_;
    const bool new_gop = summary.key_start && !same_picture;
    if (new_gop) {
        // Keep only the packets that open this key frame's access unit: the run of parameter sets and SEI
        // with its timestamp just before it.
        std::size_t keep = 0;
        for (auto it = packets_.rbegin();
             it != packets_.rend() && it->non_vcl_only && it->timestamp == timestamp; ++it)
            ++keep;
        // The GOP that ends here moves to previous_, still readable by serial (find).
        recycle(previous_);
        while (packets_.size() > keep) {
            bytes_ -= packets_.front().bytes.size();
            previous_.push_back(std::move(packets_.front()));
            packets_.pop_front();
        }
        have_gop_ = true;
        skipping_ = false;
        gop_timestamp_ = timestamp;
    } else if (skipping_ || !have_gop_) {
        // No start to offer: hold only what may open the next key frame's access unit.
        if (!summary.non_vcl_only) {
            while (!packets_.empty())
                pop_front();
            return std::nullopt;
        }
    }
    if (!fits(packet.size())) {
        // Over the limits: this GOP is not held; players joining meanwhile wait for the next key frame.
        if (have_gop_) ++over_limit_;
        const bool in_gop = have_gop_;
        clear();
        skipping_ = in_gop;
        return std::nullopt;
    }
    push(packet, arrival, timestamp, summary.non_vcl_only);
    return packets_.back().serial;
}

}  // namespace sg::proxy
