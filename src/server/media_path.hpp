#pragma once
// Maps the path of a Request-URI onto a file under the served directory, so that nothing outside it can be
// named: percent-decoding first, then "." and ".." segments and NUL are refused, then the result is
// resolved through symlinks (weakly_canonical) and must still lie under the canonical root. A last segment
// "trackID=N" names track N of the file (the SDP's a=control).

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace sg::server {

struct MediaTarget {
    std::filesystem::path file;  // canonical, a regular file under the root
    std::string relative;        // decoded path relative to the root, '/'-separated (for logs and URLs)
    std::optional<std::size_t> track;
};

// The path of an absolute rtsp:// Request-URI ("/dir/clip.mp4/trackID=1"); nullopt for "*" or garbage.
std::optional<std::string> request_uri_path(std::string_view uri);

// `root` must be canonical. `url_path` is the Request-URI's path as sent ("/dir/clip.mp4/trackID=1?x").
Result<MediaTarget> resolve_media_path(const std::filesystem::path& root, std::string_view url_path);

}  // namespace sg::server
