#pragma once
// Username/password accounts for RFC 1929 authentication (section 2: UNAME and PASSWD are 1..255 octets).
// Accounts come from `--user NAME:PASSWORD` strings. verify() takes the same time whatever the password
// and whether or not the user exists, so a client cannot guess either byte by byte from response times.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace sg::socks {

// "NAME:PASSWORD", split at the first ':' (so a password may contain ':'). Both parts must be 1..255 bytes.
Result<std::pair<std::string, std::string>> parse_user_spec(std::string_view spec);

class Credentials {
public:
    // Fails on a name or password outside 1..255 bytes and on a name already present.
    Result<bool> add(std::string_view user, std::string_view password);
    Result<bool> add_spec(std::string_view spec);  // parse_user_spec, then add

    bool empty() const noexcept { return accounts_.empty(); }
    std::size_t size() const noexcept { return accounts_.size(); }

    // Time depends only on the number of accounts, not on which one matches nor on the password.
    bool verify(std::string_view user, std::string_view password) const noexcept;

    // For a reload's report of what changed; not constant-time, never for checking a password.
    bool operator==(const Credentials&) const = default;

private:
    static constexpr std::size_t k_max_field = 255;  // RFC 1929 ULEN / PLEN

    // Fixed-size, zero-padded fields so that comparisons touch the same bytes whatever the lengths.
    struct Field {
        std::array<std::uint8_t, k_max_field> bytes{};
        std::size_t size = 0;
        bool operator==(const Field&) const = default;
    };
    struct Account {
        Field user;
        Field password;
        bool operator==(const Account&) const = default;
    };

    static Field make_field(std::string_view s) noexcept;
    static std::size_t difference(const Field& stored, std::string_view given) noexcept;

    std::vector<Account> accounts_;
};

}  // namespace sg::socks
