#include "rtsp/session_header.hpp"

#include <vector>

#include "common/text.hpp"
#include "rtsp/simple_headers.hpp"

namespace sg::rtsp {

namespace {

constexpr std::size_t k_max_session_params = 8;

constexpr bool is_session_id_char(char c) noexcept {
    if (c <= 0x20 || c >= 0x7f) return false;
    return c != ';' && c != ',' && c != '"' && c != '\\';
}

}  // namespace

bool is_valid_session_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > k_max_session_id_length) return false;
    for (const char c : id) {
        if (!is_session_id_char(c)) return false;
    }
    return true;
}

Result<SessionHeader> parse_session(std::string_view value) {
    if (value.size() > k_max_session_id_length + 256) return fail("Session: too long");
    auto parts = split_unquoted(value, ';', k_max_session_params + 1);
    if (!parts) return fail(parts.error());
    SessionHeader session;
    if (!is_valid_session_id((*parts)[0])) return fail("Session: invalid session id");
    session.id = (*parts)[0];
    for (std::size_t i = 1; i < parts->size(); ++i) {
        std::string_view param = (*parts)[i];
        const std::string_view name = trim(pop_token(param, '='));
        const std::string_view arg = trim(param);
        if (iequals(name, "timeout")) {
            if (session.timeout) return fail("Session: duplicate timeout");
            const auto seconds = parse_uint<std::uint32_t>(arg);
            if (!seconds) return fail("Session: bad timeout");
            session.timeout = *seconds;
        } else if (!is_token(name) || has_forbidden_control(arg)) {
            return fail("Session: bad parameter");
        }
    }
    return session;
}

std::string to_header_value(const SessionHeader& session) {
    std::string out = session.id;
    if (session.timeout) {
        out += ";timeout=";
        out += std::to_string(*session.timeout);
    }
    return out;
}

}  // namespace sg::rtsp
