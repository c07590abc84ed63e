#pragma once
// The RTSP Range header value (RFC 2326 §3.5-3.7 and §12.29; RFC 7826 §4.4 and §18.40):
//   npt=0-34.4   npt=now-   npt=-20   npt=1:02:03.5-
//   smpte=10:07:00-10:07:33:05.01   smpte-25=...   smpte-30-drop=...
//   clock=19961108T142300Z-19961108T143520.25Z
// optionally followed by RFC 2326's ";time=<utc-time>" (when the range should take effect).
//
// Normal play time is stored as seconds (a double, exact for every value our formatter writes back:
// the formatter emits the shortest decimal that reads back as the same double). SMPTE and clock times
// keep their fields so they format back unchanged.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.hpp"

namespace sg::rtsp {

// npt-time: "now" or a non-negative number of seconds.
struct NptTime {
    bool now = false;
    double seconds = 0.0;  // meaningful when !now

    static NptTime at(double s) noexcept { return NptTime{false, s}; }
    static NptTime live_now() noexcept { return NptTime{true, 0.0}; }

    friend bool operator==(const NptTime&, const NptTime&) = default;
};

struct NptRange {
    std::optional<NptTime> start;  // absent: open start ("npt=-20", RFC 7826)
    std::optional<NptTime> end;    // absent: open end ("npt=0-")

    friend bool operator==(const NptRange&, const NptRange&) = default;
};

enum class SmpteType : std::uint8_t {
    smpte_30,       // "smpte": 30 frames/s, non-drop
    smpte_30_drop,  // "smpte-30-drop": 29.97 frames/s, drop-frame counting
    smpte_25,       // "smpte-25"
};

// hh:mm:ss[:frames][.subframes]; every field has at most two digits.
struct SmpteTime {
    std::uint8_t hours = 0;
    std::uint8_t minutes = 0;               // 0..59
    std::uint8_t seconds = 0;               // 0..59
    std::optional<std::uint8_t> frames;     // 0..29 (0..24 for smpte-25)
    std::optional<std::uint8_t> subframes;  // 0..99

    friend bool operator==(const SmpteTime&, const SmpteTime&) = default;
};

struct SmpteRange {
    SmpteType type = SmpteType::smpte_30;
    std::optional<SmpteTime> start;
    std::optional<SmpteTime> end;

    friend bool operator==(const SmpteRange&, const SmpteRange&) = default;
};

// utc-time: YYYYMMDD "T" HHMMSS ["." fraction] "Z" (RFC 2326 §3.7).
struct UtcTime {
    std::uint16_t year = 0;
    std::uint8_t month = 1;   // 1..12
    std::uint8_t day = 1;     // 1..31
    std::uint8_t hour = 0;    // 0..23
    std::uint8_t minute = 0;  // 0..59
    std::uint8_t second = 0;  // 0..60 (leap second)
    std::string fraction;     // decimal digits after the point, kept verbatim (at most 9); may be empty

    friend bool operator==(const UtcTime&, const UtcTime&) = default;
};

struct ClockRange {
    std::optional<UtcTime> start;
    std::optional<UtcTime> end;

    friend bool operator==(const ClockRange&, const ClockRange&) = default;
};

struct Range {
    std::variant<NptRange, SmpteRange, ClockRange> spec;
    std::optional<UtcTime> time;  // RFC 2326 ";time=" parameter

    const NptRange* npt() const noexcept { return std::get_if<NptRange>(&spec); }
    const SmpteRange* smpte() const noexcept { return std::get_if<SmpteRange>(&spec); }
    const ClockRange* clock() const noexcept { return std::get_if<ClockRange>(&spec); }

    friend bool operator==(const Range&, const Range&) = default;
};

// Largest npt value we accept: 12 integer digits (~31700 years) keeps every value exact to format.
inline constexpr double k_max_npt_seconds = 999999999999.0;

// At least one of start and end must be present; when both are numeric, start <= end is NOT enforced
// (RFC 7826 §4.4.2 allows reverse ranges with a negative Scale).
Result<Range> parse_range(std::string_view value);
Result<NptTime> parse_npt_time(std::string_view text);
Result<UtcTime> parse_utc_time(std::string_view text);

std::string to_header_value(const Range& range);
std::string format_npt_time(const NptTime& t);
std::string format_utc_time(const UtcTime& t);

}  // namespace sg::rtsp
