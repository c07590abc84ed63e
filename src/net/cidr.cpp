#include "net/cidr.hpp"

#include <array>

#include "common/text.hpp"
#include "net/asio_endpoint.hpp"

namespace sg::net {
namespace {

template <std::size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  unsigned bits) {
    for (std::size_t i = 0; i < N && bits > 0; ++i) {
        const unsigned take = bits >= 8 ? 8 : bits;
        const auto mask = static_cast<unsigned char>(0xff << (8 - take));
        if ((a[i] & mask) != (b[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

template <std::size_t N>
bool host_bits_zero(const std::array<unsigned char, N>& a, unsigned prefix) {
    for (std::size_t bit = prefix; bit < N * 8; ++bit) {
        if (((a[bit / 8] >> (7 - bit % 8)) & 1) != 0) return false;
    }
    return true;
}

}  // namespace

sg::Result<Cidr> Cidr::parse(std::string_view text) {
    std::string_view rest = text;
    const std::string_view addr_text = sg::pop_token(rest, '/');
    asio::error_code ec;
    const auto addr = asio::ip::make_address(std::string(addr_text), ec);
    if (ec) return sg::fail("not an IPv4 or IPv6 address");
    const unsigned max_bits = addr.is_v4() ? 32 : 128;
    unsigned bits = max_bits;
    if (addr_text.size() != text.size()) {
        const auto parsed = sg::parse_uint<unsigned>(rest);
        if (!parsed || *parsed > max_bits) return sg::fail("prefix length out of range");
        bits = *parsed;
    }
    const bool clean = addr.is_v4() ? host_bits_zero(addr.to_v4().to_bytes(), bits)
                                    : host_bits_zero(addr.to_v6().to_bytes(), bits);
    if (!clean) return sg::fail("address has bits set beyond the prefix length");
    Cidr c;
    c.network_ = addr;
    c.prefix_ = bits;
    return c;
}

bool Cidr::contains(const asio::ip::address& candidate) const noexcept {
    const auto addr = unmap(candidate);
    if (addr.is_v4() != network_.is_v4()) return false;
    if (addr.is_v4()) return prefix_equal(addr.to_v4().to_bytes(), network_.to_v4().to_bytes(), prefix_);
    return prefix_equal(addr.to_v6().to_bytes(), network_.to_v6().to_bytes(), prefix_);
}

std::string Cidr::to_string() const {
    return network_.to_string() + "/" + std::to_string(prefix_);
}

bool allow_listed(std::span<const Cidr> allow, const asio::ip::address& addr) noexcept {
    if (allow.empty()) return unmap(addr).is_loopback();
    for (const auto& cidr : allow)
        if (cidr.contains(addr)) return true;
    return false;
}

}  // namespace sg::net
