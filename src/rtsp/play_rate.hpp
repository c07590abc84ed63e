#pragma once
// Trick play headers: Scale (RFC 2326 §12.34, RFC 7826 §18.46), the viewing rate, negative for reverse; and
// Speed (RFC 2326 §12.35, RFC 7826 §18.50), the delivery rate, the media's own timing unchanged. Both are
// decimal numbers. A server answers with the value it chose; these parse a request's and format an answer's.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace sg::rtsp {

// At most this many digits before and after the point: enough for any rate a player asks for, and every
// value parsed is exact enough to format back.
inline constexpr std::size_t k_max_rate_digits = 6;

// ["-"] 1*DIGIT ["." *DIGIT] after trimming LWS; not zero.
Result<double> parse_scale(std::string_view value);
// 1*DIGIT ["." *DIGIT] after trimming LWS; greater than zero.
Result<double> parse_speed(std::string_view value);
// Three decimals at most, trailing zeros trimmed ("2", "-0.5", "1.25"); what parse_scale reads back for
// any |value| >= 0.001.
std::string format_rate(double value);

}  // namespace sg::rtsp
