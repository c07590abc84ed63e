#pragma once
// Error handling for protocol code. We do not use std::expected: the fuzz build compiles with clang 14,
// which cannot compile libstdc++ 12's <expected>. Errors carry a static description (a string literal),
// so a Result never allocates for its error and can be returned on per-packet paths.

#include <optional>
#include <string_view>
#include <utility>

namespace sg {

struct Error {
    std::string_view what;  // must point at static storage (a string literal)
};

constexpr Error fail(std::string_view what) noexcept {
    return Error{what};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor): return sugar
    Result(Error error) : error_(error.what) {}    // NOLINT(google-explicit-constructor)

    bool ok() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }

    // Like std::optional's operator*, access is unchecked: callers test ok() first.
    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    T& operator*() & { return *value_; }
    const T& operator*() const& { return *value_; }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }

    std::string_view error() const noexcept { return error_; }

private:
    std::optional<T> value_;
    std::string_view error_;
};

}  // namespace sg
