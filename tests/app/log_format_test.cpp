#include "app/log_format.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace sg::app {
namespace {

TEST(EventLine, FieldsBecomeKeysAndNumbersStayNumbers) {
    const auto fields = parse_event_line(
        "session-end client=127.0.0.1:5000 user=- cmd=connect target=[::1]:80 rep=succeeded up=120 down=4096 "
        "duration=1.250s end=\"closed by client\"");
    ASSERT_TRUE(fields);
    EXPECT_EQ(fields->dump(),
              R"({"event":"session-end","client":"127.0.0.1:5000","user":"-","cmd":"connect",)"
              R"("target":"[::1]:80","rep":"succeeded","up":120,"down":4096,"duration":"1.250s",)"
              R"("end":"closed by client"})");
}

TEST(EventLine, ProseIsNotAnEvent) {
    for (const char* line :
         {"SIGHUP: configuration reloaded (3 sessions running)", "session-end", "relay: call abc ended",
          "session-end up=1 up=2", "ev key=\"open", "ev key=\"a\"b", "Ev a=1", "ev A=1", ""}) {
        EXPECT_FALSE(parse_event_line(line)) << line;
    }
}

TEST(JsonLogFormatter, OneObjectPerLineWithTimeLevelAndMessage) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("test", sink);
    logger.set_formatter(std::make_unique<JsonLogFormatter>());
    logger.info(
        "turn-allocation-end user=alice relayed=198.18.3.1:50000 to_peer_bytes=10 reason=\"expired\"");
    logger.warn("peer sent \"quotes\" and \xff bytes");
    std::istringstream lines(out.str());
    std::string first;
    std::string second;
    ASSERT_TRUE(std::getline(lines, first));
    ASSERT_TRUE(std::getline(lines, second));

    const auto event = nlohmann::json::parse(first);
    EXPECT_EQ(event["level"], "info");
    EXPECT_EQ(event["event"], "turn-allocation-end");
    EXPECT_EQ(event["user"], "alice");
    EXPECT_EQ(event["to_peer_bytes"], 10);
    EXPECT_EQ(event["reason"], "expired");
    EXPECT_EQ(event["time"].get<std::string>().size(), std::string("2026-12-05T11:00:00.000Z").size());
    EXPECT_EQ(event["time"].get<std::string>().back(), 'Z');

    const auto prose = nlohmann::json::parse(second);  // valid JSON even with bytes that are not UTF-8
    EXPECT_EQ(prose["level"], "warning");
    EXPECT_FALSE(prose.contains("event"));
    EXPECT_EQ(prose["msg"], "peer sent \"quotes\" and \xef\xbf\xbd bytes");
}

}  // namespace
}  // namespace sg::app
