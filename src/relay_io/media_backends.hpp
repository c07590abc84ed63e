#pragma once
// The two implementations of MediaSocketsIo (media_sockets.hpp), made by make_media_sockets().

#include <asio/io_context.hpp>
#include <memory>
#include <string>

#include "relay_io/media_sockets.hpp"

namespace sg::relay_io {

std::unique_ptr<MediaSocketsIo> make_epoll_media_sockets(asio::io_context& io);
// nullptr, with the reason in `why`, when this kernel does not let us use io_uring.
std::unique_ptr<MediaSocketsIo> make_uring_media_sockets(asio::io_context& io, std::string& why);

}  // namespace sg::relay_io
