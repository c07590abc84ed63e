// Sender -> simulated lossy link -> receiver -> feedback -> sender, on a virtual clock stepped 1 ms at a
// time. Everything is deterministic (a fixed-seed generator, no wall clock), so these are not timed tests.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

#include "mssr/feedback_pacer.hpp"
#include "mssr/live_window.hpp"
#include "mssr/reassembler.hpp"
#include "mssr/sender.hpp"
#include "mssr_test_util.hpp"

namespace sg::mssr {
namespace {

using namespace std::chrono_literals;
using test::at_ms;

// xorshift64*: the same sequence on every platform (std distributions are implementation-defined).
class Random {
public:
    explicit Random(std::uint64_t seed) : state_(seed | 1) {}
    double next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return static_cast<double>((state_ * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
    }

private:
    std::uint64_t state_;
};

struct LinkConfig {
    std::chrono::milliseconds delay{20};
    double loss = 0.0;             // random share dropped
    std::uint64_t drop_every = 0;  // and/or every Nth packet
    double reorder = 0.0;          // share of packets held back by reorder_extra
    std::chrono::milliseconds reorder_extra{3};
    std::uint64_t seed = 1;
    // A bottleneck before the delay (0: none): datagrams leave one after another at this rate, and one that
    // would find more than queue_bytes waiting is dropped (a drop-tail queue, like tc's TBF).
    std::uint32_t rate_kbps = 0;
    std::size_t queue_bytes = 0;
};

// One direction of a path: drops, delays and reorders whole datagrams.
class Link {
public:
    explicit Link(LinkConfig config) : config_(config), random_(config.seed) {}

    void send(TimePoint now, const std::vector<std::uint8_t>& datagram) {
        ++sent_;
        if (config_.drop_every != 0 && sent_ % config_.drop_every == 0) return;
        if (random_.next() < config_.loss) return;
        TimePoint arrival = now + config_.delay;
        if (config_.rate_kbps != 0) {
            // Octets still waiting at `now`: the time the queue needs to drain, at the rate.
            const auto backlog =
                busy_until_ > now ? std::chrono::duration_cast<std::chrono::microseconds>(busy_until_ - now)
                                  : std::chrono::microseconds(0);
            const auto waiting = static_cast<std::size_t>(backlog.count()) * config_.rate_kbps / 8000;
            if (waiting + datagram.size() > config_.queue_bytes) {
                ++queue_drops_;
                return;
            }
            busy_until_ = std::max(busy_until_, now) +
                          std::chrono::microseconds(datagram.size() * 8000 / config_.rate_kbps);
            arrival = busy_until_ + config_.delay;
        }
        if (random_.next() < config_.reorder) arrival += config_.reorder_extra;
        queue_.emplace(arrival, datagram);
    }
    std::vector<std::vector<std::uint8_t>> arrivals(TimePoint now) {
        std::vector<std::vector<std::uint8_t>> out;
        while (!queue_.empty() && queue_.begin()->first <= now) {
            out.push_back(std::move(queue_.begin()->second));
            queue_.erase(queue_.begin());
        }
        return out;
    }
    std::uint64_t sent() const { return sent_; }
    std::uint64_t queue_drops() const { return queue_drops_; }

private:
    LinkConfig config_;
    Random random_;
    std::multimap<TimePoint, std::vector<std::uint8_t>> queue_;
    std::uint64_t sent_ = 0;
    TimePoint busy_until_{};
    std::uint64_t queue_drops_ = 0;
};

struct Scenario {
    LinkConfig forward;
    LinkConfig backward;
    std::chrono::milliseconds latency{300};
    std::chrono::milliseconds reorder_window{5};
    int seconds = 20;
    // 25 fps, GOP 25, plus 50 audio frames a second: about 0.3 Mbit/s, which plain NewReno sustains at
    // 5 % random loss and a 40 ms RTT (Mathis: about 0.4 Mbit/s); loss_tolerance lets more through.
    std::size_t key_size = 8000;
    std::size_t p_size = 1200;
    double loss_tolerance = 0.0;
    std::uint32_t stream_kbps = 0;  // the live mode's floor (live_window.hpp); 0: plain NewReno
    LatePolicy late = LatePolicy::drop;
    bool first_fragment_copies = true;  // SenderConfig::copy_unrepairable_first_fragment
    bool parity = false;                // SenderConfig::parity_when_unrepairable
    std::size_t key_parity_group = 0;   // SenderConfig and ReassemblerConfig::key_parity_group
    bool cauchy_parity = false;         // SenderConfig and ReassemblerConfig::cauchy_parity
    bool adaptive_parity = false;       // header version 3 on both ends: the parity count per ADU
    double parity_residual = 0.1;       // SenderConfig::parity_residual (its key ADUs: a tenth)
    bool pacing = false;                // SenderConfig::pacing
};

struct Outcome {
    int frames = 0;
    int key_frames = 0;
    int complete = 0;
    int key_complete = 0;
    int audio = 0;
    int audio_complete = 0;
    int content_errors = 0;
    int feedbacks = 0;
    int video_headed = 0;  // video ADUs delivered with their first fragment: what a decoder can use at all
    std::uint64_t queue_drops = 0;  // at the forward link's bottleneck
    std::uint64_t loss_events = 0;  // window reductions
    std::size_t max_window = 0;     // the congestion window's largest value after the first 2 s
    SenderStats sender;
    StreamStats video;
};

Outcome run(const Scenario& sc) {
    SenderConfig sc_config;
    const StreamPolicy policy{sc.latency, RetransmitMode::by_value, sc.late};
    sc_config.streams = {SenderStreamConfig{0x1000, policy}, SenderStreamConfig{0x2000, policy}};
    sc_config.congestion.loss_tolerance = sc.loss_tolerance;
    sc_config.congestion = live_congestion(sc_config.congestion, sc.stream_kbps, sc.latency, sc_config.mss);
    sc_config.live_rate_kbps = sc.stream_kbps;
    sc_config.copy_unrepairable_first_fragment = sc.first_fragment_copies;
    sc_config.parity_when_unrepairable = sc.parity;
    sc_config.key_parity_group = sc.key_parity_group;
    sc_config.cauchy_parity = sc.cauchy_parity;
    const std::uint8_t version = sc.adaptive_parity ? k_version_parity_count : k_version;
    sc_config.header_version = version;
    sc_config.parity_residual = sc.parity_residual;
    sc_config.parity_residual_key = sc.parity_residual / 10;
    sc_config.pacing = sc.pacing;
    Sender sender(sc_config);
    ReassemblerConfig rc;
    rc.streams = {policy, policy};
    rc.reorder_window = sc.reorder_window;
    rc.key_parity_group = sc.key_parity_group;
    rc.cauchy_parity = sc.cauchy_parity;
    rc.header_version = version;
    Reassembler receiver(rc);
    FeedbackPacer pacer;
    Link forward(sc.forward);
    Link backward(sc.backward);

    Outcome out;
    std::vector<std::uint8_t> buffer;
    const int end_ms = sc.seconds * 1000;
    for (int t = 0; t < end_ms + 2000; ++t) {
        const TimePoint now = at_ms(t);
        if (t < end_ms && t % 40 == 0) {
            const bool key = out.frames % 25 == 0;
            Adu frame;
            frame.priority = key ? Priority::key : Priority::reference;
            frame.rtp_timestamp = static_cast<std::uint32_t>(t * 90);
            frame.data =
                test::adu_bytes(key ? sc.key_size : sc.p_size, static_cast<std::uint8_t>(out.frames));
            EXPECT_TRUE(sender.submit(now, std::move(frame)).ok());
            ++out.frames;
            out.key_frames += key ? 1 : 0;
        }
        if (t < end_ms && t % 20 == 0) {
            Adu audio;
            audio.stream = 1;
            audio.priority = Priority::reference;
            audio.data = test::adu_bytes(160, static_cast<std::uint8_t>(out.audio));
            EXPECT_TRUE(sender.submit(now, std::move(audio)).ok());
            ++out.audio;
        }
        buffer.clear();
        while (sender.next_packet(now, buffer)) {
            forward.send(now, buffer);
            buffer.clear();
        }
        for (const auto& datagram : forward.arrivals(now)) {
            receiver.on_packet(now, datagram);
            pacer.on_data(now, receiver.last_wants_feedback());
        }
        receiver.poll(now);
        if (pacer.due(now, receiver.request_due())) {  // as mssr::Socket paces it
            const Feedback f = receiver.make_feedback(now);
            pacer.on_sent(now, !f.nacks.empty(), receiver.repair_round_trip());
            ++out.feedbacks;
            std::vector<std::uint8_t> feedback;
            EXPECT_TRUE(append_feedback_datagram(feedback, f).ok());
            backward.send(now, feedback);
        }
        for (const auto& datagram : backward.arrivals(now)) {
            const auto view = parse_feedback_datagram(datagram);
            EXPECT_TRUE(view.ok());
            if (view) sender.on_feedback(now, *view);
        }
        if (std::getenv("MSSR_SIM_TRACE") != nullptr && t % 250 == 0) {
            std::printf(
                "t %d cwnd %zu inflight %zu srtt %lld loss events %llu gap %llu fast %llu drops %llu\n", t,
                sender.congestion().window(), sender.in_flight(),
                static_cast<long long>(sender.rtt().srtt().count()),
                static_cast<unsigned long long>(sender.congestion().loss_events()),
                static_cast<unsigned long long>(sender.stats().gap_losses),
                static_cast<unsigned long long>(sender.stats().fast_retransmits),
                static_cast<unsigned long long>(forward.queue_drops()));
        }
        if (t >= 2000) out.max_window = std::max(out.max_window, sender.congestion().window());
        for (const Delivery& d : receiver.take_deliveries()) {
            if (d.stream == 0 &&
                (d.outcome == Delivery::Outcome::complete ||
                 (d.outcome == Delivery::Outcome::partial && !d.received.empty() && d.received[0]))) {
                ++out.video_headed;
            }
            if (d.outcome != Delivery::Outcome::complete) continue;
            if (d.stream == 1) {
                ++out.audio_complete;
                if (d.data != test::adu_bytes(160, static_cast<std::uint8_t>(d.stream_sequence)))
                    ++out.content_errors;
                continue;
            }
            ++out.complete;
            const bool key = d.stream_sequence % 25 == 0;
            out.key_complete += key ? 1 : 0;
            if (d.data != test::adu_bytes(key ? sc.key_size : sc.p_size,
                                          static_cast<std::uint8_t>(d.stream_sequence))) {
                ++out.content_errors;
            }
        }
    }
    out.sender = sender.stats();
    out.video = receiver.stream_stats(0);
    out.queue_drops = forward.queue_drops();
    out.loss_events = sender.congestion().loss_events();
    EXPECT_EQ(receiver.memory_used(), 0u) << "everything was delivered or given up";
    if (std::getenv("MSSR_SIM_TRACE") != nullptr) {
        std::printf(
            "frames %d/%d key %d/%d audio %d/%d sent %llu rtx %llu fast %llu rto %llu unsent %llu "
            "unrepaired %llu tlp %llu copies %llu headed %d cwnd %zu srtt %lld us, loss events %llu, "
            "feedbacks %d, acked late %llu, gap losses %llu, bottleneck drops %llu, max cwnd %zu\n",
            out.complete, out.frames, out.key_complete, out.key_frames, out.audio_complete, out.audio,
            static_cast<unsigned long long>(out.sender.fragments_sent),
            static_cast<unsigned long long>(out.sender.retransmissions),
            static_cast<unsigned long long>(out.sender.fast_retransmits),
            static_cast<unsigned long long>(out.sender.timeouts),
            static_cast<unsigned long long>(out.sender.dropped_unsent),
            static_cast<unsigned long long>(out.sender.dropped_unrepaired),
            static_cast<unsigned long long>(out.sender.tail_probes),
            static_cast<unsigned long long>(out.sender.first_fragment_copies), out.video_headed,
            sender.congestion().window(), static_cast<long long>(sender.rtt().srtt().count()),
            static_cast<unsigned long long>(sender.congestion().loss_events()), out.feedbacks,
            static_cast<unsigned long long>(out.sender.acked_late),
            static_cast<unsigned long long>(out.sender.gap_losses),
            static_cast<unsigned long long>(out.queue_drops), out.max_window);
    }
    return out;
}

TEST(MssrLoopback, NoLossMeansNoRetransmissions) {
    const Outcome o = run(Scenario{});
    EXPECT_EQ(o.complete, o.frames);
    EXPECT_EQ(o.audio_complete, o.audio);
    EXPECT_EQ(o.sender.retransmissions, 0u);
    EXPECT_EQ(o.sender.timeouts, 0u);
    EXPECT_EQ(o.content_errors, 0);
}

TEST(MssrLoopback, ReorderingWithinTheWindowIsNotLoss) {
    Scenario sc;
    sc.forward.reorder = 0.1;  // one packet in ten is 3 ms late; the receiver waits 5 ms before asking
    const Outcome o = run(sc);
    EXPECT_EQ(o.complete, o.frames);
    EXPECT_EQ(o.sender.retransmissions, 0u);
}

TEST(MssrLoopback, FivePercentLossKeepsEveryKeyFrame) {
    Scenario sc;
    sc.forward.loss = 0.05;
    sc.backward.loss = 0.05;
    sc.backward.seed = 2;
    const Outcome o = run(sc);
    EXPECT_EQ(o.key_complete, o.key_frames);
    EXPECT_GT(o.sender.retransmissions, 0u);
    EXPECT_GT(o.complete, o.frames * 95 / 100);
    EXPECT_EQ(o.content_errors, 0);
}

TEST(MssrLoopback, EveryTwentiethPacketDroppedKeepsEveryKeyFrame) {
    Scenario sc;
    sc.forward.drop_every = 20;
    const Outcome o = run(sc);
    EXPECT_EQ(o.key_complete, o.key_frames);
    EXPECT_EQ(o.content_errors, 0);
}

TEST(MssrLoopback, LossToleranceCarriesAHigherRateAtFivePercent) {
    Scenario sc;
    sc.forward.loss = 0.05;
    sc.key_size = 20000;  // about 0.8 Mbit/s
    sc.p_size = 3000;
    Outcome plain = run(sc);
    sc.loss_tolerance = 0.1;
    const Outcome tolerant = run(sc);
    EXPECT_LT(plain.key_complete, plain.key_frames);  // NewReno's window cannot carry this at 5 % loss
    EXPECT_EQ(tolerant.key_complete, tolerant.key_frames);
    EXPECT_GT(tolerant.complete, plain.complete);
}

TEST(MssrLoopback, LiveFloorCarriesThreeMegabitsAtFivePercentWithin120ms) {
    // About 3 Mbit/s (60 kB key frames, 12 kB others), 5 % loss both ways, 40 ms RTT, a 120 ms budget: the
    // bench's point where NewReno's window collapses and the live mode has to hold.
    Scenario sc;
    sc.forward.loss = 0.05;
    sc.backward.loss = 0.05;
    sc.latency = 120ms;
    sc.key_size = 60000;
    sc.p_size = 12000;
    sc.seconds = 10;
    const Outcome plain = run(sc);
    sc.stream_kbps = 4500;
    const Outcome live = run(sc);
    EXPECT_LT(plain.key_complete, plain.key_frames);
    EXPECT_GT(plain.sender.dropped_unsent, 0u);  // the window, not the path, is what lost them
    EXPECT_EQ(live.key_complete, live.key_frames);
    EXPECT_EQ(live.sender.dropped_unsent, 0u);
    EXPECT_GE(live.complete, live.frames - 2);
    EXPECT_EQ(live.content_errors, 0);
}

TEST(MssrLoopback, LiveModeKeepsFirstTransmissionsFlowingWhenTheRttExceedsTheBudget) {
    // RTT 200 ms, budget 120 ms, 5 % loss: nothing can be repaired in time, but every fragment must still go
    // out once, as plain UDP would send it. Fragments wait an RTT for their acks, so a floor of one budget
    // alone (live_congestion) would stall the sender once losses hold the window at that floor.
    Scenario sc;
    sc.forward.delay = 100ms;
    sc.backward.delay = 100ms;
    sc.forward.loss = 0.05;
    sc.backward.loss = 0.05;
    sc.latency = 120ms;
    sc.key_size = 60000;
    sc.p_size = 12000;
    sc.seconds = 10;
    sc.stream_kbps = 4500;
    const Outcome live = run(sc);
    EXPECT_EQ(live.sender.dropped_unsent, 0u);   // every fragment went out once
    EXPECT_EQ(live.sender.retransmissions, 0u);  // and none again: no repair could arrive in time
    EXPECT_GT(live.complete, 0);
}

TEST(MssrLoopback, BudgetBelowTheRttDropsInsteadOfRepairing) {
    Scenario sc;
    sc.forward.delay = 50ms;  // RTT 100 ms
    sc.backward.delay = 50ms;
    sc.forward.loss = 0.05;
    sc.latency = 40ms;
    const Outcome o = run(sc);
    EXPECT_GT(o.sender.dropped_unrepaired + o.sender.dropped_unsent, 0u);
    EXPECT_EQ(o.sender.retransmissions, 0u);  // no repair could arrive in time, so none was sent
    EXPECT_LT(o.key_complete, o.key_frames);
    EXPECT_GT(o.complete, 0);
}

// The bench's tight point: 3 Mbit/s, 5 % loss both ways, RTT 42 ms, a 40 ms budget, frames written in part.
// No request can be answered in time.
Scenario tight_budget() {
    Scenario sc;
    sc.forward.delay = 21ms;
    sc.backward.delay = 21ms;
    sc.forward.loss = 0.05;
    sc.backward.loss = 0.05;
    sc.backward.seed = 2;
    sc.latency = 40ms;
    sc.key_size = 36000;  // the bench clip's key frames are 35-41 kB, the others 15-24 kB
    sc.p_size = 12000;
    sc.seconds = 10;
    sc.stream_kbps = 4500;
    sc.late = LatePolicy::partial;
    return sc;
}

TEST(MssrLoopback, ABudgetBelowTheRttStillKeepsTheFirstFragmentOfNearlyEveryFrame) {
    // Without copies a frame's first fragment (its picture headers) is lost as often as any datagram, exactly
    // as over plain UDP. With them both copies must go.
    Scenario sc = tight_budget();
    sc.first_fragment_copies = false;
    const Outcome plain = run(sc);
    sc.first_fragment_copies = true;
    const Outcome copied = run(sc);
    EXPECT_EQ(plain.sender.first_fragment_copies, 0u);
    EXPECT_EQ(plain.sender.retransmissions, 0u);
    EXPECT_EQ(copied.sender.retransmissions, 0u);  // still no repair: the copies are not retransmissions
    EXPECT_EQ(plain.sender.dropped_unsent, 0u);    // every fragment goes out at least once, as over UDP
    EXPECT_EQ(copied.sender.dropped_unsent, 0u);
    EXPECT_GE(copied.sender.first_fragment_copies, static_cast<std::uint64_t>(copied.frames - 2));
    EXPECT_LT(plain.video_headed, plain.frames - 5);  // about 5 % of the frames lose their head
    EXPECT_GE(copied.video_headed, copied.frames - 2);
}

// The same tight point with parity fragments: one more datagram per frame, as with the copies, but it
// rebuilds any one lost fragment, so that far more frames arrive whole; a frame loses its head only when its
// first fragment and another one are lost.
TEST(MssrLoopback, ABudgetBelowTheRttWithParityDeliversMostFramesWhole) {
    Scenario sc = tight_budget();
    const Outcome copied = run(sc);
    sc.parity = true;
    const Outcome parity = run(sc);
    if (std::getenv("MSSR_SIM_TRACE") != nullptr) {
        std::printf("copies: %d/%d whole, %d headed; parity: %d/%d whole, %d headed, %llu parity fragments\n",
                    copied.complete, copied.frames, copied.video_headed, parity.complete, parity.frames,
                    parity.video_headed, static_cast<unsigned long long>(parity.sender.parity_fragments));
    }
    EXPECT_GE(parity.sender.parity_fragments, static_cast<std::uint64_t>(parity.frames - 2));
    EXPECT_LE(parity.sender.first_fragment_copies, static_cast<std::uint64_t>(parity.key_frames));
    EXPECT_EQ(parity.sender.retransmissions, 0u);
    EXPECT_EQ(parity.sender.dropped_unsent, 0u);
    EXPECT_EQ(parity.content_errors, 0);  // every rebuilt fragment is the one that was lost
    EXPECT_GE(parity.complete, copied.complete * 3 / 2);
}

// Key frames are long (36 kB: 69 fragments here), so at 5 % loss nearly every one loses two or more, which
// one parity fragment cannot rebuild. With a parity fragment per 8 of its fragments most arrive whole, for
// 8 datagrams more per key frame (one a second).
TEST(MssrLoopback, ParityGroupsDeliverMostKeyFramesWholeAtABudgetBelowTheRtt) {
    Scenario sc = tight_budget();
    sc.seconds = 20;
    sc.parity = true;
    const Outcome single = run(sc);
    sc.key_parity_group = 8;
    const Outcome grouped = run(sc);
    if (std::getenv("MSSR_SIM_TRACE") != nullptr) {
        std::printf(
            "one parity: %d/%d key frames whole, %d/%d frames; groups of 8: %d/%d, %d/%d, %llu parity\n",
            single.key_complete, single.key_frames, single.complete, single.frames, grouped.key_complete,
            grouped.key_frames, grouped.complete, grouped.frames,
            static_cast<unsigned long long>(grouped.sender.parity_fragments));
    }
    EXPECT_EQ(grouped.content_errors, 0);
    EXPECT_EQ(grouped.sender.retransmissions, 0u);
    // 9 parity fragments per protected key frame instead of one (each also has its first fragment's copy; the
    // first key frame, sent before any RTT sample, has neither); the delta frames keep theirs.
    EXPECT_EQ(grouped.sender.parity_fragments - single.sender.parity_fragments,
              8 * grouped.sender.first_fragment_copies);
    EXPECT_LE(single.key_complete, grouped.key_frames / 4);
    EXPECT_GE(grouped.key_complete, grouped.key_frames / 2);
    EXPECT_GE(grouped.complete, single.complete);
}

// The same key frames' parity fragments in the Cauchy code: as many datagrams, but any 9 of them rebuild any
// 9 lost fragments, where each XOR group's rebuilds one of its own 8 and a second loss there breaks the
// frame.
TEST(MssrLoopback, CauchyParityDeliversMoreKeyFramesWholeThanXorGroupsForTheSameDatagrams) {
    for (const double loss : {0.05, 0.10}) {
        Scenario sc = tight_budget();
        sc.seconds = 20;
        sc.forward.loss = loss;
        sc.backward.loss = loss;
        sc.parity = true;
        sc.key_parity_group = 8;
        const Outcome groups = run(sc);
        sc.cauchy_parity = true;
        const Outcome cauchy = run(sc);
        if (std::getenv("MSSR_SIM_TRACE") != nullptr) {
            std::printf(
                "loss %.2f: xor groups %d/%d key frames whole, %d/%d frames; cauchy %d/%d, %d/%d; "
                "parity fragments %llu / %llu\n",
                loss, groups.key_complete, groups.key_frames, groups.complete, groups.frames,
                cauchy.key_complete, cauchy.key_frames, cauchy.complete, cauchy.frames,
                static_cast<unsigned long long>(groups.sender.parity_fragments),
                static_cast<unsigned long long>(cauchy.sender.parity_fragments));
        }
        EXPECT_EQ(cauchy.content_errors, 0);  // every rebuilt fragment is the one that was lost
        EXPECT_EQ(cauchy.sender.parity_fragments, groups.sender.parity_fragments);
        EXPECT_GT(cauchy.key_complete, groups.key_complete);
        EXPECT_GE(cauchy.key_complete, cauchy.key_frames * 2 / 3);
        EXPECT_GE(cauchy.complete, groups.complete);
    }
}

// The parity count chosen per ADU from the measured loss (header version 3, parity_plan.hpp) against the
// fixed rule (one parity fragment per delta frame, one per 8 fragments of a key frame), both in the Cauchy
// code. Where the path loses much, the delta frames' one parity fragment leaves many of them broken, and
// the adaptive count spends more to keep them whole; where it loses little, a key frame's 9 parity
// fragments are mostly waste, and the adaptive count sends fewer.
TEST(MssrLoopback, AParityCountFromTheMeasuredLossKeepsMoreFramesWholeAtHighLossAndCostsLessAtLowLoss) {
    Scenario sc = tight_budget();
    sc.seconds = 20;
    sc.parity = true;
    sc.key_parity_group = 8;
    sc.cauchy_parity = true;
    const auto trace = [](double loss, const Outcome& fixed, const Outcome& adaptive) {
        if (std::getenv("MSSR_SIM_TRACE") == nullptr) return;
        std::printf(
            "loss %.2f: fixed %d/%d frames whole (%d/%d key), %llu parity; adaptive %d/%d (%d/%d key), %llu "
            "parity\n",
            loss, fixed.complete, fixed.frames, fixed.key_complete, fixed.key_frames,
            static_cast<unsigned long long>(fixed.sender.parity_fragments), adaptive.complete,
            adaptive.frames, adaptive.key_complete, adaptive.key_frames,
            static_cast<unsigned long long>(adaptive.sender.parity_fragments));
    };
    for (const double loss : {0.10, 0.01}) {
        sc.forward.loss = loss;
        sc.backward.loss = loss;
        sc.adaptive_parity = false;
        const Outcome fixed = run(sc);
        sc.adaptive_parity = true;
        const Outcome adaptive = run(sc);
        trace(loss, fixed, adaptive);
        EXPECT_EQ(adaptive.content_errors, 0);  // every rebuilt fragment is the one that was lost
        EXPECT_EQ(fixed.sender.parity_adus, adaptive.sender.parity_adus);  // the same ADUs protected
        if (loss > 0.05) {
            EXPECT_GT(adaptive.sender.parity_fragments, fixed.sender.parity_fragments);
            EXPECT_GE(adaptive.complete, fixed.complete + fixed.frames / 10);
            EXPECT_GE(adaptive.key_complete, fixed.key_complete);
        } else {
            EXPECT_LT(adaptive.sender.parity_fragments, fixed.sender.parity_fragments);
            EXPECT_GE(adaptive.complete, fixed.frames * 95 / 100);
        }
    }
}

// The TCP-friendliness bench's path in small: a stream of about 6.2 Mbit/s (100 kB key frames, 28 kB others)
// into a 4 Mbit/s bottleneck (its fair share of 8) with a 40 kB drop-tail queue (80 ms), 40 ms base RTT, a
// 120 ms budget, frames written in part. Before: no drop was ever a loss event (the receiver does not ask for
// fragments of frames past their deadline, and gave them up before any feedback showed them missing), the
// window grew to 90 kB and the queue dropped 2,689 packets; and a late ack was a loss, so before that the
// sender halved its window 44 times with no drop at all (the pacer's delay made fragments that arrived in
// time look late) and held 15 kB.
Scenario bottleneck_scenario() {
    Scenario sc;
    sc.forward.rate_kbps = 4000;
    sc.forward.queue_bytes = 40000;
    sc.latency = 120ms;
    sc.key_size = 100000;
    sc.p_size = 28000;
    sc.seconds = 20;
    sc.late = LatePolicy::partial;
    return sc;
}

TEST(MssrLoopback, NewRenoSeesTheDropsOfABottleneckItOverfillsAsLosses) {
    const Outcome o = run(bottleneck_scenario());
    ASSERT_GT(o.queue_drops, 20u);  // the stream is above the bottleneck's rate
    // Nearly every drop is found (by a request or as a gap), and every overflow halves the window: it stays
    // near what the path holds (20 kB in flight plus the 40 kB queue), as TCP's would.
    EXPECT_GE(o.sender.gap_losses + o.sender.fast_retransmits, o.queue_drops * 3 / 4);
    EXPECT_GE(o.loss_events, 3u);
    EXPECT_LT(o.max_window, 80000u);
    EXPECT_LT(o.queue_drops, 500u);
}

// The same bottleneck with the sender paced (SenderConfig::pacing): frames no longer leave as one burst into
// the drop-tail queue, so it overflows less often; the window still follows the drops that remain. Here
// 67 drops against 133 unpaced, 4 loss events against 5.
TEST(MssrLoopback, PacingSpreadsFramesSoTheBottleneckDropsFewer) {
    const Outcome unpaced = run(bottleneck_scenario());
    Scenario sc = bottleneck_scenario();
    sc.pacing = true;
    const Outcome paced = run(sc);
    EXPECT_GT(paced.sender.paced_waits, 0u);
    EXPECT_EQ(unpaced.sender.paced_waits, 0u);
    EXPECT_LT(paced.queue_drops * 4, unpaced.queue_drops * 3);
    EXPECT_GE(paced.loss_events, 3u);
    EXPECT_LT(paced.max_window, 80000u);
}

TEST(MssrLoopback, LateArrivalsWithoutDropsAreNoLossEvents) {
    // The same stream and bottleneck with a queue that never overflows: the delay grows and frames arrive
    // late, but nothing is lost, so the window is never halved (TCP's would not be either).
    Scenario sc = bottleneck_scenario();
    sc.forward.queue_bytes = 4u << 20;
    sc.seconds = 10;
    const Outcome o = run(sc);
    EXPECT_EQ(o.queue_drops, 0u);
    EXPECT_GT(o.sender.acked_late, 0u);
    EXPECT_EQ(o.loss_events, 0u);
    EXPECT_EQ(o.sender.gap_losses, 0u);
}

}  // namespace
}  // namespace sg::mssr
