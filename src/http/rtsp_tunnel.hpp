#pragma once
// RTSP tunnelled in HTTP, the QuickTime scheme (Apple, "Tunneling QuickTime RTSP and RTP over HTTP"; ONVIF
// Streaming Specification section 5.1.1): the client opens a GET carrying `x-sessioncookie: C`, which the
// server answers `200 OK` with `Content-Type: application/x-rtsp-tunnelled` and then keeps for the RTSP
// responses and the interleaved RTP; it opens a POST with the same cookie whose body is its RTSP requests
// in base64 (Base64Decoder). The server pairs the two by the cookie (TunnelCookies).
// Pure code: no I/O, no exceptions.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/parse.hpp"

namespace sg::http {

// What the first bytes of a freshly accepted RTSP connection are.
enum class FirstBytes : std::uint8_t {
    need_more,  // the first request line is not complete yet
    rtsp,       // anything but an HTTP/1.x request line: the RTSP parser decides
    http,       // a request line ending in HTTP/1.x: a tunnel GET or POST (or a stray HTTP client)
};

// Only the first `max_line` bytes are looked at: when they hold no complete first line, the connection is
// left to the RTSP parser (which refuses a head that large).
FirstBytes classify_first_bytes(std::string_view received, std::size_t max_line = 8192) noexcept;

enum class TunnelRole : std::uint8_t { get, post };

struct TunnelHead {
    TunnelRole role = TunnelRole::get;
    std::string cookie;
    std::string path;  // the request target's path, for logs
};

// Parsed<TunnelHead> plus the HTTP status to answer a failed parse with: 400 (malformed, no or bad cookie),
// 405 (neither GET nor POST), 415 (a POST whose Content-Type is not the tunnel's), 431 or 505.
struct [[nodiscard]] ParsedTunnelHead : Parsed<TunnelHead> {
    int error_status = 400;
};

// Parses the HTTP head at the start of `received`; `consumed` ends at the empty line (a POST's body
// follows). A cookie is 1..k_max_cookie visible ASCII characters.
ParsedTunnelHead parse_tunnel_head(std::string_view received);
inline constexpr std::size_t k_max_cookie = 128;

// The answer to an accepted tunnel GET: `HTTP/1.0 200 OK`, the tunnel's Content-Type, no caching, no
// Content-Length (the body is the rest of the connection).
std::string tunnel_get_reply();
// A complete error answer with `Connection: close` (the connection is closed after it).
std::string tunnel_error_reply(int status);

// Pairs tunnel POSTs with their GETs by cookie. A GET registers its cookie (a cookie in use is refused);
// a POST claims it (refused when no GET has it, when another POST holds it, or when the GET waited longer
// than `post_wait` for its first POST); the POST releases it when it ends, so that the client may open
// the next one, and the GET removes it when it ends. Bounded: at most `capacity` cookies, expired ones
// purged first. `Handle` is what the caller finds its GET by.
template <class Handle>
class TunnelCookies {
public:
    using Clock = std::chrono::steady_clock;

    enum class Registered : std::uint8_t { ok, in_use, full };

    struct Claim {
        const Handle* get = nullptr;   // nullptr: refused
        std::uint64_t generation = 0;  // for release()
    };

    TunnelCookies(std::size_t capacity, Clock::duration post_wait)
        : capacity_(capacity), post_wait_(post_wait) {}

    Registered register_get(const std::string& cookie, Handle get, Clock::time_point now) {
        purge(now);
        if (entries_.contains(cookie)) return Registered::in_use;
        if (entries_.size() >= capacity_) return Registered::full;
        entries_.emplace(cookie, Entry{std::move(get), now, false, false, 0});
        return Registered::ok;
    }

    Claim claim_post(const std::string& cookie, Clock::time_point now) {
        const auto it = entries_.find(cookie);
        if (it == entries_.end() || it->second.posting) return {};
        if (!it->second.ever_posted && now - it->second.created > post_wait_) return {};
        it->second.posting = true;
        it->second.ever_posted = true;
        return {&it->second.get, ++it->second.generation};
    }

    // The POST of `generation` ended: the next POST may claim the cookie.
    void release(const std::string& cookie, std::uint64_t generation) {
        const auto it = entries_.find(cookie);
        if (it != entries_.end() && it->second.generation == generation) it->second.posting = false;
    }

    void remove(const std::string& cookie) { entries_.erase(cookie); }
    std::size_t size() const noexcept { return entries_.size(); }

private:
    struct Entry {
        Handle get;
        Clock::time_point created;
        bool posting = false;
        bool ever_posted = false;
        std::uint64_t generation = 0;
    };

    // GETs whose first POST never came within the wait (their connections close on their own deadline;
    // this keeps the table bounded should one not).
    void purge(Clock::time_point now) {
        std::erase_if(entries_, [&](const auto& item) {
            return !item.second.ever_posted && now - item.second.created > post_wait_;
        });
    }

    std::size_t capacity_;
    Clock::duration post_wait_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace sg::http
