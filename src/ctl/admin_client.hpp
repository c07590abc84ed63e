#pragma once
// `streamgate ctl`'s side of the admin listener: one HTTP/1.1 request, the whole response read until the
// server closes (it always answers `Connection: close`), under one deadline. Synchronous for the caller (a
// CLI has nothing else to do meanwhile); inside, Asio coroutines on a private io_context, so the deadline
// covers the name lookup, the connect and every read.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_response.hpp"
#include "net/endpoint.hpp"

namespace sg::ctl {

struct AdminRequest {
    std::string method = "GET";
    std::string target;  // "/api/v1/status"
    std::string token;   // sent as a bearer token when not empty
};

// The response, or nullopt with `error` saying what an operator needs to know ("connection refused: is the
// admin listener at 127.0.0.1:9131 on?", "timed out after 5 s", "not an HTTP response").
std::optional<http::Response> call_admin(const net::HostPort& admin, const AdminRequest& request,
                                         std::chrono::milliseconds timeout, std::string& error);

// What to print for an API error status: the API's own {"error": ...} text with a hint for 401 and 403.
std::string describe_api_error(const http::Response& response);

}  // namespace sg::ctl
