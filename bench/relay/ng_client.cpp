#include "ng_client.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <unordered_map>

#include "common/text.hpp"

namespace sg::bench {
namespace {

using asio::ip::udp;
using Clock = std::chrono::steady_clock;
namespace bencode = relay::bencode;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);
constexpr auto k_retransmit_after = std::chrono::seconds(1);
constexpr int k_tries = 5;
constexpr auto k_setup_limit = std::chrono::seconds(60);
constexpr auto k_delete_limit = std::chrono::seconds(20);

std::string sdp_for(const udp::endpoint& media, std::size_t session) {
    const auto ip = media.address().to_string();
    const auto family = media.address().is_v6() ? "IP6" : "IP4";
    std::string sdp;
    sdp += "v=0\r\n";
    sdp += "o=- " + std::to_string(session + 1) + " 1 IN " + family + ' ' + ip + "\r\n";
    sdp += "s=relay_load\r\n";
    sdp += std::string("c=IN ") + family + ' ' + ip + "\r\n";
    sdp += "t=0 0\r\n";
    sdp += "m=audio " + std::to_string(media.port()) + " RTP/AVP 0\r\n";
    sdp += "a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n";
    return sdp;
}

std::string call_id(std::string_view prefix, std::size_t i) {
    return std::string(prefix) + '-' + std::to_string(i);
}

// The keys Kamailio's rtpengine_offer/answer send for a plain call on a public address.
bencode::Value request(std::string_view command, std::string_view prefix, std::size_t i) {
    auto dict = bencode::Value::make_dict();
    dict.add("command", bencode::Value::make_string(command));
    dict.add("call-id", bencode::Value::make_string(call_id(prefix, i)));
    dict.add("from-tag", bencode::Value::make_string("ft" + std::to_string(i)));
    return dict;
}

bencode::Value media_request(std::string_view command, std::string_view prefix, std::size_t i,
                             const udp::endpoint& media) {
    auto dict = request(command, prefix, i);
    if (command == "answer") dict.add("to-tag", bencode::Value::make_string("tt" + std::to_string(i)));
    dict.add("via-branch", bencode::Value::make_string("z9hG4bK" + std::to_string(i)));
    auto replace = bencode::Value::make_list();
    replace.push(bencode::Value::make_string("origin"));
    replace.push(bencode::Value::make_string("session-connection"));
    dict.add("replace", std::move(replace));
    dict.add("ICE", bencode::Value::make_string("remove"));
    dict.add("sdp", bencode::Value::make_string(sdp_for(media, i)));
    return dict;
}

// Why a reply is not a success, or empty when it is one.
std::string refusal(const std::optional<bencode::Value>& reply) {
    if (!reply) return "no reply";
    const auto* result = reply->find("result");
    if (result && result->is_string() && result->string == "ok") return {};
    const auto* reason = reply->find("error-reason");
    return "result " + (result && result->is_string() ? result->string : std::string("?")) +
           (reason && reason->is_string() ? ": " + reason->string : std::string());
}

std::optional<udp::endpoint> reply_endpoint(const std::optional<bencode::Value>& reply) {
    if (!reply) return std::nullopt;
    const auto* sdp = reply->find("sdp");
    if (!sdp || !sdp->is_string()) return std::nullopt;
    return audio_endpoint(sdp->string);
}

}  // namespace

NgClient::NgClient(asio::io_context& io, const udp::endpoint& server) : socket_(io), server_(server) {
    socket_.open(server.protocol());
    socket_.non_blocking(true);
}

asio::awaitable<std::optional<std::string>> NgClient::receive(std::chrono::milliseconds wait) {
    using namespace asio::experimental::awaitable_operators;
    std::string buffer(65536, '\0');
    for (;;) {
        asio::error_code ec;
        udp::endpoint from;
        const auto n = socket_.receive_from(asio::buffer(buffer), from, 0, ec);
        if (!ec) {
            buffer.resize(n);
            co_return buffer;
        }
        if (ec != asio::error::would_block) continue;  // an ICMP error queued by a send: try again
        asio::steady_timer timer(socket_.get_executor(), wait);
        const auto which =
            co_await (socket_.async_wait(udp::socket::wait_read, k_use) || timer.async_wait(k_use));
        if (which.index() == 1) co_return std::nullopt;
    }
}

asio::awaitable<std::vector<std::optional<bencode::Value>>> NgClient::transact(
    const std::vector<bencode::Value>& requests, std::chrono::seconds limit, std::size_t window) {
    struct Pending {
        std::string wire;
        Clock::time_point sent_at;
        int tries = 0;
        bool finished = false;
    };
    std::vector<std::optional<bencode::Value>> replies(requests.size());
    std::vector<Pending> pending(requests.size());
    std::unordered_map<std::string, std::size_t> by_cookie;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto cookie = std::to_string(next_cookie_++) + "_rl";
        by_cookie.emplace(cookie, i);
        pending[i].wire = cookie + ' ' + bencode::encode(requests[i]);
    }
    const auto send = [&](Pending& p) {
        asio::error_code ignored;  // a datagram the kernel refuses is retransmitted like a lost one
        socket_.send_to(asio::buffer(p.wire), server_, 0, ignored);
        p.sent_at = Clock::now();
        ++p.tries;
    };
    std::size_t next = 0;
    std::size_t in_flight = 0;
    std::size_t finished = 0;
    const auto give_up_at = Clock::now() + limit;
    while (finished < requests.size() && Clock::now() < give_up_at) {
        while (next < requests.size() && in_flight < window) {
            send(pending[next++]);
            ++in_flight;
        }
        if (const auto datagram = co_await receive(std::chrono::milliseconds(100))) {
            const auto space = datagram->find(' ');
            const auto it = by_cookie.find(datagram->substr(0, space));
            if (space != std::string::npos && it != by_cookie.end() && !pending[it->second].finished) {
                auto parsed = bencode::parse(std::string_view(*datagram).substr(space + 1));
                if (parsed) replies[it->second] = std::move(parsed->value);
                pending[it->second].finished = true;
                --in_flight;
                ++finished;
            }
        }
        const auto now = Clock::now();
        for (std::size_t i = 0; i < next; ++i) {
            auto& p = pending[i];
            if (p.finished || now - p.sent_at < k_retransmit_after) continue;
            if (p.tries >= k_tries) {
                p.finished = true;
                --in_flight;
                ++finished;
            } else {
                send(p);
            }
        }
    }
    co_return replies;
}

asio::awaitable<SetupResult> setup_calls(NgClient& client, std::size_t count, std::string_view prefix,
                                         const udp::endpoint& side_a, const udp::endpoint& side_b) {
    std::vector<bencode::Value> offers;
    std::vector<bencode::Value> answers;
    for (std::size_t i = 0; i < count; ++i) {
        offers.push_back(media_request("offer", prefix, i, side_a));
        answers.push_back(media_request("answer", prefix, i, side_b));
    }
    const auto offered = co_await client.transact(offers, k_setup_limit);
    const auto answered = co_await client.transact(answers, k_setup_limit);
    SetupResult result;
    for (std::size_t i = 0; i < count; ++i) {
        auto why = refusal(offered[i]);
        if (why.empty()) why = refusal(answered[i]);
        const auto b_facing = reply_endpoint(offered[i]);
        const auto a_facing = reply_endpoint(answered[i]);
        if (why.empty() && (!a_facing || !b_facing)) why = "no audio address in a reply's SDP";
        if (!why.empty()) {
            if (result.failed++ == 0) result.first_error = call_id(prefix, i) + ": " + why;
            continue;
        }
        result.calls.push_back({*a_facing, *b_facing});
    }
    co_return result;
}

asio::awaitable<std::size_t> delete_calls(NgClient& client, std::size_t count, std::string_view prefix) {
    std::vector<bencode::Value> deletes;
    for (std::size_t i = 0; i < count; ++i)
        deletes.push_back(request("delete", prefix, i));
    std::size_t confirmed = 0;
    for (const auto& reply : co_await client.transact(deletes, k_delete_limit))
        if (refusal(reply).empty()) ++confirmed;
    co_return confirmed;
}

std::optional<udp::endpoint> audio_endpoint(std::string_view sdp) {
    std::optional<asio::ip::address> address;
    std::optional<std::uint16_t> port;
    while (!sdp.empty()) {
        const auto end = sdp.find('\n');
        auto line = sdp.substr(0, end);
        sdp = end == std::string_view::npos ? std::string_view() : sdp.substr(end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.starts_with("m=")) {
            if (port) break;  // the next media section: the audio one is complete
            if (!line.starts_with("m=audio ")) continue;
            line.remove_prefix(8);
            port = parse_uint<std::uint16_t>(line.substr(0, line.find(' ')));
            if (!port) return std::nullopt;
        } else if (line.starts_with("c=IN IP4 ") || line.starts_with("c=IN IP6 ")) {
            line.remove_prefix(9);
            asio::error_code ec;
            const auto parsed = asio::ip::make_address(std::string(line.substr(0, line.find('/'))), ec);
            if (!ec) address = parsed;
        }
    }
    if (!address || !port) return std::nullopt;
    return udp::endpoint(*address, *port);
}

}  // namespace sg::bench
