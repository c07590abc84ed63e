#include "rtsp/play_rate.hpp"

#include <cmath>
#include <cstdio>

#include "common/text.hpp"

namespace sg::rtsp {
namespace {

Result<double> parse_decimal(std::string_view text) {
    const auto point = text.find('.');
    const std::string_view whole = text.substr(0, point);
    const std::string_view fraction =
        point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
    if (whole.empty() || whole.size() > k_max_rate_digits || fraction.size() > k_max_rate_digits)
        return fail("not a decimal rate");
    double value = 0.0;
    for (const char c : whole) {
        if (c < '0' || c > '9') return fail("not a decimal rate");
        value = value * 10 + (c - '0');
    }
    double unit = 0.1;
    for (const char c : fraction) {
        if (c < '0' || c > '9') return fail("not a decimal rate");
        value += (c - '0') * unit;
        unit /= 10;
    }
    return value;
}

}  // namespace

Result<double> parse_scale(std::string_view value) {
    value = trim(value);
    const bool negative = value.starts_with('-');
    if (negative) value.remove_prefix(1);
    const auto magnitude = parse_decimal(value);
    if (!magnitude) return magnitude;
    if (*magnitude == 0.0) return fail("Scale 0");
    return negative ? -*magnitude : *magnitude;
}

Result<double> parse_speed(std::string_view value) {
    const auto speed = parse_decimal(trim(value));
    if (!speed) return speed;
    if (*speed == 0.0) return fail("Speed 0");
    return speed;
}

std::string format_rate(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    std::string out(text);
    while (out.back() == '0')
        out.pop_back();
    if (out.back() == '.') out.pop_back();
    if (out == "-0") out = "0";
    return out;
}

}  // namespace sg::rtsp
