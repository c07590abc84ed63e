#pragma once
// `streamgate serve`: an RTSP/RTP origin for every media file under a directory.

#include "server/serve_config.hpp"

namespace sg::server {

// Listens on every configured address and serves until SIGINT or SIGTERM; returns the exit status.
int run_serve(const ServeConfig& config);

}  // namespace sg::server
