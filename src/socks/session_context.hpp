#pragma once
// What a SOCKS command handler works with once the handshake is done: the client connection, bytes already
// read past the request, the server's shared state and the record the session-end log line is made from.

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "socks/rules.hpp"
#include "socks/session.hpp"
#include "socks5/socks5.hpp"

namespace sg::socks {

// Everything the session-end log line reports.
struct SessionRecord {
    std::string client;
    std::string user = "-";
    std::string_view command = "-";
    std::string target = "-";
    std::string resolved = "-";
    Reply reply = Reply::general_failure;
    bool replied = false;
    std::uint64_t up = 0;    // client -> target
    std::uint64_t down = 0;  // target -> client
    std::string end = "-";
    bool greeted = false;  // a valid greeting arrived: a SOCKS client, not a scanner or garbage
};

struct SessionContext {
    asio::ip::tcp::socket& client;
    std::vector<std::uint8_t>& pending;  // bytes the client pipelined behind its request
    Server::Shared& shared;
    SessionRecord& record;
    LiveSession& live;
    const SessionPolicy& policy;  // the rules again, for resolved addresses and UDP datagrams
};

// A request that passed the allow-list and the rules, with the rules it must keep passing.
struct Admitted {
    Request request;
    SessionPolicy policy;
};

}  // namespace sg::socks
