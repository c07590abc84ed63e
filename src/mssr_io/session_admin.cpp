#include "mssr_io/session_admin.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "net/asio_endpoint.hpp"

namespace sg::mssr {
namespace {

double seconds(std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1e6;
}

}  // namespace

SessionAdmin::SessionAdmin(asio::io_context& io, SocketSource socket)
    : socket_(std::move(socket)), server_(io, registry_) {}

SessionAdmin::~SessionAdmin() = default;

std::unique_ptr<SessionAdmin> SessionAdmin::start(asio::io_context& io,
                                                  const asio::ip::tcp::endpoint& endpoint,
                                                  SocketSource socket,
                                                  const std::vector<std::string>& stream_names,
                                                  std::string& error) {
    std::unique_ptr<SessionAdmin> admin(new SessionAdmin(io, std::move(socket)));
    admin->register_series(stream_names);
    const auto bound = admin->server_.listen(endpoint, error);
    if (!bound) return nullptr;
    admin->endpoint_ = *bound;
    return admin;
}

void SessionAdmin::stop() {
    server_.stop();
}

bool start_session_admin(asio::io_context& io, const std::optional<asio::ip::tcp::endpoint>& endpoint,
                         SessionAdmin::SocketSource socket, const std::vector<std::string>& stream_names,
                         std::unique_ptr<SessionAdmin>& admin) {
    if (!endpoint) return true;
    std::string error;
    admin = SessionAdmin::start(io, *endpoint, std::move(socket), stream_names, error);
    if (admin) return true;
    std::fputs(fmt::format("streamgate: mssr: --admin {}: {}\n", net::to_string(*endpoint), error).c_str(),
               stderr);
    return false;
}

void SessionAdmin::register_series(const std::vector<std::string>& stream_names) {
    // Each series reads one figure of whichever side this session is; 0 where the side or socket is absent.
    const auto sender = [this](auto figure) {
        return [this, figure]() -> double {
            const Socket* s = socket_();
            const Sender* side = s != nullptr ? s->sender() : nullptr;
            return side != nullptr ? static_cast<double>(figure(*side)) : 0.0;
        };
    };
    const auto receiver = [this](auto figure) {
        return [this, figure]() -> double {
            const Socket* s = socket_();
            const Reassembler* side = s != nullptr ? s->receiver() : nullptr;
            return side != nullptr ? static_cast<double>(figure(*side)) : 0.0;
        };
    };
    const auto socket = [this](auto figure) {
        return [this, figure]() -> double {
            const Socket* s = socket_();
            return s != nullptr ? static_cast<double>(figure(s->stats())) : 0.0;
        };
    };

    auto& r = registry_;
    r.counter_callback("streamgate_mssr_datagrams_total", "MSSR datagrams through the session's socket",
                       socket([](const SocketStats& st) { return st.datagrams_in; }), {{"direction", "in"}});
    r.counter_callback("streamgate_mssr_datagrams_total", "MSSR datagrams through the session's socket",
                       socket([](const SocketStats& st) { return st.datagrams_out; }),
                       {{"direction", "out"}});
    r.counter_callback("streamgate_mssr_send_errors_total", "Datagrams the kernel refused to send",
                       socket([](const SocketStats& st) { return st.send_errors; }));

    // The sender.
    r.counter_callback("streamgate_mssr_sender_adus_total", "ADUs (frames) submitted",
                       sender([](const Sender& s) { return s.stats().adus; }));
    r.counter_callback("streamgate_mssr_sender_fragments_total", "Fragments sent the first time",
                       sender([](const Sender& s) { return s.stats().fragments_sent; }));
    r.counter_callback("streamgate_mssr_sender_parity_fragments_total",
                       "Parity fragments sent (frames whose budget leaves no time for a repair)",
                       sender([](const Sender& s) { return s.stats().parity_fragments; }));
    r.counter_callback(
        "streamgate_mssr_sender_parity_declined_total",
        "Frames without time for a repair that the value rule found not worth a parity fragment",
        sender([](const Sender& s) { return s.stats().parity_declined; }));
    r.counter_callback(
        "streamgate_mssr_sender_paced_waits_total",
        "Times a datagram ready to go waited for the pacer (a window's worth spread over the RTT)",
        sender([](const Sender& s) { return s.stats().paced_waits; }));
    r.counter_callback("streamgate_mssr_sender_retransmissions_total",
                       "Fragments sent again (requested, timed out or tail probes)",
                       sender([](const Sender& s) { return s.stats().retransmissions; }));
    r.counter_callback(
        "streamgate_mssr_sender_dropped_total",
        "Fragments given up: expired before their first transmission (unsent), or lost and too "
        "late or not worth repairing (unrepaired)",
        sender([](const Sender& s) { return s.stats().dropped_unsent; }), {{"why", "unsent"}});
    r.counter_callback("streamgate_mssr_sender_dropped_total", "",
                       sender([](const Sender& s) { return s.stats().dropped_unrepaired; }),
                       {{"why", "unrepaired"}});
    r.counter_callback("streamgate_mssr_sender_loss_events_total", "Congestion events (window reductions)",
                       sender([](const Sender& s) { return s.congestion().loss_events(); }));
    r.gauge_callback("streamgate_mssr_sender_rtt_seconds", "Smoothed round-trip time",
                     sender([](const Sender& s) { return seconds(s.rtt().srtt()); }));
    r.gauge_callback("streamgate_mssr_sender_cwnd_bytes", "Congestion window",
                     sender([](const Sender& s) { return s.congestion().window(); }));
    r.gauge_callback("streamgate_mssr_sender_in_flight_bytes", "Sent and not yet acknowledged",
                     sender([](const Sender& s) { return s.in_flight(); }));

    // The receiver, per stream.
    for (std::size_t i = 0; i < stream_names.size(); ++i) {
        const auto n = static_cast<std::uint8_t>(i);
        const metrics::Labels stream{{"stream", stream_names[i]}};
        const auto with = [&stream](std::string name, std::string value) {
            metrics::Labels labels = stream;
            labels.push_back({std::move(name), std::move(value)});
            return labels;
        };
        r.counter_callback("streamgate_mssr_receiver_fragments_total", "Fragments received (no duplicates)",
                           receiver([n](const Reassembler& x) { return x.stream_stats(n).fragments; }),
                           stream);
        r.counter_callback("streamgate_mssr_receiver_adus_total",
                           "ADUs delivered complete, delivered partial at their deadline, or lost",
                           receiver([n](const Reassembler& x) { return x.stream_stats(n).adus_complete; }),
                           with("outcome", "complete"));
        r.counter_callback("streamgate_mssr_receiver_adus_total", "",
                           receiver([n](const Reassembler& x) { return x.stream_stats(n).adus_partial; }),
                           with("outcome", "partial"));
        r.counter_callback("streamgate_mssr_receiver_adus_total", "",
                           receiver([n](const Reassembler& x) { return x.stream_stats(n).adus_lost; }),
                           with("outcome", "lost"));
        r.counter_callback(
            "streamgate_mssr_receiver_key_adus_incomplete_total", "Key-frame ADUs delivered partial or lost",
            receiver([n](const Reassembler& x) { return x.stream_stats(n).key_adus_incomplete; }), stream);
        r.counter_callback("streamgate_mssr_receiver_late_fragments_total",
                           "Fragments that came after their ADU was delivered or given up",
                           receiver([n](const Reassembler& x) { return x.stream_stats(n).late_fragments; }),
                           stream);
        r.counter_callback("streamgate_mssr_receiver_duplicates_total", "Fragments that came twice",
                           receiver([n](const Reassembler& x) { return x.stream_stats(n).duplicates; }),
                           stream);
    }
    r.counter_callback("streamgate_mssr_receiver_requests_total", "Fragment retransmission requests sent",
                       receiver([](const Reassembler& x) { return x.stats().nacks; }));
    r.counter_callback("streamgate_mssr_receiver_reordered_total",
                       "First transmissions that came after a later-numbered fragment",
                       receiver([](const Reassembler& x) { return x.stats().reordered; }));
    r.counter_callback("streamgate_mssr_receiver_spurious_requests_total",
                       "Requested fragments whose first transmission came after all",
                       receiver([](const Reassembler& x) { return x.stats().spurious_requests; }));
    r.counter_callback("streamgate_mssr_receiver_parity_recovered_total",
                       "Lost fragments rebuilt from their frame's parity fragment, without a round trip",
                       receiver([](const Reassembler& x) { return x.stats().parity_recovered; }));
    r.gauge_callback("streamgate_mssr_receiver_reorder_window_seconds",
                     "How long a gap waits before it is requested (follows the path's reordering)",
                     receiver([](const Reassembler& x) { return seconds(x.reorder_window(Clock::now())); }));
    r.gauge_callback("streamgate_mssr_receiver_memory_bytes", "Reassembly buffers held",
                     receiver([](const Reassembler& x) { return x.memory_used(); }));
}

}  // namespace sg::mssr
