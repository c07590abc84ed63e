#include "websocket/codec.hpp"

#include <openssl/rand.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace sg::websocket {

Codec::Codec(Role role, std::size_t max_message) {
    wslay_event_callbacks callbacks{};
    callbacks.recv_callback = &on_recv;
    callbacks.send_callback = &on_send;
    callbacks.on_msg_recv_callback = &on_message;
    callbacks.genmask_callback = &on_mask;
    const int failed = role == Role::server ? wslay_event_context_server_init(&ctx_, &callbacks, this)
                                            : wslay_event_context_client_init(&ctx_, &callbacks, this);
    if (failed != 0) throw std::bad_alloc();
    wslay_event_config_set_max_recv_msg_length(ctx_, max_message);
}

Codec::~Codec() {
    wslay_event_context_free(ctx_);
}

ssize_t Codec::on_recv(wslay_event_context* ctx, std::uint8_t* buf, std::size_t len, int /*flags*/,
                       void* self) {
    auto& codec = *static_cast<Codec*>(self);
    if (codec.input_.empty()) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    const auto n = std::min(len, codec.input_.size());
    std::memcpy(buf, codec.input_.data(), n);
    codec.input_ = codec.input_.subspan(n);
    return static_cast<ssize_t>(n);
}

ssize_t Codec::on_send(wslay_event_context* ctx, const std::uint8_t* data, std::size_t len, int /*flags*/,
                       void* self) {
    auto& codec = *static_cast<Codec*>(self);
    if (codec.out_ == nullptr) {  // only flush() lets wslay write
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    codec.out_->insert(codec.out_->end(), data, data + len);
    return static_cast<ssize_t>(len);
}

int Codec::on_mask(wslay_event_context* ctx, std::uint8_t* buf, std::size_t len, void* /*self*/) {
    if (RAND_bytes(buf, static_cast<int>(len)) == 1) return 0;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

void Codec::on_message(wslay_event_context* /*ctx*/, const wslay_event_on_msg_recv_arg* arg, void* self) {
    auto& codec = *static_cast<Codec*>(self);
    const auto& message = *arg;
    // Control frames (ping, pong, close) are wslay's business; text and binary both carry RTSP bytes.
    if (message.opcode != WSLAY_TEXT_FRAME && message.opcode != WSLAY_BINARY_FRAME) return;
    if (codec.data_ != nullptr)
        codec.data_->insert(codec.data_->end(), message.msg, message.msg + message.msg_length);
}

void Codec::flush(std::vector<std::uint8_t>& out) {
    if (write_failed_) return;
    out_ = &out;
    if (wslay_event_send(ctx_) < 0) write_failed_ = true;
    out_ = nullptr;
}

Codec::State Codec::feed(Bytes input, std::vector<std::uint8_t>& data, std::vector<std::uint8_t>& control) {
    if (!read_failed_ && wslay_event_get_read_enabled(ctx_) != 0) {
        input_ = input;
        data_ = &data;
        // A protocol error such as reserved bits is returned as an error after the close frame (1002) was
        // queued: wslay must not read again, but that frame still goes out.
        if (wslay_event_recv(ctx_) < 0) read_failed_ = true;
        data_ = nullptr;
        input_ = {};
    }
    flush(control);  // pongs, and the close frame a close or an error queued
    return read_failed_ || wslay_event_get_read_enabled(ctx_) == 0 ? State::closing : State::open;
}

void Codec::frame_binary(Bytes payload, std::vector<std::uint8_t>& out) {
    if (write_failed_) return;
    const wslay_event_msg message{WSLAY_BINARY_FRAME, payload.data(), payload.size()};
    if (wslay_event_queue_msg(ctx_, &message) != 0) return;  // a close frame has gone out
    flush(out);
}

void Codec::frame_close(std::uint16_t code, std::vector<std::uint8_t>& out) {
    if (write_failed_ || wslay_event_get_close_sent(ctx_) != 0) return;
    if (wslay_event_queue_close(ctx_, code, nullptr, 0) != 0) return;
    flush(out);
}

bool Codec::close_received() const noexcept {
    return wslay_event_get_close_received(ctx_) != 0;
}

std::uint16_t Codec::close_code_received() const noexcept {
    return close_received() ? wslay_event_get_status_code_received(ctx_) : 0;
}

}  // namespace sg::websocket
