#include "mssr/feedback_pacer.hpp"

#include <gtest/gtest.h>

#include "mssr_test_util.hpp"

namespace sg::mssr {
namespace {

using namespace std::chrono_literals;
using test::at_ms;

FeedbackPacerConfig config() {
    FeedbackPacerConfig c;
    c.every_fragments = 4;
    c.quiet = 5ms;
    c.max_delay = 40ms;
    c.idle_interval = 200ms;
    return c;
}

TEST(MssrFeedbackPacer, NothingToSayBeforeAnythingArrives) {
    const FeedbackPacer p(config());
    EXPECT_FALSE(p.due(at_ms(1000), std::nullopt));
    EXPECT_FALSE(p.next_due().has_value());
}

TEST(MssrFeedbackPacer, TheFirstPacketIsAcknowledgedAtOnce) {
    FeedbackPacer p(config());
    p.on_data(at_ms(5));
    EXPECT_TRUE(p.due(at_ms(5), std::nullopt));
}

TEST(MssrFeedbackPacer, AContinuousStreamIsAcknowledgedEveryNFragmentsOrAfterTheMaximumDelay) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0));
    p.on_sent(at_ms(0), false);
    // Three packets 4 ms apart (never quiet for 5 ms): neither the count nor the delay is reached, where the
    // old rule sent a feedback every 10 ms.
    for (int t : {4, 8, 12})
        p.on_data(at_ms(t));
    EXPECT_FALSE(p.due(at_ms(10), std::nullopt));
    EXPECT_FALSE(p.due(at_ms(16), std::nullopt));
    p.on_data(at_ms(16));  // the fourth: at once
    EXPECT_TRUE(p.due(at_ms(16), std::nullopt));
    p.on_sent(at_ms(16), false);
    EXPECT_FALSE(p.due(at_ms(17), std::nullopt));

    FeedbackPacerConfig c = config();
    c.every_fragments = 100;
    FeedbackPacer slow(c);
    slow.on_data(at_ms(0));
    slow.on_sent(at_ms(0), false);
    for (int t = 4; t <= 44; t += 4)
        slow.on_data(at_ms(t));
    EXPECT_FALSE(slow.due(at_ms(43), std::nullopt));
    EXPECT_EQ(slow.next_due(), at_ms(44));  // 40 ms after the first packet not yet acknowledged
    EXPECT_TRUE(slow.due(at_ms(44), std::nullopt));
}

// A window-limited sender sends a burst and waits for its acks: they must not wait for the maximum delay.
TEST(MssrFeedbackPacer, TheEndOfABurstIsAcknowledgedAfterTheQuietTime) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0));
    p.on_sent(at_ms(0), false);
    p.on_data(at_ms(20));
    p.on_data(at_ms(20));
    EXPECT_FALSE(p.due(at_ms(24), std::nullopt));
    EXPECT_EQ(p.next_due(), at_ms(25));
    EXPECT_TRUE(p.due(at_ms(25), std::nullopt));
}

TEST(MssrFeedbackPacer, ADueRequestIsSentAtOnce) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0));
    p.on_sent(at_ms(0), false);
    p.on_data(at_ms(1));
    EXPECT_FALSE(p.due(at_ms(1), std::nullopt));
    EXPECT_FALSE(p.due(at_ms(1), at_ms(3)));  // the gap is still inside the reorder window
    EXPECT_TRUE(p.due(at_ms(3), at_ms(3)));
}

TEST(MssrFeedbackPacer, RequestsAreRepeatedAfterTheMaximumDelayEvenWithoutNewData) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0));
    p.on_sent(at_ms(0), true);  // asked for a retransmission
    EXPECT_FALSE(p.due(at_ms(39), std::nullopt));
    EXPECT_EQ(p.next_due(), at_ms(40));
    EXPECT_TRUE(p.due(at_ms(40), std::nullopt));
    p.on_sent(at_ms(40), false);  // nothing missing any more, nothing new acked: back to the idle keepalive
    EXPECT_EQ(p.next_due(), at_ms(240));
}

// Within a round trip a repeat is useless unless the request itself was lost: while nothing arrives, the
// repeats back off to four times the maximum delay.
TEST(MssrFeedbackPacer, RepeatedRequestsBackOffWhileNothingArrives) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0));
    p.on_sent(at_ms(0), true);
    EXPECT_EQ(p.next_due(), at_ms(40));
    p.on_sent(at_ms(40), true);
    EXPECT_EQ(p.next_due(), at_ms(120));
    p.on_sent(at_ms(120), true);
    EXPECT_EQ(p.next_due(), at_ms(280));
    p.on_sent(at_ms(280), true);
    EXPECT_EQ(p.next_due(), at_ms(440));  // capped at 4 x 40 ms (the idle keepalive is later still)
    // Data arriving again resets the back-off: the requests ride on its feedback.
    p.on_data(at_ms(300));
    p.on_sent(at_ms(300), true);
    EXPECT_EQ(p.next_due(), at_ms(340));
}

// The first repeat comes after the maximum delay (the request may have been lost); the next ones only once
// the repair is overdue: one repair round trip (measured by the receiver) after the first repeat. Before
// that a lost repair could not be asked for again anyway (the sender resends at most once per SRTT).
TEST(MssrFeedbackPacer, LaterRepeatsWaitUntilTheRepairIsOverdue) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0));
    p.on_sent(at_ms(0), true, std::chrono::milliseconds(120));
    EXPECT_EQ(p.next_due(), at_ms(40));
    p.on_sent(at_ms(40), true, std::chrono::milliseconds(120));
    EXPECT_EQ(p.next_due(), at_ms(160));  // 40 + 120, not 40 + 80
    p.on_sent(at_ms(160), true, std::chrono::milliseconds(120));
    EXPECT_EQ(p.next_due(), at_ms(320));  // the back-off (160) is longer now
    // A short round trip leaves the back-off as it is.
    FeedbackPacer q(config());
    q.on_data(at_ms(0));
    q.on_sent(at_ms(0), true, std::chrono::milliseconds(5));
    q.on_sent(at_ms(40), true, std::chrono::milliseconds(5));
    EXPECT_EQ(q.next_due(), at_ms(120));
}

// A lost feedback must not leave a window-limited sender waiting for its retransmission timeout: a sender
// that waits says so with the W bit of its data packets.
TEST(MssrFeedbackPacer, AFeedbackThatAckedAWaitingSenderIsRepeatedOnceWhenNothingFollows) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0), true);
    p.on_sent(at_ms(0), false);
    EXPECT_FALSE(p.due(at_ms(39), std::nullopt));
    EXPECT_TRUE(p.due(at_ms(40), std::nullopt));
    p.on_sent(at_ms(40), false);
    EXPECT_EQ(p.next_due(), at_ms(240));  // once: then the idle keepalive
}

// A sender with room in its window loses nothing by a lost ack: no repeat (half of a 25 fps stream's
// feedback before the W bit).
TEST(MssrFeedbackPacer, AFeedbackThatAckedASenderWithRoomIsNotRepeated) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0));
    p.on_data(at_ms(1), false);
    p.on_sent(at_ms(6), false);
    EXPECT_EQ(p.next_due(), at_ms(206));
    // The W bit of any packet since the last feedback counts.
    p.on_data(at_ms(10), true);
    p.on_data(at_ms(11), false);
    p.on_sent(at_ms(16), false);
    EXPECT_EQ(p.next_due(), at_ms(56));
}

TEST(MssrFeedbackPacer, AnIdleSessionGetsAKeepaliveEveryIdleInterval) {
    FeedbackPacer p(config());
    p.on_data(at_ms(0), true);
    p.on_sent(at_ms(0), false);
    p.on_sent(at_ms(40), false);  // the repeat
    EXPECT_FALSE(p.due(at_ms(239), std::nullopt));
    EXPECT_TRUE(p.due(at_ms(240), std::nullopt));
    p.on_sent(at_ms(240), false);
    EXPECT_EQ(p.next_due(), at_ms(440));
}

}  // namespace
}  // namespace sg::mssr
