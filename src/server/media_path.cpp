#include "server/media_path.hpp"

#include <system_error>
#include <vector>

#include "common/percent.hpp"
#include "common/text.hpp"
#include "rtsp/url.hpp"

namespace sg::server {
namespace {

constexpr std::string_view k_track_prefix = "trackID=";
constexpr std::size_t k_max_segments = 64;

// True when `path` equals `root` or lies below it, compared component by component.
bool is_under(const std::filesystem::path& path, const std::filesystem::path& root) {
    auto p = path.begin();
    for (auto r = root.begin(); r != root.end(); ++r, ++p) {
        if (r->empty()) continue;  // a trailing separator of the root
        if (p == path.end() || *p != *r) return false;
    }
    return true;
}

}  // namespace

std::optional<std::string> request_uri_path(std::string_view uri) {
    auto url = rtsp::parse_url(uri);
    if (!url) return std::nullopt;
    return std::move(url->path);
}

Result<MediaTarget> resolve_media_path(const std::filesystem::path& root, std::string_view url_path) {
    url_path = url_path.substr(0, url_path.find('?'));
    auto decoded = percent_decode(url_path);
    if (!decoded) return fail("malformed percent escape or encoded NUL");
    std::vector<std::string_view> segments;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        const std::string_view segment = pop_token(rest, '/');
        if (segment.empty()) continue;
        if (segment == "." || segment == "..") return fail("dot segment");
        if (segments.size() == k_max_segments) return fail("too many path segments");
        segments.push_back(segment);
    }
    MediaTarget target;
    if (!segments.empty() && segments.back().starts_with(k_track_prefix)) {
        const auto index = parse_uint<std::size_t>(segments.back().substr(k_track_prefix.size()));
        if (!index) return fail("bad track id");
        target.track = *index;
        segments.pop_back();
    }
    if (segments.empty()) return fail("no file named");
    std::filesystem::path candidate = root;
    for (const auto segment : segments) {
        if (!target.relative.empty()) target.relative += '/';
        target.relative += segment;
        candidate /= std::filesystem::path(segment);
    }
    std::error_code ec;
    target.file = std::filesystem::weakly_canonical(candidate, ec);
    if (ec || !is_under(target.file, root)) return fail("outside the served directory");
    if (!std::filesystem::is_regular_file(target.file, ec) || ec) return fail("not a file");
    return target;
}

}  // namespace sg::server
