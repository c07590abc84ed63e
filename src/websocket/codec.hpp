#pragma once
// WebSocket frames (RFC 6455 section 5) of one end of a connection, coded by wslay on memory buffers:
// feed() takes the bytes received, hands over the payloads of complete data messages and the answers the
// peer is owed (a pong for each ping, the close handshake); frame_binary() wraps what this end sends as one
// binary message, masked on the client side (with keys from OpenSSL's RAND_bytes, as section 5.3 asks:
// unpredictable), unmasked on the server side. Receiving is bounded: a message longer than `max_message`
// closes the connection (1009), as does a protocol error (1002) such as an unmasked client frame at a
// server. Pure code: no I/O; no exceptions after construction.

#include <sys/types.h>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/byte_io.hpp"
#include "common/units.hpp"

struct wslay_event_context;
struct wslay_event_on_msg_recv_arg;

namespace sg::websocket {

enum class Role : std::uint8_t { server, client };

class Codec {
public:
    static constexpr std::size_t k_default_max_message = 256 * k_kib;

    // Throws std::bad_alloc when wslay cannot allocate its context.
    explicit Codec(Role role, std::size_t max_message = k_default_max_message);
    ~Codec();
    Codec(const Codec&) = delete;
    Codec& operator=(const Codec&) = delete;

    enum class State : std::uint8_t {
        open,     // read on
        closing,  // the peer closed, broke the protocol or sent too much: send `control`, then close
    };

    // Decodes `input`. The payload of every complete text or binary message is appended to `data` (RTSP
    // over WebSocket is a byte stream cut into messages anywhere); the frames the peer is owed go to
    // `control`. Once closing, further input is ignored.
    State feed(Bytes input, std::vector<std::uint8_t>& data, std::vector<std::uint8_t>& control);

    // Appends `payload` framed as one binary message; nothing once a close frame has gone out.
    void frame_binary(Bytes payload, std::vector<std::uint8_t>& out);

    // Appends a close frame with `code` (RFC 6455 section 7.4.1) unless one has gone out already.
    void frame_close(std::uint16_t code, std::vector<std::uint8_t>& out);

    bool close_received() const noexcept;
    // The status code of the peer's close frame (1005 when it carried none, 0 before it came).
    std::uint16_t close_code_received() const noexcept;

private:
    static ssize_t on_recv(wslay_event_context* ctx, std::uint8_t* buf, std::size_t len, int flags,
                           void* self);
    static ssize_t on_send(wslay_event_context* ctx, const std::uint8_t* data, std::size_t len, int flags,
                           void* self);
    static int on_mask(wslay_event_context* ctx, std::uint8_t* buf, std::size_t len, void* self);
    static void on_message(wslay_event_context* ctx, const wslay_event_on_msg_recv_arg* message, void* self);
    // Runs wslay_event_send(), appending what it writes to `out`.
    void flush(std::vector<std::uint8_t>& out);

    wslay_event_context* ctx_ = nullptr;
    Bytes input_;                                // during feed(): the bytes not handed to wslay yet
    std::vector<std::uint8_t>* data_ = nullptr;  // during feed(): where message payloads go
    std::vector<std::uint8_t>* out_ = nullptr;   // during flush(): where frames go
    bool read_failed_ = false;                   // wslay_event_recv() failed: it must not be called again
    bool write_failed_ = false;                  // wslay_event_send() failed: likewise
};

}  // namespace sg::websocket
