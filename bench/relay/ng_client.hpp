#pragma once
// The control half of relay_load: sets calls up and tears them down through rtpengine's ng protocol
// (UDP datagrams "<cookie> <bencoded dictionary>"), with the keys Kamailio's rtpengine module sends, many
// requests in flight at once and lost ones retransmitted under the same cookie (a relay answers a repeated
// cookie from its reply cache, never acting twice).

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/bencode.hpp"

namespace sg::bench {

// One call through the relay: where each side of the load generator sends its media.
struct RelayedCall {
    asio::ip::udp::endpoint a_facing;  // the relay's port in the answer's SDP (the SDP that goes back to A)
    asio::ip::udp::endpoint b_facing;  // the relay's port in the offer's SDP (the SDP that goes on to B)
};

struct SetupResult {
    std::vector<RelayedCall> calls;  // the calls that were set up, in call-index order
    std::size_t failed = 0;
    std::string first_error;  // the first refusal or missing reply, to tell the operator why
};

class NgClient {
public:
    NgClient(asio::io_context& io, const asio::ip::udp::endpoint& server);

    // Sends every request (at most `window` without a reply), resends one unanswered for a second (5 tries)
    // and returns the replies in request order, nullopt where none came or it did not parse. Gives up on
    // whatever is unanswered after `limit`: an overloaded relay may stop answering for minutes.
    asio::awaitable<std::vector<std::optional<relay::bencode::Value>>> transact(
        const std::vector<relay::bencode::Value>& requests, std::chrono::seconds limit,
        std::size_t window = 64);

private:
    // One reply datagram, or nullopt after `wait` without one.
    asio::awaitable<std::optional<std::string>> receive(std::chrono::milliseconds wait);

    asio::ip::udp::socket socket_;
    asio::ip::udp::endpoint server_;
    std::uint64_t next_cookie_ = 1;
};

// Offers (SDP naming `side_a`) and answers (SDP naming `side_b`) calls "<prefix>-0" .. "<prefix>-<count-1>".
asio::awaitable<SetupResult> setup_calls(NgClient& client, std::size_t count, std::string_view prefix,
                                         const asio::ip::udp::endpoint& side_a,
                                         const asio::ip::udp::endpoint& side_b);

// Deletes those calls; returns how many the relay confirmed.
asio::awaitable<std::size_t> delete_calls(NgClient& client, std::size_t count, std::string_view prefix);

// The first audio stream's address in an SDP: the last c= line before or in its m= section, and its port.
std::optional<asio::ip::udp::endpoint> audio_endpoint(std::string_view sdp);

}  // namespace sg::bench
