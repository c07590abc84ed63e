#include "server/rtsp_connection.hpp"

namespace sg::server {

RtspConnection::RtspConnection(asio::ip::tcp::socket socket, ServerContext& context)
    : RtspServerConnection(std::move(socket), k_max_queued_bytes, context.config.session_timeout),
      context_(context),
      files_(context, *this, [&root = context.config.root](std::string_view path) {
          return resolve_media_path(root, path);
      }) {
    ++context_.connections_open;
}

void RtspConnection::on_close(std::string_view reason) {
    --context_.connections_open;
    files_.end_all(reason);
}

bool RtspConnection::send_interleaved(std::uint8_t channel, Bytes frame) {
    return queue_interleaved(channel, frame);
}

asio::awaitable<rtsp::Response> RtspConnection::handle(const rtsp::Request& request) {
    if (auto refused = check_request(request)) co_return std::move(*refused);
    auto response = co_await files_.handle(request);
    co_return response;
}

}  // namespace sg::server
