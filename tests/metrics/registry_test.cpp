#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace sg::metrics {
namespace {

TEST(Registry, EmptyRegistryExposesNothing) {
    const Registry registry;
    EXPECT_EQ(registry.expose(), "");
}

// The format of https://prometheus.io/docs/instrumenting/exposition_formats/ (text format 0.0.4), byte for
// byte: families sorted by name, series in registration order, labels in the order first given, escaping
// of help text (\\ and \n) and label values (\\, \" and \n).
TEST(Registry, ExpositionIsByteExact) {
    Registry registry;
    auto& connect_ok = registry.counter("sg_socks_sessions_total", "SOCKS sessions by command and outcome.",
                                        {{"command", "connect"}, {"outcome", "succeeded"}});
    auto& connect_refused = registry.counter("sg_socks_sessions_total", "ignored: the first help wins",
                                             {{"command", "connect"}, {"outcome", "connection_refused"}});
    auto& active = registry.gauge("sg_socks_sessions_active", "Sessions open now.");
    registry.gauge_callback("sg_admin_uptime_seconds", "Seconds since start.", [] { return 12.5; });
    registry.counter("sg_escape_total", "Help with a backslash \\ and a\nnewline; \"quotes\" stay.",
                     {{"path", "C:\\dir\\\"file\"\nnext"}});
    registry.gauge("sg_plain", "");

    connect_ok.inc();
    connect_ok.inc(41);
    connect_refused.inc(3);
    active.set(7);
    active.dec(2);

    EXPECT_EQ(registry.expose(),
              "# HELP sg_admin_uptime_seconds Seconds since start.\n"
              "# TYPE sg_admin_uptime_seconds gauge\n"
              "sg_admin_uptime_seconds 12.5\n"
              "# HELP sg_escape_total Help with a backslash \\\\ and a\\nnewline; \"quotes\" stay.\n"
              "# TYPE sg_escape_total counter\n"
              "sg_escape_total{path=\"C:\\\\dir\\\\\\\"file\\\"\\nnext\"} 0\n"
              "# TYPE sg_plain gauge\n"
              "sg_plain 0\n"
              "# HELP sg_socks_sessions_active Sessions open now.\n"
              "# TYPE sg_socks_sessions_active gauge\n"
              "sg_socks_sessions_active 5\n"
              "# HELP sg_socks_sessions_total SOCKS sessions by command and outcome.\n"
              "# TYPE sg_socks_sessions_total counter\n"
              "sg_socks_sessions_total{command=\"connect\",outcome=\"succeeded\"} 42\n"
              "sg_socks_sessions_total{command=\"connect\",outcome=\"connection_refused\"} 3\n");
}

TEST(Registry, SameNameAndLabelsGiveTheSameObject) {
    Registry registry;
    auto& a = registry.counter("x_total", "h", {{"a", "1"}, {"b", "2"}});
    auto& b = registry.counter("x_total", "h", {{"b", "2"}, {"a", "1"}});  // a label set has no order
    auto& c = registry.counter("x_total", "h", {{"a", "1"}, {"b", "3"}});
    auto& d = registry.counter("x_total", "h", {{"a", "1"}});
    EXPECT_EQ(&a, &b);
    EXPECT_NE(&a, &c);
    EXPECT_NE(&a, &d);
    auto& g1 = registry.gauge("g", "h");
    auto& g2 = registry.gauge("g", "other help");
    EXPECT_EQ(&g1, &g2);

    // References stay valid however many series are added later.
    for (int i = 0; i < 200; ++i)
        registry.counter("x_total", "h", {{"a", std::to_string(i)}, {"b", "x"}});
    a.inc(5);
    EXPECT_EQ(registry.counter("x_total", "h", {{"b", "2"}, {"a", "1"}}).value(), 5u);
    // First given order is kept in the output.
    EXPECT_NE(registry.expose().find("x_total{a=\"1\",b=\"2\"} 5\n"), std::string::npos);
}

TEST(Registry, SampleValues) {
    struct Case {
        double value;
        std::string text;
    };
    const std::vector<Case> cases = {
        {0, "0"},
        {-0.0, "0"},
        {1000000, "1000000"},
        {-3, "-3"},
        {0.1, "0.1"},
        {1.5e-7, "1.5e-07"},
        {9007199254740992.0, "9007199254740992"},
        {1e300, "1e+300"},
        {std::numeric_limits<double>::infinity(), "+Inf"},
        {-std::numeric_limits<double>::infinity(), "-Inf"},
        {std::numeric_limits<double>::quiet_NaN(), "NaN"},
    };
    for (const auto& c : cases) {
        std::string out;
        append_value(out, c.value);
        EXPECT_EQ(out, c.text) << c.value;
    }
}

TEST(Registry, CountersAreExactPastTwoToTheFiftyThree) {
    Registry registry;
    auto& big = registry.counter("bytes_total", "");
    big.inc(std::numeric_limits<std::uint64_t>::max() - 1);
    EXPECT_EQ(registry.expose(), "# TYPE bytes_total counter\nbytes_total 18446744073709551614\n");
}

TEST(Registry, CallbacksRunAtScrapeTimeAndCanBeReplaced) {
    Registry registry;
    double value = 1;
    registry.gauge_callback("live", "", [&value] { return value; }, {{"kind", "a"}});
    registry.counter_callback("done_total", "", [] { return 7.0; });
    EXPECT_EQ(registry.expose(),
              "# TYPE done_total counter\ndone_total 7\n# TYPE live gauge\nlive{kind=\"a\"} 1\n");
    value = 2.25;
    registry.gauge_callback("live", "", [] { return -1.0; }, {{"kind", "b"}});
    EXPECT_EQ(registry.expose(),
              "# TYPE done_total counter\ndone_total 7\n# TYPE live gauge\nlive{kind=\"a\"} "
              "2.25\nlive{kind=\"b\"} -1\n");
    registry.gauge_callback("live", "", [] { return 3.0; }, {{"kind", "a"}});
    EXPECT_NE(registry.expose().find("live{kind=\"a\"} 3\n"), std::string::npos);
    registry.gauge_callback("nothing", "", nullptr);  // an empty function registers nothing
    EXPECT_EQ(registry.expose().find("nothing"), std::string::npos);
}

TEST(Registry, NameRules) {
    for (const std::string_view ok : {"a", "_a", ":a", "sg_socks:rate5m", "A9_:"})
        EXPECT_TRUE(Registry::valid_metric_name(ok)) << ok;
    for (const std::string_view bad : {"", "9a", "a-b", "a b", "a.b", "\xc3\xa9"})
        EXPECT_FALSE(Registry::valid_metric_name(bad)) << bad;
    for (const std::string_view ok : {"a", "_a", "command", "A9_"})
        EXPECT_TRUE(Registry::valid_label_name(ok)) << ok;
    for (const std::string_view bad : {"", "9a", "a:b", "__name__", "__x", "a-b"})
        EXPECT_FALSE(Registry::valid_label_name(bad)) << bad;
}

// With OnError::record a programming error hands out a working metric that is never exposed.
TEST(Registry, RecordedErrorsKeepTheRegistryUsable) {
    Registry registry(Registry::OnError::record);
    registry.counter("ok_total", "");
    auto& wrong_type = registry.gauge("ok_total", "");
    wrong_type.set(5);
    EXPECT_EQ(wrong_type.value(), 5);
    EXPECT_EQ(registry.registration_error(), "ok_total: already registered with another type");
    registry.counter("bad-name", "").inc();
    registry.counter("x_total", "", {{"__reserved", "v"}}).inc();
    registry.counter("x_total", "", {{"a", "1"}, {"a", "2"}}).inc();
    registry.gauge("cb", "");
    registry.gauge_callback("cb", "", [] { return 1.0; });
    EXPECT_EQ(registry.registration_error(), "ok_total: already registered with another type");  // the first
    EXPECT_EQ(registry.expose(), "# TYPE cb gauge\ncb 0\n# TYPE ok_total counter\nok_total 0\n");
}

TEST(RegistryDeathTest, AbortsOnProgrammingErrors) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            Registry registry(Registry::OnError::abort);
            registry.counter("a", "");
            registry.gauge("a", "");
        },
        "a: already registered with another type");
    EXPECT_DEATH(
        {
            Registry registry(Registry::OnError::abort);
            registry.gauge("a", "", {{"le-", "x"}});
        },
        "invalid label name");
}

// Updates from one thread while another scrapes and registers: run under TSan/ASan this must stay clean,
// and the final value must be exact.
TEST(Registry, ConcurrentUpdatesAndScrapes) {
    Registry registry;
    auto& counter = registry.counter("events_total", "");
    auto& gauge = registry.gauge("level", "");
    constexpr int k_iterations = 20000;
    std::thread updater([&] {
        for (int i = 0; i < k_iterations; ++i) {
            counter.inc();
            gauge.inc(1);
        }
    });
    std::thread registrar([&] {
        for (int i = 0; i < 100; ++i)
            registry.counter("other_total", "", {{"i", std::to_string(i)}}).inc();
    });
    for (int i = 0; i < 50; ++i)
        EXPECT_FALSE(registry.expose().empty());
    updater.join();
    registrar.join();
    EXPECT_EQ(counter.value(), static_cast<std::uint64_t>(k_iterations));
    EXPECT_EQ(gauge.value(), k_iterations);
    const std::string text = registry.expose();
    EXPECT_NE(text.find("\nevents_total 20000\n"), std::string::npos);
    EXPECT_NE(text.find("\nlevel 20000\n"), std::string::npos);
    EXPECT_NE(text.find("\nother_total{i=\"99\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace sg::metrics
