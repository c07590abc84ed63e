#include "websocket/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>

#include "common/text.hpp"
#include "http/http_response.hpp"

namespace sg::websocket {
namespace {

constexpr std::string_view k_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 section 1.3

// Whether the comma-separated list `value` holds `token` (case-insensitive), as Connection and Upgrade do.
bool lists_token(std::string_view value, std::string_view token) noexcept {
    while (!value.empty()) {
        const auto item = trim(pop_token(value, ','));
        // An Upgrade entry may carry a version ("websocket/13" is not what RFC 6455 sends, but tolerated).
        if (iequals(item.substr(0, item.find('/')), token)) return true;
    }
    return false;
}

bool is_base64_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Sec-WebSocket-Key: base64 of 16 bytes, which is 22 characters and "==".
bool is_valid_key(std::string_view key) noexcept {
    return key.size() == 24 && key.ends_with("==") && std::all_of(key.begin(), key.end() - 2, is_base64_char);
}

std::string base64(const unsigned char* data, std::size_t size) {
    std::string encoded(4 * ((size + 2) / 3) + 1, '\0');
    const int length =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), data, static_cast<int>(size));
    encoded.resize(static_cast<std::size_t>(length));
    return encoded;
}

// "*", "null" or "scheme://host[:port]" in printable ASCII without spaces or a path.
bool is_origin_entry(std::string_view entry) noexcept {
    if (entry == "*" || entry == "null") return true;
    const auto scheme_end = entry.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
    const auto host = entry.substr(scheme_end + 3);
    return !host.empty() && host.find('/') == std::string_view::npos &&
           std::all_of(entry.begin(), entry.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

}  // namespace

bool is_upgrade(const http::Request& request) noexcept {
    const auto* upgrade = request.header("Upgrade");
    return upgrade != nullptr && lists_token(*upgrade, "websocket");
}

ParsedUpgrade parse_upgrade(const http::Request& request) {
    ParsedUpgrade parsed;
    const auto refuse = [&](int status, std::string_view why) {
        parsed.status = ParseStatus::error;
        parsed.error = why;
        parsed.error_status = status;
        return parsed;
    };
    if (request.method != "GET") return refuse(405, "a WebSocket handshake must be a GET");
    if (request.version.major != 1 || request.version.minor < 1)
        return refuse(400, "a WebSocket handshake needs HTTP/1.1");
    const auto* connection = request.header("Connection");
    if (connection == nullptr || !lists_token(*connection, "upgrade"))
        return refuse(400, "Connection does not list upgrade");
    const auto* version = request.header("Sec-WebSocket-Version");
    if (version == nullptr || trim(*version) != "13") return refuse(426, "Sec-WebSocket-Version is not 13");
    const auto* key = request.header("Sec-WebSocket-Key");
    if (key == nullptr || !is_valid_key(trim(*key))) return refuse(400, "bad or missing Sec-WebSocket-Key");

    Upgrade upgrade;
    upgrade.path = std::string(http::target_path(request.target));
    upgrade.key = std::string(trim(*key));
    if (const auto* origin = request.header("Origin")) {
        upgrade.origin = std::string(trim(*origin));
        upgrade.has_origin = true;
    }
    // Every Sec-WebSocket-Protocol field counts: a client may split its list over several.
    bool offers_any = false;
    for (const auto& field : request.headers) {
        if (!iequals(field.name, "Sec-WebSocket-Protocol")) continue;
        std::string_view list = field.value;
        while (!list.empty()) {
            const auto item = trim(pop_token(list, ','));
            if (item.empty()) continue;
            offers_any = true;
            if (item == k_rtsp_subprotocol) upgrade.offers_rtsp = true;
        }
    }
    // A client that asks for some other subprotocol would fail the connection on our answer anyway.
    if (offers_any && !upgrade.offers_rtsp)
        return refuse(400, "the subprotocols offered do not include rtsp.onvif.org");
    parsed.status = ParseStatus::done;
    parsed.value = std::move(upgrade);
    return parsed;
}

std::string accept_value(std::string_view key) {
    std::string input(key);
    input += k_guid;
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
    return base64(digest.data(), digest.size());
}

std::string accept_reply(const Upgrade& upgrade) {
    std::string reply =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: ";
    reply += accept_value(upgrade.key);
    reply += "\r\n";
    if (upgrade.offers_rtsp) {
        reply += "Sec-WebSocket-Protocol: ";
        reply += k_rtsp_subprotocol;
        reply += "\r\n";
    }
    reply += "Server: streamgate\r\n\r\n";
    return reply;
}

std::string refusal_reply(int status) {
    if (status < 400 || status > 599) status = 400;
    if (status != 426) return http::response(status, "", "");
    const http::Header version{"Sec-WebSocket-Version", "13"};
    return http::response(status, "", "", std::span(&version, 1));
}

bool origin_allowed(const Upgrade& upgrade, std::span<const std::string> allowed) noexcept {
    if (!upgrade.has_origin) return true;
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& entry) {
        return entry == "*" || iequals(entry, upgrade.origin);
    });
}

Result<std::string> parse_origin_entry(std::string_view entry) {
    if (!is_origin_entry(entry)) return fail("want scheme://host[:port], null or *");
    return std::string(entry);
}

std::string make_key() {
    std::array<unsigned char, 16> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
        // OpenSSL's generator is seeded from the kernel at start; failing here means no entropy at all, and a
        // predictable key only weakens the handshake's check against confused caches, not the stream.
        for (std::size_t i = 0; i < nonce.size(); ++i)
            nonce[i] = static_cast<unsigned char>(i * 37 + 11);
    }
    return base64(nonce.data(), nonce.size());
}

std::string client_request(std::string_view path, std::string_view host, std::string_view key) {
    std::string request = "GET ";
    request += path.empty() ? "/" : path;
    request += " HTTP/1.1\r\nHost: ";
    request += host;
    request += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
    request += key;
    request += "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ";
    request += k_rtsp_subprotocol;
    request += "\r\nUser-Agent: streamgate\r\n\r\n";
    return request;
}

std::optional<std::string_view> check_reply(std::string_view head, std::string_view key) {
    const auto reply = http::parse_response(head);
    if (!reply) return "the answer is not HTTP";
    if (reply->status != 101) return "refused";
    const auto* upgrade = reply->header("Upgrade");
    const auto* connection = reply->header("Connection");
    if (upgrade == nullptr || !lists_token(*upgrade, "websocket") || connection == nullptr ||
        !lists_token(*connection, "upgrade"))
        return "the answer does not upgrade to websocket";
    const auto* accept = reply->header("Sec-WebSocket-Accept");
    if (accept == nullptr || trim(*accept) != accept_value(key)) return "wrong Sec-WebSocket-Accept";
    const auto* protocol = reply->header("Sec-WebSocket-Protocol");
    if (protocol != nullptr && trim(*protocol) != k_rtsp_subprotocol) return "another subprotocol chosen";
    return std::nullopt;
}

}  // namespace sg::websocket
