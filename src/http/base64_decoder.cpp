#include "http/base64_decoder.hpp"

namespace sg::http {
namespace {

// The sextet of an alphabet character, -1 for anything else.
int sextet(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool is_skipped(char c) noexcept {
    return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

}  // namespace

bool Base64Decoder::feed(std::string_view chunk, std::vector<std::uint8_t>& out) {
    if (failed_) return false;
    for (const char c : chunk) {
        if (is_skipped(c)) continue;
        if (c == '=') {
            // "xx==" and "xxx=" are the only padded quanta.
            if (count_ < 2 || count_ + padding_ >= 4) {
                failed_ = true;
                return false;
            }
            ++padding_;
            if (count_ + padding_ == 4) {
                // The leftover bits of the last sextet are ignored (RFC 4648 section 3.5 lets us).
                if (count_ == 2) {
                    out.push_back(static_cast<std::uint8_t>(bits_ >> 4));
                } else {
                    out.push_back(static_cast<std::uint8_t>(bits_ >> 10));
                    out.push_back(static_cast<std::uint8_t>(bits_ >> 2));
                }
                bits_ = 0;
                count_ = 0;
                padding_ = 0;
            }
            continue;
        }
        const int value = sextet(c);
        if (value < 0 || padding_ != 0) {  // garbage, or data after the first '=' of a quantum
            failed_ = true;
            return false;
        }
        bits_ = (bits_ << 6) | static_cast<std::uint32_t>(value);
        if (++count_ == 4) {
            out.push_back(static_cast<std::uint8_t>(bits_ >> 16));
            out.push_back(static_cast<std::uint8_t>(bits_ >> 8));
            out.push_back(static_cast<std::uint8_t>(bits_));
            bits_ = 0;
            count_ = 0;
        }
    }
    return true;
}

}  // namespace sg::http
