#include "relay_io/relay_core.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "relay/address.hpp"

namespace sg::relay_io {
namespace {

// Unknown flag names are remembered so each is logged once; a peer sending endless new names must not
// grow the set without bound.
constexpr std::size_t k_max_logged_flags = 256;

std::string describe_leg(const relay::LegReport& leg) {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t dropped = 0;
    std::string where = "-";
    std::string family = "-";
    for (const auto& stream : leg.streams) {
        packets += stream.received.packets;
        bytes += stream.received.bytes;
        dropped += stream.received.errors;
        if (where == "-" && stream.latched) where = relay::to_string(*stream.latched);
        family = std::string(relay::family_name(stream.local.family));
    }
    return fmt::format("{} {} from {} sent {} packets {} bytes (dropped {})", leg.tag, family, where, packets,
                       bytes, dropped);
}

}  // namespace

std::int64_t wall_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

RelayCore::RelayCore(relay::CallTable& table) : table_(table) {}

std::string RelayCore::on_control(const relay::ControlProtocol& protocol, std::string_view message,
                                  std::string_view source) {
    const auto now = std::chrono::steady_clock::now();
    relay::Decoded decoded = protocol.decode(message);
    if (!decoded.request && decoded.reply.empty()) {
        bad_request_log_.warn("relay: {} message from {} not answered: {}", protocol.name(), source,
                              decoded.error);
        return "";
    }
    const bool cached_transport = !decoded.cookie.empty();
    if (const auto* cached = cached_transport ? cache_.find(source, decoded.cookie, now) : nullptr) {
        ++counters_.retransmissions;
        return *cached;
    }
    ++counters_.requests;
    std::string reply;
    if (!decoded.request) {
        ++counters_.errors;
        bad_request_log_.warn("relay: bad {} request from {}: {}", protocol.name(), source, decoded.error);
        reply = std::move(decoded.reply);
    } else {
        for (const auto& flag : decoded.unknown_flags) {
            if (unknown_flags_logged_.size() < k_max_logged_flags &&
                unknown_flags_logged_.insert(flag).second)
                spdlog::info("relay: {} flag \"{}\" is not known here; ignored", protocol.name(), flag);
        }
        std::vector<relay::EndedCall> ended;
        const relay::Outcome outcome = table_.handle(*decoded.request, now, wall_seconds(), ended);
        if (outcome.error) {
            ++counters_.errors;
            bad_request_log_.warn("relay: {} request from {} for call {} failed: {}", protocol.name(), source,
                                  decoded.request->call_id, *outcome.error);
        }
        log_ended(ended);
        reply = protocol.encode(decoded.cookie, *decoded.request, outcome);
    }
    if (cached_transport) cache_.insert(source, decoded.cookie, reply, now);
    return reply;
}

void RelayCore::expire() {
    std::vector<relay::EndedCall> ended;
    table_.expire(std::chrono::steady_clock::now(), wall_seconds(), ended);
    log_ended(ended);
}

void RelayCore::shutdown() {
    std::vector<relay::EndedCall> ended;
    table_.clear(std::chrono::steady_clock::now(), wall_seconds(), ended, "relay stopped");
    log_ended(ended);
}

void RelayCore::log_ended(std::vector<relay::EndedCall>& ended) {
    for (const auto& call : ended) {
        if (call.reason == "deleted") {
            ++counters_.calls_ended_deleted;
        } else if (call.reason.find("timeout") != std::string::npos) {
            ++counters_.calls_ended_timeout;
        } else {
            ++counters_.calls_ended_other;
        }
        std::string legs;
        for (const auto& leg : call.report.legs) {
            if (!legs.empty()) legs += "; ";
            legs += describe_leg(leg);
        }
        spdlog::info("relay: call {} ended ({}) after {:.1f} s: {}", call.report.call_id, call.reason,
                     static_cast<double>(call.duration.count()) / 1000.0, legs.empty() ? "no media" : legs);
    }
    ended.clear();
}

}  // namespace sg::relay_io
