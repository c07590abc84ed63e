#include "mssr_io/socket.hpp"

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>

#include "mssr/fragmenter.hpp"
#include "net/use_tuple.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::mssr {
namespace {

constexpr std::size_t k_max_datagram = 65536;

bool complementary(Role a, Role b) {
    return a != b;
}

}  // namespace

Result<std::unique_ptr<Socket>> Socket::create(const asio::any_io_executor& executor, const Endpoint& local,
                                               SocketOptions options) {
    if (options.role == Role::sender &&
        (options.streams.empty() || options.streams.size() > k_max_session_streams))
        return fail("an MSSR sender needs 1 to 16 streams");
    if (options.mss < k_min_mss || options.mss > 0xffff) return fail("MSS out of range");
    asio::ip::udp::socket socket(executor);
    asio::error_code ec;
    socket.open(local.protocol(), ec);
    if (!ec) socket.bind(local, ec);
    if (ec) return fail("cannot bind the MSSR socket");
    return std::unique_ptr<Socket>(new Socket(std::move(socket), std::move(options)));
}

Socket::Socket(asio::ip::udp::socket socket, SocketOptions options)
    : socket_(std::move(socket)),
      wake_(socket_.get_executor()),
      options_(std::move(options)),
      in_(k_max_datagram) {}

Socket::Endpoint Socket::local_endpoint() const {
    asio::error_code ec;
    return socket_.local_endpoint(ec);
}

void Socket::close() {
    closed_ = true;
    asio::error_code ec;
    socket_.close(ec);
    wake_.cancel();
}

Hello Socket::our_hello(HelloKind kind) const {
    Hello h;
    h.kind = kind;
    h.ssrc = options_.ssrc;
    h.role = options_.role;
    h.mss = static_cast<std::uint16_t>(options_.mss);
    if (options_.role == Role::sender) {
        h.streams = options_.streams;
        h.key_parity_group = options_.key_parity_group;
        // What this sender will use.
        if (options_.cauchy_parity) h.features |= k_feature_cauchy_parity;
        if (options_.adaptive_parity) h.features |= k_feature_parity_count;
    }
    if (options_.role == Role::receiver) {  // what a receiver of this build takes
        h.features =
            k_feature_parity | k_feature_parity_groups | k_feature_cauchy_parity | k_feature_parity_count;
    }
    return h;
}

void Socket::start_session(const Hello& peer_hello) {
    if (options_.role == Role::sender) {
        SenderConfig config;
        config.mss = options_.mss;
        config.congestion = options_.congestion;
        config.live_rate_kbps = options_.live_rate_kbps;
        config.parity_when_unrepairable = options_.parity && (peer_hello.features & k_feature_parity) != 0;
        // Our hello announced the group; a receiver that did not say it takes groups gets one parity per ADU.
        if ((peer_hello.features & k_feature_parity_groups) != 0)
            config.key_parity_group = options_.key_parity_group;
        config.cauchy_parity = options_.cauchy_parity && (peer_hello.features & k_feature_cauchy_parity) != 0;
        if (options_.adaptive_parity && (peer_hello.features & k_feature_parity_count) != 0)
            config.header_version = k_version_parity_count;
        config.parity_rule = options_.parity_rule;
        config.parity_frames_per_datagram = options_.parity_frames_per_datagram;
        config.parity_residual = options_.parity_residual;
        config.parity_residual_key = options_.parity_residual / 10;
        config.pacing = options_.pacing;
        config.protect_before_rtt = true;  // a listening sender's first key frame, before HELLO-CONFIRM
        for (std::size_t i = 0; i < options_.streams.size(); ++i) {
            config.streams.push_back(
                SenderStreamConfig{options_.ssrc + static_cast<std::uint32_t>(i), options_.streams[i]});
        }
        sender_ = std::make_unique<Sender>(std::move(config));
    } else {
        ReassemblerConfig config;
        config.mss = peer_hello.mss;  // the sender's geometry
        config.ssrc = options_.ssrc;
        config.streams = peer_hello.streams;
        config.max_streams = std::max<std::size_t>(1, peer_hello.streams.size());
        config.reorder_window = options_.reorder_window;
        config.key_parity_group = peer_hello.key_parity_group;  // 0 from a sender built before groups
        // Our hello announced it; a sender built before, or told not to, keeps XOR groups.
        config.cauchy_parity = (peer_hello.features & k_feature_cauchy_parity) != 0;
        if ((peer_hello.features & k_feature_parity_count) != 0)
            config.header_version = k_version_parity_count;
        receiver_ = std::make_unique<Reassembler>(std::move(config));
        pacer_ = FeedbackPacer(options_.feedback);
        // The handshake counts as the first report: from here on the idle keepalive runs, so a sender whose
        // source is slow to start still hears from us.
        pacer_.on_sent(Clock::now(), false);
    }
}

asio::awaitable<void> Socket::send(const std::vector<std::uint8_t>& datagram, const Endpoint& to) {
    auto [ec, n] = co_await socket_.async_send_to(asio::buffer(datagram), to, net::k_use_tuple);
    (void)n;
    if (ec) {
        ++stats_.send_errors;  // UDP: a refused datagram is a lost one; the protocol repairs or drops it
    } else {
        ++stats_.datagrams_out;
    }
}

asio::awaitable<asio::error_code> Socket::listen() {
    while (!closed_) {
        Endpoint from;
        auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(in_), from, net::k_use_tuple);
        if (ec) {
            if (closed_ || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                co_return ec;
            continue;  // e.g. an ICMP error queued on the socket
        }
        ++stats_.datagrams_in;
        const auto hello = parse_hello_datagram(Bytes(in_.data(), n));
        if (!hello || hello->kind != HelloKind::hello || !complementary(hello->role, options_.role)) {
            ++stats_.unusable;
            continue;
        }
        if (options_.role == Role::receiver && hello->streams.empty()) {
            ++stats_.unusable;
            continue;
        }
        peer_ = from;
        start_session(*hello);
        out_.clear();
        if (append_hello(out_, our_hello(HelloKind::ack))) {
            ack_timer_.on_hello_sent(Clock::now());
            co_await send(out_, from);
        }
        last_heard_ = Clock::now();
        co_return asio::error_code{};
    }
    co_return asio::error::operation_aborted;
}

Socket::Endpoint Rendezvous::bind_address() const {
    if (listen) return address;
    return address.address().is_v6() ? Socket::Endpoint(asio::ip::udp::v6(), 0)
                                     : Socket::Endpoint(asio::ip::udp::v4(), 0);
}

asio::awaitable<asio::error_code> Socket::meet(const Rendezvous& rendezvous) {
    if (rendezvous.listen) co_return co_await listen();
    co_return co_await connect(rendezvous.address);
}

asio::awaitable<asio::error_code> Socket::connect(Endpoint peer) {
    using namespace asio::experimental::awaitable_operators;
    const TimePoint give_up = Clock::now() + options_.connect_timeout;
    std::vector<std::uint8_t> hello;
    if (!append_hello(hello, our_hello(HelloKind::hello))) co_return asio::error::invalid_argument;
    HandshakeTimer timer;
    while (!closed_ && Clock::now() < give_up) {
        timer.on_hello_sent(Clock::now());
        co_await send(hello, peer);
        const TimePoint resend = std::min(give_up, Clock::now() + options_.hello_interval);
        while (!closed_ && Clock::now() < resend) {
            wake_.expires_at(resend);
            Endpoint from;
            auto result = co_await (socket_.async_receive_from(asio::buffer(in_), from, net::k_use_tuple) ||
                                    wake_.async_wait(net::k_use_tuple));
            if (result.index() == 1) continue;
            const auto [ec, n] = std::get<0>(result);
            if (ec) {
                if (closed_ || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                    co_return asio::error::operation_aborted;
                continue;  // ICMP port unreachable while the listener starts: keep trying
            }
            ++stats_.datagrams_in;
            if (from != peer) {
                ++stats_.foreign;
                continue;
            }
            const auto answer = parse_hello_datagram(Bytes(in_.data(), n));
            if (!answer || answer->kind != HelloKind::ack) {
                ++stats_.unusable;
                continue;
            }
            if (!complementary(answer->role, options_.role)) co_return asio::error::connection_refused;
            const TimePoint now = Clock::now();
            peer_ = peer;
            start_session(*answer);
            // The exchange's round trip seeds the sender's RTT: its first key frame is then sent as the rest
            // of the stream is (RTO, first-fragment copy).
            take_handshake_sample(timer, now);
            last_heard_ = now;
            // A listening sender has no round trip to time but this one: its HELLO-ACK to our answer. Without
            // it, its first ADUs went out judged by no RTT at all until the first ack.
            if (receiver_) {
                out_.clear();
                if (append_hello(out_, our_hello(HelloKind::confirm))) co_await send(out_, peer);
            }
            co_return asio::error_code{};
        }
    }
    co_return closed_ ? asio::error::operation_aborted : asio::error::timed_out;
}

void Socket::take_handshake_sample(const HandshakeTimer& timer, TimePoint now) {
    // Karn: an exact sample only when one message was sent. After a repeat there is none, and the stream's
    // first key frame went out unprotected at a budget below the RTT (4 of 5 key frames in such a bench
    // run); the time since the last one is no more than the round trip, so judged by it an ADU is never
    // found unrepairable when it is not, and the RTO keeps its floor. An ack's sample, if one came first,
    // stands (Sender::seed_rtt).
    stats_.handshake_rtt = timer.on_ack(now);
    const auto seed = stats_.handshake_rtt ? stats_.handshake_rtt : timer.round_trip_floor(now);
    if (sender_ && seed) sender_->seed_rtt(*seed);
}

void Socket::on_confirm(TimePoint now) {
    if (!sender_ || confirmed_ || ack_timer_.hellos_sent() == 0) return;
    confirmed_ = true;
    take_handshake_sample(ack_timer_, now);  // as a connecting sender times its HELLO
}

Result<std::uint16_t> Socket::submit(Adu adu) {
    if (!sender_) return fail("not a connected MSSR sender");
    auto result = sender_->submit(Clock::now(), std::move(adu));
    wake_.cancel();
    return result;
}

void Socket::handle(TimePoint now, Bytes datagram) {
    if (rtp::looks_like_rtcp(datagram)) {
        if (sender_) {
            if (const auto feedback = parse_feedback_datagram(datagram)) {
                sender_->on_feedback(now, *feedback);
                return;
            }
        }
        if (const auto hello = parse_hello_datagram(datagram); hello && hello->kind != HelloKind::ack) {
            if (hello->kind == HelloKind::confirm) {
                on_confirm(now);
            } else {
                hello_ack_due_ = true;  // our HELLO-ACK was lost: the connecting side asks again
            }
            return;
        }
        if (const auto compound = rtp::parse_compound(datagram);
            receiver_ && compound && (*compound)[0].type == rtp::RtcpType::sr) {
            return;  // the sender's report: it is alive (last_heard_), nothing else to do
        }
        ++stats_.unusable;
        return;
    }
    if (receiver_) {
        receiver_->on_packet(now, datagram);
        pacer_.on_data(now, receiver_->last_wants_feedback());
        if (on_delivery_) {
            for (Delivery& d : receiver_->take_deliveries())
                on_delivery_(std::move(d));
        }
    } else {
        ++stats_.unusable;
    }
}

asio::awaitable<void> Socket::pump(TimePoint now) {
    if (hello_ack_due_) {
        hello_ack_due_ = false;
        out_.clear();
        if (append_hello(out_, our_hello(HelloKind::ack))) {
            ack_timer_.on_hello_sent(now);
            co_await send(out_, *peer_);
        }
    }
    if (sender_) {
        out_.clear();
        while (!closed_ && sender_->next_packet(now, out_)) {
            octets_sent_ += out_.size();
            co_await send(out_, *peer_);
            out_.clear();
        }
        if (now >= next_report_) {
            const SenderStats& st = sender_->stats();
            rtp::SenderInfo info;
            info.ntp_timestamp = rtp::to_ntp(std::chrono::system_clock::now());
            info.packet_count = static_cast<std::uint32_t>(st.fragments_sent + st.retransmissions);
            info.octet_count = static_cast<std::uint32_t>(octets_sent_);
            out_.clear();
            if (rtp::append_sender_report(out_, options_.ssrc, info)) co_await send(out_, *peer_);
            next_report_ = now + options_.report_interval;
        }
    }
    if (receiver_) {
        receiver_->poll(now);
        if (on_delivery_) {
            for (Delivery& d : receiver_->take_deliveries())
                on_delivery_(std::move(d));
        }
        if (pacer_.due(now, receiver_->request_due())) {
            const Feedback feedback = receiver_->make_feedback(now);
            pacer_.on_sent(now, !feedback.nacks.empty(), receiver_->repair_round_trip());
            out_.clear();
            if (append_feedback_datagram(out_, feedback)) co_await send(out_, *peer_);
        }
    }
}

asio::awaitable<asio::error_code> Socket::run() {
    using namespace asio::experimental::awaitable_operators;
    if (!peer_) co_return asio::error::not_connected;
    while (!closed_) {
        TimePoint now = Clock::now();
        if (now - last_heard_ > options_.idle_timeout) co_return asio::error::timed_out;
        co_await pump(now);
        if (closed_) break;

        // At least every 10 ms (the sender's pace without other events, as before the receiver's feedback
        // was paced); the receiver wakes for its own timers below.
        TimePoint wake = now + std::chrono::milliseconds(10);
        if (receiver_) {
            if (const auto due = pacer_.next_due()) wake = std::min(wake, *due);
            if (const auto due = receiver_->request_due()) wake = std::min(wake, *due);
            if (const auto deadline = receiver_->next_deadline()) wake = std::min(wake, *deadline);
        }
        if (sender_) {
            wake = std::min(wake, next_report_);
            if (const auto t = sender_->next_wakeup()) wake = std::min(wake, *t);
        }
        wake_.expires_at(std::max(wake, now));
        Endpoint from;
        auto result = co_await (socket_.async_receive_from(asio::buffer(in_), from, net::k_use_tuple) ||
                                wake_.async_wait(net::k_use_tuple));
        if (result.index() == 1) continue;  // a timer or submit(): pump again
        const auto [ec, n] = std::get<0>(result);
        if (ec) {
            if (closed_ || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
            continue;
        }
        ++stats_.datagrams_in;
        if (from != *peer_) {
            ++stats_.foreign;
            continue;
        }
        now = Clock::now();
        last_heard_ = now;
        handle(now, Bytes(in_.data(), n));
    }
    co_return asio::error::operation_aborted;
}

}  // namespace sg::mssr
