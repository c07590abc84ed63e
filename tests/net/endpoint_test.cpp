#include "net/endpoint.hpp"

#include <gtest/gtest.h>

#include "net/asio_endpoint.hpp"

namespace sg::net {
namespace {

struct GoodCase {
    std::string_view text;
    std::string_view host;
    std::uint16_t port;
};

TEST(HostPort, ParsesValidForms) {
    const GoodCase cases[] = {
        {"127.0.0.1:1080", "127.0.0.1", 1080},     {"[::1]:1080", "::1", 1080},
        {"[2001:2:0:1::2]:0", "2001:2:0:1::2", 0}, {"gw.test:554", "gw.test", 554},
        {"[fe80::1%eth0]:80", "fe80::1%eth0", 80}, {"0.0.0.0:65535", "0.0.0.0", 65535},
    };
    for (const auto& c : cases) {
        const auto hp = parse_host_port(c.text);
        ASSERT_TRUE(hp.ok()) << c.text << ": " << hp.error();
        EXPECT_EQ(hp->host, c.host);
        EXPECT_EQ(hp->port, c.port);
        EXPECT_EQ(to_string(*hp), c.text);
    }
}

TEST(HostPort, RejectsBadForms) {
    const std::string_view cases[] = {
        "",       "1080",      ":1080",        "127.0.0.1:", "127.0.0.1:65536", "::1:1080", "[::1]",
        "[::1]:", "[::1]1080", "[1.2.3.4]:80", "a b:80",     "host:-1",         "[::1:80",  "host:80x",
    };
    for (const auto c : cases)
        EXPECT_FALSE(parse_host_port(c).ok()) << c;
}

TEST(HostPort, ListenersNeedLiteralAddresses) {
    EXPECT_TRUE(to_tcp_endpoint({"::1", 1}).ok());
    EXPECT_TRUE(to_tcp_endpoint({"127.0.0.1", 1}).ok());
    EXPECT_FALSE(to_tcp_endpoint({"localhost", 1}).ok());
}

TEST(HostPort, MappedAddressesPrintAsIpv4) {
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("::ffff:198.18.2.2"), 4000);
    EXPECT_EQ(to_string(ep), "198.18.2.2:4000");
    const asio::ip::tcp::endpoint ep6(asio::ip::make_address("2001:2::1"), 80);
    EXPECT_EQ(to_string(ep6), "[2001:2::1]:80");
}

}  // namespace
}  // namespace sg::net
