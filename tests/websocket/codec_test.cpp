#include "websocket/codec.hpp"

#include <gtest/gtest.h>
#include <wslay/wslay.h>

#include <cstring>
#include <string>
#include <vector>

namespace sg::websocket {
namespace {

using Buffer = std::vector<std::uint8_t>;

Buffer bytes(std::string_view text) {
    return Buffer(text.begin(), text.end());
}

std::string text(const Buffer& buffer) {
    return std::string(buffer.begin(), buffer.end());
}

// The client end, coded by wslay's client context (masked frames, as browsers send): what it is asked to
// send, and what it received from the server.
class ClientPeer {
public:
    ClientPeer() {
        wslay_event_callbacks callbacks{};
        callbacks.recv_callback = [](wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                                     void* self) -> ssize_t {
            auto& peer = *static_cast<ClientPeer*>(self);
            if (peer.in_.empty()) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
            }
            const auto n = std::min(len, peer.in_.size());
            std::memcpy(buf, peer.in_.data(), n);
            peer.in_.erase(peer.in_.begin(), peer.in_.begin() + static_cast<std::ptrdiff_t>(n));
            return static_cast<ssize_t>(n);
        };
        callbacks.send_callback = [](wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int,
                                     void* self) -> ssize_t {
            auto& peer = *static_cast<ClientPeer*>(self);
            peer.out_.insert(peer.out_.end(), data, data + len);
            return static_cast<ssize_t>(len);
        };
        callbacks.genmask_callback = [](wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void*) {
            for (std::size_t i = 0; i < len; ++i)
                buf[i] = static_cast<std::uint8_t>(0xa5 ^ i);
            return 0;
        };
        callbacks.on_msg_recv_callback = [](wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                                            void* self) {
            auto& peer = *static_cast<ClientPeer*>(self);
            peer.received.push_back(
                {arg->opcode, Buffer(arg->msg, arg->msg + arg->msg_length), arg->status_code});
        };
        EXPECT_EQ(wslay_event_context_client_init(&ctx_, &callbacks, this), 0);
    }
    ~ClientPeer() { wslay_event_context_free(ctx_); }

    Buffer send(std::uint8_t opcode, std::string_view payload) {
        const wslay_event_msg message{opcode, reinterpret_cast<const std::uint8_t*>(payload.data()),
                                      payload.size()};
        EXPECT_EQ(wslay_event_queue_msg(ctx_, &message), 0);
        return take();
    }
    Buffer close(std::uint16_t code) {
        EXPECT_EQ(wslay_event_queue_close(ctx_, code, nullptr, 0), 0);
        return take();
    }
    void receive(const Buffer& frames) {
        in_.insert(in_.end(), frames.begin(), frames.end());
        EXPECT_EQ(wslay_event_recv(ctx_), 0);
    }

    struct Message {
        std::uint8_t opcode;
        Buffer payload;
        std::uint16_t status;
    };
    std::vector<Message> received;

private:
    Buffer take() {
        EXPECT_EQ(wslay_event_send(ctx_), 0);
        return std::exchange(out_, {});
    }

    wslay_event_context_ptr ctx_ = nullptr;
    Buffer in_;
    Buffer out_;
};

TEST(WebSocketCodec, DecodesTheRfcMaskedHello) {
    // RFC 6455 section 5.7: a single-frame masked text message "Hello".
    const Buffer frame{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    Codec codec(Role::server);
    Buffer data;
    Buffer control;
    EXPECT_EQ(codec.feed(frame, data, control), Codec::State::open);
    EXPECT_EQ(text(data), "Hello");
    EXPECT_TRUE(control.empty());
}

TEST(WebSocketCodec, FramesBinaryUnmaskedAsTheRfcShows) {
    Codec codec(Role::server);
    Buffer out;
    codec.frame_binary(bytes("Hello"), out);
    EXPECT_EQ(out, (Buffer{0x82, 0x05, 'H', 'e', 'l', 'l', 'o'}));
    // 256 bytes take the 16-bit length (section 5.7), 65,536 the 64-bit one.
    out.clear();
    codec.frame_binary(Buffer(256, 7), out);
    ASSERT_EQ(out.size(), 4u + 256u);
    EXPECT_EQ(out[1], 126);
    EXPECT_EQ(out[2], 0x01);
    EXPECT_EQ(out[3], 0x00);
    out.clear();
    codec.frame_binary(Buffer(65536, 7), out);
    ASSERT_EQ(out.size(), 10u + 65536u);
    EXPECT_EQ(out[1], 127);
    EXPECT_EQ(out[7], 0x01);
}

TEST(WebSocketCodec, AStreamSplitAnywhereGivesTheSameBytes) {
    ClientPeer client;
    Buffer frames;
    for (const auto* part : {"OPTIONS rtsp://h/a RTSP/1.0\r\n", "CSeq: 1\r\n\r\n",
                             "DESCRIBE rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\n\r\n"}) {
        const auto frame = client.send(WSLAY_BINARY_FRAME, part);
        frames.insert(frames.end(), frame.begin(), frame.end());
    }
    const auto expected =
        "OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 1\r\n\r\nDESCRIBE rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\n\r\n";
    for (std::size_t step = 1; step <= frames.size(); ++step) {
        Codec codec(Role::server);
        Buffer data;
        Buffer control;
        for (std::size_t at = 0; at < frames.size(); at += step) {
            const auto n = std::min(step, frames.size() - at);
            ASSERT_EQ(codec.feed(Bytes(frames).subspan(at, n), data, control), Codec::State::open);
        }
        EXPECT_EQ(text(data), expected) << "step " << step;
        EXPECT_TRUE(control.empty());
    }
}

TEST(WebSocketCodec, AnswersPingWithPong) {
    ClientPeer client;
    Codec codec(Role::server);
    Buffer data;
    Buffer control;
    EXPECT_EQ(codec.feed(client.send(WSLAY_PING, "tick"), data, control), Codec::State::open);
    EXPECT_TRUE(data.empty());
    client.receive(control);
    ASSERT_EQ(client.received.size(), 1u);
    EXPECT_EQ(client.received[0].opcode, WSLAY_PONG);
    EXPECT_EQ(text(client.received[0].payload), "tick");
}

TEST(WebSocketCodec, ClientCloseIsAnsweredAndEndsReading) {
    ClientPeer client;
    Codec codec(Role::server);
    Buffer data;
    Buffer control;
    EXPECT_EQ(codec.feed(client.close(1000), data, control), Codec::State::closing);
    EXPECT_TRUE(codec.close_received());
    EXPECT_EQ(codec.close_code_received(), 1000);
    client.receive(control);
    ASSERT_EQ(client.received.size(), 1u);
    EXPECT_EQ(client.received[0].opcode, WSLAY_CONNECTION_CLOSE);
    EXPECT_EQ(client.received[0].status, 1000);
    // Nothing is framed or read after the close handshake.
    Buffer out;
    codec.frame_binary(bytes("late"), out);
    codec.frame_close(1000, out);
    EXPECT_TRUE(out.empty());
    ClientPeer another;
    EXPECT_EQ(codec.feed(another.send(WSLAY_BINARY_FRAME, "x"), data, control), Codec::State::closing);
    EXPECT_TRUE(data.empty());
}

TEST(WebSocketCodec, UnmaskedClientFrameIsAProtocolError) {
    Codec codec(Role::server);
    Buffer data;
    Buffer control;
    const Buffer unmasked{0x82, 0x05, 'H', 'e', 'l', 'l', 'o'};
    EXPECT_EQ(codec.feed(unmasked, data, control), Codec::State::closing);
    EXPECT_TRUE(data.empty());
    ClientPeer client;
    client.receive(control);
    ASSERT_EQ(client.received.size(), 1u);
    EXPECT_EQ(client.received[0].status, 1002);
}

TEST(WebSocketCodec, ReservedBitsCloseTheConnectionWithACloseFrame) {
    // A fragmented pong with RSV1-3 set: wslay reports an error, and its close frame still goes out.
    const Buffer frame{0x7a, 0x80, 0, 0, 0, 0};
    Codec codec(Role::server);
    Buffer data;
    Buffer control;
    EXPECT_EQ(codec.feed(frame, data, control), Codec::State::closing);
    ASSERT_GE(control.size(), 2u);
    EXPECT_EQ(control[0], 0x88);  // FIN + close
    EXPECT_TRUE(data.empty());
}

TEST(WebSocketCodec, MessageOverTheLimitClosesWith1009) {
    ClientPeer client;
    Codec codec(Role::server, 1000);
    Buffer data;
    Buffer control;
    EXPECT_EQ(codec.feed(client.send(WSLAY_BINARY_FRAME, std::string(1001, 'x')), data, control),
              Codec::State::closing);
    EXPECT_TRUE(data.empty());
    client.receive(control);
    ASSERT_EQ(client.received.size(), 1u);
    EXPECT_EQ(client.received[0].status, 1009);
}

TEST(WebSocketCodec, ServerCloseGoesOutOnce) {
    Codec codec(Role::server);
    Buffer out;
    codec.frame_close(1001, out);
    ClientPeer client;
    client.receive(out);
    ASSERT_EQ(client.received.size(), 1u);
    EXPECT_EQ(client.received[0].status, 1001);
    out.clear();
    codec.frame_close(1001, out);
    codec.frame_binary(bytes("after"), out);
    EXPECT_TRUE(out.empty());
}

TEST(WebSocketCodec, ClientRoleMasksAndReadsTheServer) {
    Codec client(Role::client);
    Codec server(Role::server);
    Buffer request;
    client.frame_binary(bytes("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"), request);
    ASSERT_GE(request.size(), 6u);
    EXPECT_EQ(request[1] & 0x80, 0x80);  // masked
    Buffer data;
    Buffer control;
    EXPECT_EQ(server.feed(request, data, control), Codec::State::open);
    EXPECT_EQ(text(data), "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    Buffer reply;
    server.frame_binary(bytes("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"), reply);
    data.clear();
    EXPECT_EQ(client.feed(reply, data, control), Codec::State::open);
    EXPECT_EQ(text(data), "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    EXPECT_TRUE(control.empty());
    // A server must not mask: a masked frame at a client is a protocol error.
    Codec another_client(Role::client);
    EXPECT_EQ(another_client.feed(request, data, control), Codec::State::closing);
}

TEST(WebSocketCodec, ServerFramesDecodeAtTheClient) {
    Codec codec(Role::server);
    Buffer out;
    codec.frame_binary(bytes("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"), out);
    const Buffer interleaved{'$', 0, 0, 4, 0x80, 0x60, 0, 1};
    codec.frame_binary(interleaved, out);
    ClientPeer client;
    client.receive(out);
    ASSERT_EQ(client.received.size(), 2u);
    EXPECT_EQ(client.received[0].opcode, WSLAY_BINARY_FRAME);
    EXPECT_EQ(text(client.received[0].payload), "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    EXPECT_EQ(client.received[1].payload, interleaved);
}

}  // namespace
}  // namespace sg::websocket
