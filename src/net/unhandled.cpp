#include "net/unhandled.hpp"

#include <atomic>
#include <memory>
#include <string>

#include "net/rate_limited_log.hpp"

namespace sg::net {
namespace {

constexpr std::size_t k_sites = k_unhandled_sites.size();

struct Site {
    std::atomic<std::uint64_t> count{0};
    std::unique_ptr<RateLimitedLog> log;
};

std::array<Site, k_sites>& sites() {
    // Built on first use: reports may come from any thread at any time, even during static destruction of
    // other objects, so the table is never destroyed.
    static auto* table = [] {
        auto* t = new std::array<Site, k_sites>();
        for (std::size_t i = 0; i < k_sites; ++i)
            (*t)[i].log = std::make_unique<RateLimitedLog>(std::string("unhandled exception in ") +
                                                           std::string(to_string(k_unhandled_sites[i])));
        return t;
    }();
    return *table;
}

}  // namespace

std::string_view to_string(Unhandled where) noexcept {
    switch (where) {
        case Unhandled::socks_session:
            return "socks_session";
        case Unhandled::socks_connector:
            return "socks_connector";
        case Unhandled::rtsp_connection:
            return "rtsp_connection";
        case Unhandled::rtsp_busy_reply:
            return "rtsp_busy_reply";
        case Unhandled::mount_upstream:
            return "mount_upstream";
        case Unhandled::mount_report:
            return "mount_report";
        case Unhandled::player_rtcp:
            return "player_rtcp";
        case Unhandled::media_relay:
            return "media_relay";
        case Unhandled::serve_session:
            return "serve_session";
        case Unhandled::admin_connection:
            return "admin_connection";
        case Unhandled::accept_loop:
            return "accept_loop";
        case Unhandled::relay_media:
            return "relay_media";
        case Unhandled::relay_control:
            return "relay_control";
        case Unhandled::publisher_media:
            return "publisher_media";
        case Unhandled::turn_data:
            return "turn_data";
    }
    return "unknown";
}

std::uint64_t unhandled_count(Unhandled where) noexcept {
    return sites()[static_cast<std::size_t>(where)].count.load(std::memory_order_relaxed);
}

void report_unhandled(Unhandled where, const std::exception_ptr& e) noexcept {
    if (!e) return;
    Site& site = sites()[static_cast<std::size_t>(where)];
    site.count.fetch_add(1, std::memory_order_relaxed);
    try {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            site.log->log(spdlog::level::err, "unhandled exception in {}: {}", to_string(where), ex.what());
        } catch (...) {
            site.log->log(spdlog::level::err, "unhandled exception in {}: not a std::exception",
                          to_string(where));
        }
    } catch (...) {
        // Logging failed (out of memory): the count above is all we can keep.
    }
}

}  // namespace sg::net
