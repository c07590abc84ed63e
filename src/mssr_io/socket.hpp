#pragma once
// mssr::Socket: one MSSR-RTP session over one UDP socket, the seed's SR_CREATE / SR_LISTEN / SR_CONNECT as a
// small coroutine API. Data and MSSR-RTCP share the port and are told apart as RFC 5761 does (RTCP packet
// types fall in RTP payload types 64-95), so a session needs one NAT binding and one firewall rule instead of
// the seed's two ports.
//
//   auto s = Socket::create(executor, local, options);   // SR_CREATE: bind
//   co_await s->listen();  or  co_await s->connect(peer); // SR_LISTEN / SR_CONNECT: HELLO, HELLO-ACK
//   co_await s->run();                                    // the session, until close() or silence
//
// A sender submit()s ADUs; a receiver gets every Delivery through on_delivery(). All protocol decisions are
// made by the pure Sender / Reassembler (src/mssr); this file only moves datagrams and reads the clock.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/result.hpp"
#include "mssr/feedback_pacer.hpp"
#include "mssr/handshake.hpp"
#include "mssr/reassembler.hpp"
#include "mssr/sender.hpp"

namespace sg::mssr {

struct SocketOptions {
    Role role = Role::sender;
    std::size_t mss = k_default_mss;                       // the sender's is the session's
    std::uint32_t ssrc = 0x4d535352;                       // the sender's streams use ssrc, ssrc + 1, ...
    std::vector<StreamPolicy> streams = {StreamPolicy{}};  // sender only: the receiver adopts these
    FeedbackPacerConfig feedback;  // receiver: when feedback goes out (feedback_pacer.hpp)
    // The sender's RTCP SR (RFC 3550 §6.4.1): statistics for standard tools, and the keepalive that keeps a
    // receiver's idle_timeout from firing while the source pauses.
    std::chrono::milliseconds report_interval{1000};
    std::chrono::milliseconds hello_interval{200};
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds idle_timeout{5000};  // run() ends after this long without a word from the peer
    std::chrono::milliseconds reorder_window{5};
    CongestionConfig congestion;
    std::uint32_t live_rate_kbps = 0;  // sender: SenderConfig::live_rate_kbps (the live mode; 0: off)
    // Sender: parity fragments where no repair can arrive in time, when the receiver announced that it
    // takes them (SenderConfig::parity_when_unrepairable); the first fragment's copy otherwise.
    bool parity = true;
    // Sender: with parity, a key ADU gets one parity fragment per this many data fragments
    // (SenderConfig::key_parity_group), announced in the hello, for a receiver that takes parity groups.
    // 0: one per ADU.
    std::uint8_t key_parity_group = 0;
    // Sender: those parity fragments in the Cauchy code (SenderConfig::cauchy_parity), announced in the
    // hello, for a receiver that takes it; XOR groups otherwise.
    bool cauchy_parity = true;
    // Sender: choose each protected ADU's parity count from the measured loss and send it in the data
    // header (SenderConfig::header_version), announced in the hello, for a receiver that reads it; the fixed
    // groups otherwise. By `parity_rule`: with ParityRule::value (the default) as many as are worth
    // `parity_frames_per_datagram` frames each, by the frames a broken ADU spoils (parity_plan.hpp); with
    // ParityRule::residual as leave a reference ADU broken with at most `parity_residual` probability at that
    // loss, a key ADU with a tenth of it, a disposable one with SenderConfig's 0.5.
    bool adaptive_parity = true;
    ParityRule parity_rule = ParityRule::value;
    double parity_frames_per_datagram = 0.15;
    double parity_residual = 0.02;
    // Sender: pace datagrams at a share of the window per SRTT (SenderConfig::pacing). `mssr send` leaves it
    // off in the live mode, where it costs delay at tight budgets (docs/mssr.md, "Pacing").
    bool pacing = true;
};

struct SocketStats {
    std::uint64_t datagrams_in = 0;
    std::uint64_t datagrams_out = 0;
    std::uint64_t foreign = 0;   // from another address than the peer's
    std::uint64_t unusable = 0;  // control datagrams that are neither feedback nor hello
    std::uint64_t send_errors = 0;
    // connect(): the HELLO / HELLO-ACK round trip, when exactly one HELLO went out (Karn); a sender's first
    // RTT sample. A listening sender: its HELLO-ACK / HELLO-CONFIRM round trip, when exactly one HELLO-ACK
    // went out and the connecting receiver confirms (one built before HELLO-CONFIRM does not; docs/mssr.md).
    std::optional<std::chrono::microseconds> handshake_rtt;
};

// How a session's two ends meet, chosen per end as SRT's caller and listener modes are: one waits at
// `address` (SR_LISTEN) and the other calls it there (SR_CONNECT). Either role may wait: by default the
// receiver does (`mssr recv --listen`, `mssr send --to`), and a sender that waits (`mssr send --listen`) is
// called by its receiver (`mssr recv --from`).
struct Rendezvous {
    asio::ip::udp::endpoint address;
    bool listen = false;  // this end waits at `address`; otherwise it calls it
    // Where this end's socket binds: `address` when it waits, any port of the family when it calls.
    asio::ip::udp::endpoint bind_address() const;
};

class Socket {
public:
    using Endpoint = asio::ip::udp::endpoint;

    // SR_CREATE: opens and binds a UDP socket (port 0: any).
    static Result<std::unique_ptr<Socket>> create(const asio::any_io_executor& executor,
                                                  const Endpoint& local, SocketOptions options);

    Endpoint local_endpoint() const;
    // SR_LISTEN: waits for a HELLO from a peer of the other role, answers HELLO-ACK and locks onto its
    // address. Returns an error only when the socket is closed.
    asio::awaitable<asio::error_code> listen();
    // SR_CONNECT: sends HELLO every hello_interval until the peer's HELLO-ACK (timed_out after
    // connect_timeout; connection_refused when the peer has the same role).
    asio::awaitable<asio::error_code> connect(Endpoint peer);
    // listen() or connect(), as `rendezvous` says.
    asio::awaitable<asio::error_code> meet(const Rendezvous& rendezvous);
    // The session: sends, receives, feedback, timers. Returns when close() is called (operation_aborted)
    // or the peer fell silent for idle_timeout (timed_out).
    asio::awaitable<asio::error_code> run();
    void close();

    // Sender: queues an ADU (see Sender::submit) and wakes run().
    Result<std::uint16_t> submit(Adu adu);
    // Receiver: called from run() for every ADU delivered, lost or partial.
    void on_delivery(std::function<void(Delivery)> handler) { on_delivery_ = std::move(handler); }

    bool connected() const noexcept { return peer_.has_value(); }
    const Sender* sender() const noexcept { return sender_.get(); }
    const Reassembler* receiver() const noexcept { return receiver_.get(); }
    const SocketStats& stats() const noexcept { return stats_; }

private:
    Socket(asio::ip::udp::socket socket, SocketOptions options);
    void start_session(const Hello& peer_hello);
    Hello our_hello(HelloKind kind) const;
    // A listening sender: the connecting receiver's HELLO-CONFIRM arrived, which times our HELLO-ACK.
    void on_confirm(TimePoint now);
    // The handshake's answer arrived at `now`: its round trip (exact, or its floor after a repeat) in the
    // statistics and as a sender's first RTT sample.
    void take_handshake_sample(const HandshakeTimer& timer, TimePoint now);
    asio::awaitable<void> send(const std::vector<std::uint8_t>& datagram, const Endpoint& to);
    asio::awaitable<void> pump(TimePoint now);
    void handle(TimePoint now, Bytes datagram);

    asio::ip::udp::socket socket_;
    asio::steady_timer wake_;
    SocketOptions options_;
    std::optional<Endpoint> peer_;
    std::unique_ptr<Sender> sender_;
    std::unique_ptr<Reassembler> receiver_;
    std::function<void(Delivery)> on_delivery_;
    std::vector<std::uint8_t> in_;
    std::vector<std::uint8_t> out_;
    FeedbackPacer pacer_;
    TimePoint next_report_{};
    std::uint64_t octets_sent_ = 0;
    TimePoint last_heard_{};
    bool hello_ack_due_ = false;
    HandshakeTimer ack_timer_;  // listening: our HELLO-ACKs, until the HELLO-CONFIRM
    bool confirmed_ = false;
    bool closed_ = false;
    SocketStats stats_;
};

}  // namespace sg::mssr
