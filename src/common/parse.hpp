#pragma once
// The contract every incremental parser follows: given the bytes received so far, answer
//   need_more - the input is a valid prefix; call again with more bytes (nothing consumed),
//   done      - a complete item was parsed from the first `consumed` bytes,
//   error     - the input can never become valid (or exceeds a limit); `error` says why.
// Parsers never throw, assert or read past the span on any input.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace sg {

enum class ParseStatus : std::uint8_t { need_more, done, error };

template <class T>
struct [[nodiscard]] Parsed {
    ParseStatus status = ParseStatus::need_more;
    std::size_t consumed = 0;
    T value{};
    std::string_view error;  // static text, set when status == error

    static Parsed more() { return Parsed{}; }
    static Parsed ok(T value, std::size_t consumed) {
        Parsed p;
        p.status = ParseStatus::done;
        p.consumed = consumed;
        p.value = std::move(value);
        return p;
    }
    static Parsed fail(std::string_view why) {
        Parsed p;
        p.status = ParseStatus::error;
        p.error = why;
        return p;
    }

    bool done() const noexcept { return status == ParseStatus::done; }
    bool need_more() const noexcept { return status == ParseStatus::need_more; }
    bool failed() const noexcept { return status == ParseStatus::error; }
};

}  // namespace sg
