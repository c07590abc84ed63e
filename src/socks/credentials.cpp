#include "socks/credentials.hpp"

namespace sg::socks {

Result<std::pair<std::string, std::string>> parse_user_spec(std::string_view spec) {
    const auto colon = spec.find(':');
    if (colon == std::string_view::npos) return fail("user must be given as NAME:PASSWORD");
    const std::string_view user = spec.substr(0, colon);
    const std::string_view password = spec.substr(colon + 1);
    if (user.empty() || user.size() > 255) return fail("user name must be 1..255 bytes (RFC 1929)");
    // RFC 1929 has PLEN >= 1, so no client could ever send an empty password.
    if (password.empty() || password.size() > 255) return fail("password must be 1..255 bytes (RFC 1929)");
    return std::pair<std::string, std::string>{std::string(user), std::string(password)};
}

Result<bool> Credentials::add(std::string_view user, std::string_view password) {
    if (user.empty() || user.size() > k_max_field) return fail("user name must be 1..255 bytes (RFC 1929)");
    if (password.empty() || password.size() > k_max_field) {
        return fail("password must be 1..255 bytes (RFC 1929)");
    }
    for (const auto& a : accounts_) {
        if (difference(a.user, user) == 0) return fail("user given twice");
    }
    accounts_.push_back(Account{make_field(user), make_field(password)});
    return true;
}

Result<bool> Credentials::add_spec(std::string_view spec) {
    const auto parsed = parse_user_spec(spec);
    if (!parsed) return fail(parsed.error());
    return add(parsed->first, parsed->second);
}

Credentials::Field Credentials::make_field(std::string_view s) noexcept {
    Field f;
    f.size = s.size() < k_max_field ? s.size() : k_max_field;
    for (std::size_t i = 0; i < f.size; ++i)
        f.bytes[i] = static_cast<std::uint8_t>(s[i]);
    return f;
}

// Zero when equal. Walks all k_max_field stored bytes with no early exit; the only branch depends on the
// given (client-known) length, never on stored data.
std::size_t Credentials::difference(const Field& stored, std::string_view given) noexcept {
    std::size_t diff = stored.size ^ given.size();
    for (std::size_t i = 0; i < k_max_field; ++i) {
        const auto g = i < given.size() ? static_cast<std::uint8_t>(given[i]) : std::uint8_t{0};
        diff |= static_cast<std::size_t>(stored.bytes[i] ^ g);
    }
    return diff;
}

bool Credentials::verify(std::string_view user, std::string_view password) const noexcept {
    // Every account's name is compared and one password always is (a dummy one for an unknown user), so the
    // work is the same whether the user exists or not. The selection uses masks rather than branches.
    static const Account k_dummy{};
    std::size_t found = 0;  // all ones when some account matched
    std::size_t selected = 0;
    for (std::size_t i = 0; i < accounts_.size(); ++i) {
        const std::size_t diff = difference(accounts_[i].user, user);
        const std::size_t equal = static_cast<std::size_t>(0) - static_cast<std::size_t>(diff == 0);
        selected = (i & equal) | (selected & ~equal);
        found |= equal;
    }
    const Account& account = accounts_.empty() ? k_dummy : accounts_[selected];
    // Volatile stores keep the compiler from skipping the password comparison once it knows `found` is
    // zero, which would make unknown users answer faster.
    volatile std::size_t password_diff = difference(account.password, password);
    volatile std::size_t user_found = found;
    return user_found != 0 && password_diff == 0;
}

}  // namespace sg::socks
