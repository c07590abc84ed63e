#include "mssr/handshake.hpp"

#include "mssr/fragmenter.hpp"
#include "rtp/rtcp.hpp"

namespace sg::mssr {
namespace {

constexpr std::uint8_t k_max_mode = static_cast<std::uint8_t>(RetransmitMode::none);
constexpr std::uint8_t k_max_late = static_cast<std::uint8_t>(LatePolicy::partial);

}  // namespace

Result<std::size_t> append_hello(std::vector<std::uint8_t>& out, const Hello& hello) {
    if (hello.streams.size() > k_max_session_streams) return fail("too many MSSR streams");
    if (hello.mss < k_min_mss) return fail("MSS below the minimum");
    std::vector<std::uint8_t> body;
    ByteWriter w(body);
    w.put_u8(k_version);
    w.put_u8(static_cast<std::uint8_t>(hello.role));
    w.put_u16(hello.mss);
    w.put_u8(static_cast<std::uint8_t>(hello.streams.size()));
    w.put_u8(hello.features);
    w.put_u8(hello.key_parity_group);
    w.put_u8(0);
    for (const StreamPolicy& s : hello.streams) {
        if (s.latency.count() < 0 || s.latency.count() > k_max_latency_ms)
            return fail("MSSR latency beyond 30,000 ms");
        w.put_u16(static_cast<std::uint16_t>(s.latency.count()));
        w.put_u8(static_cast<std::uint8_t>(s.mode));
        w.put_u8(static_cast<std::uint8_t>(s.late));
    }
    const std::size_t start = out.size();
    const auto rr = rtp::append_receiver_report(out, hello.ssrc);
    if (!rr) return rr;
    const auto app =
        rtp::append_app(out, static_cast<std::uint8_t>(hello.kind), hello.ssrc, k_app_name, body);
    if (!app) {
        out.resize(start);
        return app;
    }
    return out.size() - start;
}

Result<Hello> parse_hello_datagram(Bytes datagram) noexcept {
    const auto compound = rtp::parse_compound(datagram);
    if (!compound) return Error{compound.error()};
    for (const rtp::RtcpPacket& packet : *compound) {
        if (packet.type != rtp::RtcpType::app) continue;
        const auto app = rtp::parse_app(packet);
        if (!app || app->name != k_app_name) continue;
        if (app->subtype != k_hello_subtype && app->subtype != k_hello_ack_subtype &&
            app->subtype != k_hello_confirm_subtype)
            continue;
        ByteReader r(app->data);
        std::uint8_t version = 0;
        std::uint8_t role = 0;
        std::uint8_t count = 0;
        std::uint8_t reserved = 0;
        Hello hello;
        if (!r.read_u8(version) || !r.read_u8(role) || !r.read_u16(hello.mss) || !r.read_u8(count) ||
            !r.read_u8(hello.features) || !r.read_u8(hello.key_parity_group) || !r.read_u8(reserved)) {
            return fail("MSSR hello truncated");
        }
        if (version != k_version) return fail("MSSR hello: unknown version");
        if (role > 1) return fail("MSSR hello: unknown role");
        if (hello.mss < k_min_mss) return fail("MSSR hello: MSS below the minimum");
        if (count > k_max_session_streams) return fail("MSSR hello: too many streams");
        if (r.remaining() != std::size_t{4} * count) return fail("MSSR hello: stream count mismatch");
        for (std::uint8_t i = 0; i < count; ++i) {
            std::uint16_t latency = 0;
            std::uint8_t mode = 0;
            std::uint8_t late = 0;
            (void)(r.read_u16(latency) && r.read_u8(mode) && r.read_u8(late));  // length checked above
            if (mode > k_max_mode || late > k_max_late) return fail("MSSR hello: unknown stream policy");
            if (latency > k_max_latency_ms) return fail("MSSR hello: latency beyond 30,000 ms");
            hello.streams.push_back(StreamPolicy{std::chrono::milliseconds(latency),
                                                 static_cast<RetransmitMode>(mode),
                                                 static_cast<LatePolicy>(late)});
        }
        hello.kind = static_cast<HelloKind>(app->subtype);
        hello.ssrc = app->ssrc;
        hello.role = static_cast<Role>(role);
        return hello;
    }
    return fail("no MSSR hello in the RTCP packet");
}

std::optional<std::chrono::microseconds> HandshakeTimer::on_ack(TimePoint now) const noexcept {
    if (hellos_sent_ != 1 || now < first_sent_) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::microseconds>(now - first_sent_);
}

std::optional<std::chrono::microseconds> HandshakeTimer::round_trip_floor(TimePoint now) const noexcept {
    if (hellos_sent_ == 0 || now < last_sent_) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::microseconds>(now - last_sent_);
}

}  // namespace sg::mssr
