// Fuzzes rtsp:// URL handling. The input is a URL, optionally followed by '\n' and a reference to
// resolve against it. Properties:
//   - a parsed URL printed with its userinfo parses back to the same Url, and without it to the same
//     scheme, host, port and path,
//   - resolve_reference never exceeds the URL length limit, and "" / "*" resolve to the base itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rtsp/url.hpp"

using namespace sg::rtsp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const std::string_view text = input.substr(0, newline);
    const std::string_view ref =
        newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

    const auto url = parse_url(text);
    if (url.ok()) {
        if (url->host.empty() || url->scheme.empty()) __builtin_trap();
        if (url->port && *url->port == 0) __builtin_trap();
        if (authority(*url).empty()) __builtin_trap();

        // Percent-encoding a raw '@' in the password can push the printed form over the length limit.
        const std::string full = to_string(*url, true);
        if (full.size() <= k_max_url_length) {
            const auto again = parse_url(full);
            if (!again.ok() || !(*again == *url)) __builtin_trap();
            if (to_string(*again, true) != full) __builtin_trap();
        }
        const auto anonymous = parse_url(to_string(*url));
        if (!anonymous.ok() || !anonymous->user.empty() || !anonymous->password.empty() ||
            anonymous->scheme != url->scheme || anonymous->host != url->host ||
            anonymous->port != url->port || anonymous->path != url->path ||
            anonymous->is_ipv6() != url->is_ipv6()) {
            __builtin_trap();
        }
    }

    const std::string resolved = resolve_reference(text, ref);
    if (resolved.size() > k_max_url_length) __builtin_trap();
    if (text.size() <= k_max_url_length) {
        if (resolve_reference(text, "") != text || resolve_reference(text, "*") != text) __builtin_trap();
    }
    if (!resolved.empty() && resolve_reference(resolved, "") != resolved) __builtin_trap();
    return 0;
}
