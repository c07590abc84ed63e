#pragma once
// A blocking RTSP client for the proxy's loopback tests: requests written as text, responses read back with
// their body, interleaved frames read and written. The tests drive the proxy's event loop on another thread.
// A read that gets nothing for 10 s fails (the test fails instead of hanging).
#include <poll.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sg::proxy::testing {

class RawRtspClient {
public:
    RawRtspClient(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint) : socket_(io) {
        socket_.connect(endpoint);
    }

    // Sends a request and returns the response head and body ("" when the connection closed first).
    std::string request(const std::string& line, int cseq, const std::string& headers = "",
                        const std::string& body = "") {
        std::string text = line + " RTSP/1.0\r\nCSeq: " + std::to_string(cseq) + "\r\n" + headers;
        if (!body.empty()) text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        text += "\r\n" + body;
        std::error_code ec;
        asio::write(socket_, asio::buffer(text), ec);
        std::size_t head_end = 0;
        while ((head_end = in_.find("\r\n\r\n")) == std::string::npos)
            if (!fill(in_.size() + 1)) return "";
        head_end += 4;
        std::string head = in_.substr(0, head_end);
        in_.erase(0, head_end);
        const auto at = head.find("Content-Length: ");
        if (at != std::string::npos) {
            const auto length = std::stoul(head.substr(at + 16));
            if (!fill(length)) return "";
            head += in_.substr(0, length);
            in_.erase(0, length);
        }
        return head;
    }

    // The value of `name` in a response head ("" when absent), without parameters after ';'.
    static std::string header(const std::string& response, const std::string& name) {
        const auto at = response.find("\r\n" + name + ": ");
        if (at == std::string::npos) return "";
        const auto start = at + name.size() + 4;
        return response.substr(start, response.find_first_of(";\r", start) - start);
    }

    // The next interleaved frame (channel, payload); nothing when the connection closed.
    std::optional<std::pair<std::uint8_t, std::string>> read_frame() {
        if (!fill(4)) return std::nullopt;
        if (in_[0] != '$') return std::nullopt;
        const auto channel = static_cast<std::uint8_t>(in_[1]);
        const std::size_t length =
            (std::size_t{static_cast<std::uint8_t>(in_[2])} << 8) | static_cast<std::uint8_t>(in_[3]);
        if (!fill(4 + length)) return std::nullopt;
        std::string payload = in_.substr(4, length);
        in_.erase(0, 4 + length);
        return std::pair{channel, std::move(payload)};
    }

    // The next frame on `channel`, skipping others (RTCP reports); nothing when the connection closed.
    std::optional<std::string> read_frame_on(std::uint8_t channel) {
        while (auto frame = read_frame())
            if (frame->first == channel) return std::move(frame->second);
        return std::nullopt;
    }

    void write_frame(std::uint8_t channel, const std::vector<std::uint8_t>& payload) {
        write_frames(channel, {payload});
    }
    // The frames in one write (so that the server most likely reads them at once); false when the
    // connection failed.
    bool write_frames(std::uint8_t channel, const std::vector<std::vector<std::uint8_t>>& payloads) {
        std::string frames;
        for (const auto& payload : payloads) {
            frames += {'$', static_cast<char>(channel), static_cast<char>(payload.size() >> 8),
                       static_cast<char>(payload.size() & 0xff)};
            frames.append(payload.begin(), payload.end());
        }
        std::error_code ec;
        asio::write(socket_, asio::buffer(frames), ec);
        return !ec;
    }

    // True once the proxy closed the connection (what is still buffered is discarded).
    bool closed_by_peer() {
        char more[4096];
        std::error_code ec;
        while (!ec) {
            pollfd readable{socket_.native_handle(), POLLIN, 0};
            if (poll(&readable, 1, 10000) != 1) return false;
            socket_.read_some(asio::buffer(more), ec);
        }
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }

    asio::ip::tcp::socket& socket() { return socket_; }

private:
    bool fill(std::size_t size) {
        while (in_.size() < size) {
            pollfd readable{socket_.native_handle(), POLLIN, 0};
            if (poll(&readable, 1, 10000) != 1) return false;
            char more[4096];
            std::error_code ec;
            const auto n = socket_.read_some(asio::buffer(more), ec);
            if (ec) return false;
            in_.append(more, n);
        }
        return true;
    }

    asio::ip::tcp::socket socket_;
    std::string in_;
};

}  // namespace sg::proxy::testing
