#include "rtsp/range.hpp"

#include <array>
#include <charconv>
#include <vector>

#include "common/text.hpp"
#include "rtsp/simple_headers.hpp"

namespace sg::rtsp {

namespace {

constexpr std::size_t k_max_range_length = 512;
constexpr std::size_t k_max_range_params = 4;
constexpr std::size_t k_max_npt_int_digits = 12;
// Enough for any sane precision; it also bounds what the formatter can emit for a parsed value (the
// shortest round-trip decimal never has more fraction digits than the text it was read from).
constexpr std::size_t k_max_npt_fraction_digits = 32;
constexpr std::size_t k_max_npt_hour_digits = 8;
constexpr std::size_t k_max_utc_fraction_digits = 9;

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) noexcept {
    for (const char c : s) {
        if (!is_digit(c)) return false;
    }
    return true;
}

// 1..max_int_digits DIGIT [ "." *DIGIT ] as a double.
std::optional<double> parse_seconds(std::string_view s, std::size_t max_int_digits) {
    std::string_view int_part = s;
    std::string_view frac_part;
    const auto dot = s.find('.');
    if (dot != std::string_view::npos) {
        int_part = s.substr(0, dot);
        frac_part = s.substr(dot + 1);
    }
    if (int_part.empty() || int_part.size() > max_int_digits || !all_digits(int_part)) return std::nullopt;
    if (frac_part.size() > k_max_npt_fraction_digits || !all_digits(frac_part)) return std::nullopt;
    // "12." is valid npt; from_chars gets the digits without the dangling point.
    const std::string_view number = frac_part.empty() ? int_part : s;
    double value = 0.0;
    const auto [ptr, ec] =
        std::from_chars(number.data(), number.data() + number.size(), value, std::chars_format::fixed);
    if (ec != std::errc{} || ptr != number.data() + number.size()) return std::nullopt;
    return value;
}

// A 1- or 2-digit field no larger than `max`.
std::optional<std::uint8_t> parse_small(std::string_view s, unsigned max) {
    if (s.empty() || s.size() > 2) return std::nullopt;
    const auto v = parse_uint<std::uint8_t>(s);
    if (!v || *v > max) return std::nullopt;
    return v;
}

void append_2digits(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + (v / 10) % 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

void append_digits(std::string& out, unsigned v, int width) {
    std::array<char, 10> buf{};
    for (int i = width - 1; i >= 0; --i) {
        buf[static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    out.append(buf.data(), static_cast<std::size_t>(width));
}

std::optional<SmpteType> smpte_type_from(std::string_view unit) {
    if (iequals(unit, "smpte")) return SmpteType::smpte_30;
    if (iequals(unit, "smpte-30-drop")) return SmpteType::smpte_30_drop;
    if (iequals(unit, "smpte-25")) return SmpteType::smpte_25;
    return std::nullopt;
}

std::string_view smpte_unit(SmpteType type) {
    switch (type) {
        case SmpteType::smpte_30_drop:
            return "smpte-30-drop";
        case SmpteType::smpte_25:
            return "smpte-25";
        case SmpteType::smpte_30:
            break;
    }
    return "smpte";
}

Result<SmpteTime> parse_smpte_time(std::string_view text, SmpteType type) {
    SmpteTime t;
    std::string_view main = text;
    const auto dot = text.find('.');
    if (dot != std::string_view::npos) {
        main = text.substr(0, dot);
        const auto sub = parse_small(text.substr(dot + 1), 99);
        if (!sub) return fail("Range: bad SMPTE subframes");
        t.subframes = *sub;
    }
    std::size_t colons = 0;
    for (const char c : main)
        colons += c == ':' ? 1 : 0;
    if (colons != 2 && colons != 3) return fail("Range: bad SMPTE time");
    const auto hours = parse_small(pop_token(main, ':'), 99);
    const auto minutes = parse_small(pop_token(main, ':'), 59);
    const auto seconds = parse_small(pop_token(main, ':'), 59);
    if (!hours || !minutes || !seconds) return fail("Range: bad SMPTE time");
    t.hours = *hours;
    t.minutes = *minutes;
    t.seconds = *seconds;
    if (colons == 3) {
        const auto frames = parse_small(main, type == SmpteType::smpte_25 ? 24 : 29);
        if (!frames) return fail("Range: bad SMPTE frames");
        t.frames = *frames;
    }
    return t;
}

std::string format_smpte_time(const SmpteTime& t) {
    std::string out;
    append_2digits(out, t.hours);
    out.push_back(':');
    append_2digits(out, t.minutes);
    out.push_back(':');
    append_2digits(out, t.seconds);
    if (t.frames) {
        out.push_back(':');
        append_2digits(out, *t.frames);
    }
    if (t.subframes) {
        out.push_back('.');
        append_2digits(out, *t.subframes);
    }
    return out;
}

// Splits "start-end" at its single '-' and parses each non-empty side with `parse_one`.
template <class T, class F>
Result<std::pair<std::optional<T>, std::optional<T>>> parse_interval(std::string_view body, F parse_one) {
    const auto dash = body.find('-');
    if (dash == std::string_view::npos) return fail("Range: missing '-'");
    const std::string_view first = trim(body.substr(0, dash));
    const std::string_view second = trim(body.substr(dash + 1));
    if (first.empty() && second.empty()) return fail("Range: neither start nor end");
    std::pair<std::optional<T>, std::optional<T>> out;
    if (!first.empty()) {
        auto v = parse_one(first);
        if (!v) return fail(v.error());
        out.first = std::move(*v);
    }
    if (!second.empty()) {
        auto v = parse_one(second);
        if (!v) return fail(v.error());
        out.second = std::move(*v);
    }
    return out;
}

template <class T, class F>
void append_interval(std::string& out, const std::optional<T>& start, const std::optional<T>& end,
                     F format_one) {
    if (start) out += format_one(*start);
    out.push_back('-');
    if (end) out += format_one(*end);
}

}  // namespace

Result<NptTime> parse_npt_time(std::string_view text) {
    if (iequals(text, "now")) return NptTime::live_now();
    if (text.find(':') == std::string_view::npos) {
        const auto seconds = parse_seconds(text, k_max_npt_int_digits);
        if (!seconds || *seconds > k_max_npt_seconds) return fail("Range: bad npt time");
        return NptTime::at(*seconds);
    }
    // npt-hhmmss = npt-hh ":" npt-mm ":" npt-ss [ "." *DIGIT ]
    std::string_view rest = text;
    const std::string_view hh = pop_token(rest, ':');
    const std::string_view mm = pop_token(rest, ':');
    const std::string_view ss = rest;
    if (hh.empty() || hh.size() > k_max_npt_hour_digits) return fail("Range: bad npt hours");
    const auto hours = parse_uint<std::uint32_t>(hh);
    const auto minutes = parse_small(mm, 59);
    const auto seconds = parse_seconds(ss, 2);
    // The 0..59 limit applies to the integer part: "59.99999999999999999" may round up to 60.0.
    const auto whole_seconds = parse_small(ss.substr(0, ss.find('.')), 59);
    if (!hours || !minutes || !seconds || !whole_seconds) return fail("Range: bad npt hh:mm:ss");
    return NptTime::at(*hours * 3600.0 + *minutes * 60.0 + *seconds);
}

std::string format_npt_time(const NptTime& t) {
    if (t.now) return "now";
    double v = t.seconds;
    if (!(v >= 0.0)) v = 0.0;  // also catches NaN
    if (v > k_max_npt_seconds) v = k_max_npt_seconds;
    // Large enough for the fixed form of any double (the smallest subnormal needs ~330 characters).
    std::array<char, 400> buf{};
    const auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
    if (ec != std::errc{}) return "0";
    return std::string(buf.data(), ptr);
}

Result<UtcTime> parse_utc_time(std::string_view text) {
    // YYYYMMDD T HHMMSS [. fraction] Z
    if (text.size() < 16 || (text[8] != 'T' && text[8] != 't') ||
        (text.back() != 'Z' && text.back() != 'z')) {
        return fail("Range: bad UTC time");
    }
    const std::string_view date = text.substr(0, 8);
    std::string_view clock = text.substr(9, text.size() - 10);
    std::string_view fraction;
    if (const auto dot = clock.find('.'); dot != std::string_view::npos) {
        fraction = clock.substr(dot + 1);
        clock = clock.substr(0, dot);
        if (fraction.empty() || fraction.size() > k_max_utc_fraction_digits || !all_digits(fraction)) {
            return fail("Range: bad UTC fraction");
        }
    }
    if (clock.size() != 6 || !all_digits(date) || !all_digits(clock)) return fail("Range: bad UTC time");
    const auto num = [](std::string_view s) { return *parse_uint<std::uint16_t>(s); };
    UtcTime t;
    t.year = num(date.substr(0, 4));
    const auto month = num(date.substr(4, 2));
    const auto day = num(date.substr(6, 2));
    const auto hour = num(clock.substr(0, 2));
    const auto minute = num(clock.substr(2, 2));
    const auto second = num(clock.substr(4, 2));
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
        return fail("Range: UTC field out of range");
    }
    t.month = static_cast<std::uint8_t>(month);
    t.day = static_cast<std::uint8_t>(day);
    t.hour = static_cast<std::uint8_t>(hour);
    t.minute = static_cast<std::uint8_t>(minute);
    t.second = static_cast<std::uint8_t>(second);
    t.fraction = fraction;
    return t;
}

std::string format_utc_time(const UtcTime& t) {
    std::string out;
    append_digits(out, t.year % 10000u, 4);
    append_2digits(out, t.month);
    append_2digits(out, t.day);
    out.push_back('T');
    append_2digits(out, t.hour);
    append_2digits(out, t.minute);
    append_2digits(out, t.second);
    if (!t.fraction.empty()) {
        out.push_back('.');
        out += t.fraction;
    }
    out.push_back('Z');
    return out;
}

Result<Range> parse_range(std::string_view value) {
    if (value.size() > k_max_range_length) return fail("Range: too long");
    auto parts = split_unquoted(value, ';', k_max_range_params);
    if (!parts) return fail(parts.error());
    std::string_view spec = (*parts)[0];
    const std::string_view unit = trim(pop_token(spec, '='));
    const std::string_view body = trim(spec);

    Range range;
    if (iequals(unit, "npt")) {
        auto interval = parse_interval<NptTime>(body, parse_npt_time);
        if (!interval) return fail(interval.error());
        range.spec = NptRange{interval->first, interval->second};
    } else if (const auto type = smpte_type_from(unit)) {
        const auto parse_one = [&](std::string_view s) { return parse_smpte_time(s, *type); };
        auto interval = parse_interval<SmpteTime>(body, parse_one);
        if (!interval) return fail(interval.error());
        range.spec = SmpteRange{*type, interval->first, interval->second};
    } else if (iequals(unit, "clock")) {
        auto interval = parse_interval<UtcTime>(body, parse_utc_time);
        if (!interval) return fail(interval.error());
        range.spec = ClockRange{std::move(interval->first), std::move(interval->second)};
    } else {
        return fail("Range: unknown range unit");
    }

    for (std::size_t i = 1; i < parts->size(); ++i) {
        std::string_view param = (*parts)[i];
        const std::string_view name = trim(pop_token(param, '='));
        if (!iequals(name, "time")) return fail("Range: unknown parameter");
        if (range.time) return fail("Range: duplicate time parameter");
        auto when = parse_utc_time(trim(param));
        if (!when) return fail(when.error());
        range.time = std::move(*when);
    }
    return range;
}

std::string to_header_value(const Range& range) {
    std::string out;
    if (const auto* npt = range.npt()) {
        out = "npt=";
        append_interval(out, npt->start, npt->end, format_npt_time);
    } else if (const auto* smpte = range.smpte()) {
        out = smpte_unit(smpte->type);
        out.push_back('=');
        append_interval(out, smpte->start, smpte->end, format_smpte_time);
    } else if (const auto* clock = range.clock()) {
        out = "clock=";
        append_interval(out, clock->start, clock->end, format_utc_time);
    }
    if (range.time) {
        out += ";time=";
        out += format_utc_time(*range.time);
    }
    return out;
}

}  // namespace sg::rtsp
