#include "mssr/reassembler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>

#include "mssr_test_util.hpp"

namespace sg::mssr {
namespace {

using test::adu;
using test::adu_bytes;
using test::at_ms;
using test::fragments;
using Outcome = Delivery::Outcome;

ReassemblerConfig config(std::chrono::milliseconds latency = std::chrono::milliseconds(100)) {
    ReassemblerConfig c;
    c.mss = test::k_test_mss;
    c.reorder_window = std::chrono::milliseconds(0);
    c.default_policy.latency = latency;
    return c;
}

// Every fragment sequence number a feedback asks for.
std::set<std::uint16_t> requested(const Feedback& f) {
    std::set<std::uint16_t> out;
    for (const NackBlock& n : f.nacks) {
        out.insert(n.pid);
        for (int bit = 0; bit < 16; ++bit) {
            if ((n.blp & (1u << bit)) != 0) out.insert(static_cast<std::uint16_t>(n.pid + bit + 1));
        }
    }
    return out;
}

TEST(MssrReassembler, DeliversACompleteAdu) {
    Reassembler r(config());
    const auto data = adu_bytes(200, 1);
    for (const auto& p : fragments(adu(0, 0, 200), 10, data))
        r.on_packet(at_ms(0), p);
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].outcome, Outcome::complete);
    EXPECT_EQ(out[0].data, data);
    EXPECT_EQ(out[0].rtp_timestamp, 0u);
    EXPECT_EQ(r.memory_used(), 0u);
    const Feedback f = r.make_feedback(at_ms(0));
    EXPECT_EQ(f.cumulative_ack, 14);  // 200 octets = 4 fragments, 10..13
    EXPECT_TRUE(f.nacks.empty());
}

TEST(MssrReassembler, CaseAMiddleFragmentIsRequestedAndRepaired) {
    Reassembler r(config());
    const auto data = adu_bytes(256, 2);
    const auto p = fragments(adu(0, 0, 256), 10, data);
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[1]);
    r.on_packet(at_ms(0), p[3]);
    EXPECT_TRUE(r.gap_pending());
    const Feedback f = r.make_feedback(at_ms(1));
    EXPECT_EQ(requested(f), std::set<std::uint16_t>{12});
    EXPECT_EQ(f.cumulative_ack, 12);
    ASSERT_EQ(f.acks.size(), 1u);
    EXPECT_EQ(f.acks[0], (AckRange{13, 1}));
    EXPECT_TRUE(r.take_deliveries().empty());
    r.on_packet(at_ms(5), p[2]);
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, data);
}

// The R bit of a data packet (octet 10 of the MSSR header, after the 12-octet RTP header).
// Feeds every packet of `packets` at time 0 but those whose index is in `lost`.
void feed_except(Reassembler& r, const std::vector<std::vector<std::uint8_t>>& packets,
                 const std::set<std::size_t>& lost) {
    for (std::size_t i = 0; i < packets.size(); ++i) {
        if (lost.count(i) == 0) r.on_packet(at_ms(0), packets[i]);
    }
}

std::vector<std::uint8_t> as_retransmission(const std::vector<std::uint8_t>& packet) {
    std::vector<std::uint8_t> copy = packet;
    if (copy.size() > 12 + 10) copy.at(12 + 10) = static_cast<std::uint8_t>(copy.at(12 + 10) | 0x80);
    return copy;
}

// A parity-protected ADU (P bit): its parity fragment rebuilds any one lost fragment, first, middle or the
// shorter last, without a request. The rebuilt number is left unacknowledged until a feedback has shown it
// missing, so that the sender sees the loss (its congestion signal) but does not repeat it.
TEST(MssrReassembler, AParityFragmentRebuildsAnyOneLostFragment) {
    const auto data = adu_bytes(200, 3);  // 64 + 64 + 64 + 8 octets: fragments 10-13, parity 14
    for (const std::size_t lost : {0u, 1u, 3u}) {
        Reassembler r(config());
        const auto p = fragments(adu(0, 0, 200, 1000, Priority::key, true), 10, data);
        ASSERT_EQ(p.size(), 5u);
        feed_except(r, p, {lost});
        const auto out = r.take_deliveries();
        ASSERT_EQ(out.size(), 1u) << lost;
        EXPECT_EQ(out[0].outcome, Outcome::complete) << lost;
        EXPECT_EQ(out[0].data, data) << lost;
        EXPECT_EQ(r.stats().parity_recovered, 1u);
        EXPECT_EQ(r.stats().parity_fragments, 1u);
        EXPECT_EQ(r.stream_stats(0).fragments, 3u);
        EXPECT_EQ(r.memory_used(), 0u);
        const Feedback shown = r.make_feedback(at_ms(1));
        EXPECT_TRUE(shown.nacks.empty()) << lost;
        EXPECT_EQ(shown.cumulative_ack, 10 + lost) << lost;
        EXPECT_EQ(r.make_feedback(at_ms(2)).cumulative_ack, 15) << lost;
    }
}

TEST(MssrReassembler, ALostParityFragmentIsNeitherRequestedNorWaitedFor) {
    Reassembler r(config(std::chrono::milliseconds(1000)));
    const auto first = fragments(adu(0, 0, 200, 1000, Priority::key, true), 10, adu_bytes(200, 1));
    const auto second = fragments(adu(0, 1, 100, 1000, Priority::key, true), 15, adu_bytes(100, 2));
    for (std::size_t i = 0; i + 1 < first.size(); ++i)
        r.on_packet(at_ms(0), first[i]);  // parity 14 lost
    for (const auto& packet : second)
        r.on_packet(at_ms(0), packet);
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].outcome, Outcome::complete);
    EXPECT_EQ(out[1].outcome, Outcome::complete);
    const Feedback f = r.make_feedback(at_ms(1));
    EXPECT_TRUE(f.nacks.empty());
    EXPECT_EQ(r.make_feedback(at_ms(2)).cumulative_ack, 18);
    EXPECT_EQ(r.stats().parity_recovered, 0u);
    // A parity fragment that comes after its ADU was complete is no late data fragment.
    r.on_packet(at_ms(3), first[4]);
    EXPECT_EQ(r.stream_stats(0).late_fragments, 0u);
    EXPECT_EQ(r.stats().parity_fragments, 2u);
}

TEST(MssrReassembler, TwoLostFragmentsAreRequestedAsWithoutParity) {
    Reassembler r(config());
    const auto data = adu_bytes(200, 4);
    const auto p = fragments(adu(0, 0, 200, 1000, Priority::key, true), 10, data);
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[3]);
    r.on_packet(at_ms(0), p[4]);
    EXPECT_EQ(requested(r.make_feedback(at_ms(1))), (std::set<std::uint16_t>{11, 12}));
    r.on_packet(at_ms(2), as_retransmission(p[1]));  // now one is missing: the parity rebuilds it
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, data);
    EXPECT_EQ(r.stats().parity_recovered, 1u);
}

// A key ADU of a session with a key parity group (here 4 data fragments per group): 10 data fragments in 3
// interleaved groups (0 3 6 9 | 1 4 7 | 2 5 8), 3 parity fragments. One lost fragment per group is rebuilt,
// also three in a row; two in one group are requested, and the parity fragments never are.
TEST(MssrReassembler, ParityGroupsRebuildOneLostFragmentEach) {
    ReassemblerConfig c = config();
    c.key_parity_group = 4;
    const auto data = adu_bytes(10 * 64 - 30, 6);  // fragments 10-19, parity 20-22
    const auto p =
        fragments(adu(0, 0, 10 * 64 - 30, 1000, Priority::key, true), 10, data, test::k_test_mss, 4);
    ASSERT_EQ(p.size(), 13u);
    {
        Reassembler r(c);
        feed_except(r, p, {4, 5, 6});  // groups 1, 2, 0
        const auto out = r.take_deliveries();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].outcome, Outcome::complete);
        EXPECT_EQ(out[0].data, data);
        EXPECT_EQ(r.stats().parity_recovered, 3u);
        EXPECT_EQ(r.stats().parity_fragments, 3u);
        EXPECT_EQ(r.memory_used(), 0u);
        EXPECT_TRUE(r.make_feedback(at_ms(1)).nacks.empty());
        EXPECT_EQ(r.make_feedback(at_ms(2)).cumulative_ack, 23);
    }
    {
        Reassembler r(c);
        feed_except(r, p, {0, 3, 12});  // two of group 0; group 2's parity
        EXPECT_TRUE(r.take_deliveries().empty());
        EXPECT_EQ(r.stats().parity_recovered, 0u);
        EXPECT_EQ(requested(r.make_feedback(at_ms(1))), (std::set<std::uint16_t>{10, 13}));
        r.on_packet(at_ms(2), as_retransmission(p[3]));  // one left in group 0: its parity rebuilds it
        const auto out = r.take_deliveries();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].data, data);
        EXPECT_EQ(r.stats().parity_recovered, 1u);
    }
    {
        // Without the session's group the same ADU is one of 10 data fragments and one parity: fragments
        // 21 and 22 are no fragments of it.
        Reassembler r(config());
        r.on_packet(at_ms(0), p[11]);
        r.on_packet(at_ms(0), p[12]);
        EXPECT_EQ(r.stats().invalid, 2u);
    }
}

// The same ADU in a session that agreed on the Cauchy code: its 3 parity fragments rebuild any 3 lost data
// fragments, here three of XOR group 0 (0, 3, 6), which the groups could not; with a parity fragment lost
// too, the two left rebuild two. Fewer parity fragments than losses rebuild nothing, and the losses are
// requested.
TEST(MssrReassembler, CauchyParityRebuildsAsManyLostFragmentsAsParityFragmentsCame) {
    ReassemblerConfig c = config();
    c.key_parity_group = 4;
    c.cauchy_parity = true;
    const auto data = adu_bytes(10 * 64 - 30, 6);
    const auto p = fragments(adu(0, 0, 10 * 64 - 30, 1000, Priority::key, true), 10, data, test::k_test_mss,
                             4, ParityCode::cauchy);
    ASSERT_EQ(p.size(), 13u);
    const auto run = [&](const std::set<std::size_t>& lost) {
        auto r = std::make_unique<Reassembler>(c);
        feed_except(*r, p, lost);
        return r;
    };
    for (const std::set<std::size_t>& lost :
         {std::set<std::size_t>{0, 3, 6}, std::set<std::size_t>{9, 0, 11}, std::set<std::size_t>{4}}) {
        const auto r = run(lost);
        const auto out = r->take_deliveries();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].outcome, Outcome::complete);
        EXPECT_EQ(out[0].data, data);
        std::size_t data_lost = 0;
        for (std::size_t i : lost)
            data_lost += i < 10 ? 1 : 0;
        EXPECT_EQ(r->stats().parity_recovered, data_lost);
        EXPECT_TRUE(r->make_feedback(at_ms(1)).nacks.empty());
        EXPECT_EQ(r->memory_used(), 0u);
    }
    {
        const auto r = run({1, 2, 5, 12});  // three data fragments, two parity fragments left
        EXPECT_TRUE(r->take_deliveries().empty());
        EXPECT_EQ(r->stats().parity_recovered, 0u);
        EXPECT_EQ(requested(r->make_feedback(at_ms(1))), (std::set<std::uint16_t>{11, 12, 15}));
        r->on_packet(at_ms(2), as_retransmission(p[5]));  // now two missing, two parity fragments
        const auto out = r->take_deliveries();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].data, data);
        EXPECT_EQ(r->stats().parity_recovered, 2u);
    }
    {
        // A receiver that did not agree reads the same fragments as XOR groups: group 0's parity "rebuilds"
        // fragment 0 into wrong octets. That is why both hellos must announce the code.
        ReassemblerConfig groups = config();
        groups.key_parity_group = 4;
        Reassembler xor_reader(groups);
        for (std::size_t i = 1; i < p.size(); ++i)
            xor_reader.on_packet(at_ms(0), p[i]);
        const auto out = xor_reader.take_deliveries();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_NE(out[0].data, data);
    }
}

// Header version 3: the ADU's parity count comes from its headers, so a delta frame can have several parity
// fragments (here 3, where the groups rule gives one), and any 3 of its lost fragments are rebuilt.
TEST(MssrReassembler, VersionThreeTakesTheParityCountFromTheHeader) {
    ReassemblerConfig c = config();
    c.key_parity_group = 4;
    c.cauchy_parity = true;
    c.header_version = k_version_parity_count;
    const std::size_t size = fragment_size(test::k_test_mss, k_version_parity_count);
    const auto data = adu_bytes(10 * size - 30, 8);
    AduInfo info = adu(0, 0, static_cast<std::uint32_t>(data.size()), 1000, Priority::reference, true);
    info.version = k_version_parity_count;
    info.parity_count = 3;
    const auto p = fragments(info, 10, data, test::k_test_mss, 4, ParityCode::cauchy);
    ASSERT_EQ(p.size(), 13u);
    {
        Reassembler r(c);
        feed_except(r, p, {0, 4, 9});
        const auto out = r.take_deliveries();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].outcome, Outcome::complete);
        EXPECT_EQ(out[0].data, data);
        EXPECT_EQ(r.stats().parity_recovered, 3u);
        EXPECT_EQ(r.stats().invalid, 0u);
    }
    {
        // Fragments of one ADU that disagree on the count: the later one is refused.
        AduInfo other = info;
        other.parity_count = 2;
        const auto q = fragments(other, 10, data, test::k_test_mss, 4, ParityCode::cauchy);
        Reassembler r(c);
        r.on_packet(at_ms(0), p[0]);
        r.on_packet(at_ms(0), q[1]);
        EXPECT_EQ(r.stats().invalid, 1u);
    }
    {
        // A version 2 packet in a version 3 session, and the other way round: the fragment size differs, so
        // neither can be placed.
        Reassembler r(c);
        r.on_packet(at_ms(0), fragments(adu(0, 0, 100), 10, adu_bytes(100, 1))[0]);
        EXPECT_EQ(r.stats().invalid, 1u);
        Reassembler v2(config());
        v2.on_packet(at_ms(0), p[0]);
        EXPECT_EQ(v2.stats().invalid, 1u);
    }
    {
        // More parity fragments than data fragments: no sender plans that.
        AduInfo single = adu(0, 0, 10, 1000, Priority::reference, true);
        single.version = k_version_parity_count;
        auto packet = fragments(single, 10, adu_bytes(10, 1), test::k_test_mss)[0];
        packet[12 + 12] = 2;
        Reassembler r(c);
        r.on_packet(at_ms(0), packet);
        EXPECT_EQ(r.stats().invalid, 1u);
    }
}

// A P fragment that is neither a data fragment nor the parity (wrong length, index past it) is refused.
TEST(MssrReassembler, RefusesAMisshapenParityFragment) {
    Reassembler r(config());
    auto p = fragments(adu(0, 0, 200, 1000, Priority::key, true), 10, adu_bytes(200, 5));
    p[4].pop_back();  // one octet short of the parity length
    r.on_packet(at_ms(0), p[4]);
    EXPECT_EQ(r.stats().invalid, 1u);
    EXPECT_EQ(r.stats().parity_fragments, 0u);
}

// How long a repair takes, from the first request to the retransmission's arrival: the feedback pacer repeats
// a request a second time only once its repair is overdue.
TEST(MssrReassembler, MeasuresTheRepairRoundTripAsAWindowedMinimum) {
    ReassemblerConfig c = config(std::chrono::seconds(30));
    c.max_reorder_window = std::chrono::milliseconds(0);  // the late p[1] below must not widen the window
    Reassembler r(c);
    const auto p = fragments(adu(0, 0, 64 * 8, 1000), 10, adu_bytes(64 * 8, 2));
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[2]);
    r.on_packet(at_ms(0), p[4]);
    EXPECT_EQ(requested(r.make_feedback(at_ms(1))), (std::set<std::uint16_t>{11, 13}));
    EXPECT_FALSE(r.repair_round_trip().has_value());
    r.on_packet(at_ms(20), p[1]);  // only late, not a repair: no sample
    EXPECT_FALSE(r.repair_round_trip().has_value());
    (void)r.make_feedback(at_ms(30));  // 13 asked again: its first request still counts
    r.on_packet(at_ms(46), as_retransmission(p[3]));
    EXPECT_EQ(r.repair_round_trip(), std::chrono::milliseconds(45));
    // A slower repair does not raise the minimum; a faster one lowers it.
    r.on_packet(at_ms(100), p[7]);
    EXPECT_EQ(requested(r.make_feedback(at_ms(101))), (std::set<std::uint16_t>{15, 16}));
    r.on_packet(at_ms(201), as_retransmission(p[5]));
    EXPECT_EQ(r.repair_round_trip(), std::chrono::milliseconds(45));
    r.on_packet(at_ms(131), as_retransmission(p[6]));
    EXPECT_EQ(r.repair_round_trip(), std::chrono::milliseconds(30));
}

TEST(MssrReassembler, CaseBFirstFragmentIsRequested) {
    Reassembler r(config());
    const auto p = fragments(adu(0, 0, 256), 10, adu_bytes(256, 3));
    r.on_packet(at_ms(0), p[1]);
    r.on_packet(at_ms(0), p[2]);
    EXPECT_EQ(requested(r.make_feedback(at_ms(1))), std::set<std::uint16_t>{10});
}

TEST(MssrReassembler, CaseCLastFragmentIsRequestedOnceLaterSequenceNumbersArrive) {
    Reassembler r(config());
    const auto a = fragments(adu(0, 0, 256), 10, adu_bytes(256, 4));
    const auto b = fragments(adu(1, 0, 64), 14, adu_bytes(64, 5));
    r.on_packet(at_ms(0), a[0]);
    r.on_packet(at_ms(0), a[1]);
    r.on_packet(at_ms(0), a[2]);
    // Nothing says fragment 13 is late yet: it may be on its way.
    EXPECT_TRUE(requested(r.make_feedback(at_ms(1))).empty());
    r.on_packet(at_ms(2), b[0]);  // the sequence continues past the ADU: its length is short
    EXPECT_EQ(requested(r.make_feedback(at_ms(3))), std::set<std::uint16_t>{13});
}

TEST(MssrReassembler, CaseDWholeAduIsReportedLostAndNeverRequested) {
    Reassembler r(config());
    const auto a0 = fragments(adu(0, 0, 100), 10, adu_bytes(100, 1));  // 10, 11
    const auto a2 = fragments(adu(0, 2, 100), 14, adu_bytes(100, 3));  // 14, 15 (stream seq 1 = 12, 13 lost)
    for (const auto& p : a0)
        r.on_packet(at_ms(0), p);
    for (const auto& p : a2)
        r.on_packet(at_ms(0), p);
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].outcome, Outcome::complete);
    EXPECT_EQ(out[1].outcome, Outcome::lost);
    EXPECT_TRUE(out[1].whole_adu_lost);
    EXPECT_EQ(out[1].stream_sequence, 1);
    EXPECT_EQ(out[1].lost_count, 1u);
    EXPECT_EQ(out[2].outcome, Outcome::complete);
    EXPECT_EQ(out[2].stream_sequence, 2);
    const Feedback f = r.make_feedback(at_ms(1));
    EXPECT_TRUE(f.nacks.empty());
    // 12 and 13 belong to no known ADU: not wanted. One feedback shows them missing (the sender's loss
    // signal), the next passes them.
    EXPECT_EQ(f.cumulative_ack, 12);
    ASSERT_EQ(f.acks.size(), 1u);
    EXPECT_EQ(f.acks[0].start, 14);
    EXPECT_EQ(r.make_feedback(at_ms(1)).cumulative_ack, 16);
    EXPECT_EQ(r.stream_stats(0).adus_whole_lost, 1u);
}

TEST(MssrReassembler, WholeAduLossWaitsOutTheReorderWindow) {
    ReassemblerConfig c = config();
    c.reorder_window = std::chrono::milliseconds(10);
    c.max_unknown_run_requested = 0;  // the seed's rule: no whole ADU is requested
    Reassembler r(c);
    const auto a0 = fragments(adu(1, 0, 50), 10, adu_bytes(50, 1));
    const auto a1 = fragments(adu(1, 1, 50), 11, adu_bytes(50, 2));
    const auto a2 = fragments(adu(1, 2, 50), 12, adu_bytes(50, 3));
    r.on_packet(at_ms(0), a0[0]);
    r.on_packet(at_ms(0), a2[0]);  // 1 is missing, or just late
    EXPECT_EQ(r.take_deliveries().size(), 1u);
    EXPECT_EQ(r.next_deadline(), at_ms(10));
    r.on_packet(at_ms(4), a1[0]);  // late, within the window: nothing lost
    auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].outcome, Outcome::complete);
    EXPECT_EQ(out[1].outcome, Outcome::complete);

    Reassembler lossy(c);
    lossy.on_packet(at_ms(0), a0[0]);
    lossy.on_packet(at_ms(0), a2[0]);
    lossy.poll(at_ms(9));
    EXPECT_EQ(lossy.take_deliveries().size(), 1u);
    lossy.poll(at_ms(10));
    out = lossy.take_deliveries();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].whole_adu_lost);
    EXPECT_EQ(out[1].stream_sequence, 2);
}

// A lost one-fragment ADU (audio) is a whole-ADU loss, but a cheap one: it is requested after the reorder
// window and waited for until its deadline, not given up after the reorder window.
TEST(MssrReassembler, LostOneFragmentAduIsRequestedAndWaitedForUntilItsDeadline) {
    ReassemblerConfig c = config();  // 100 ms budget; every ADU below has time 1000, first arrival at 0
    c.reorder_window = std::chrono::milliseconds(10);
    const auto a0 = fragments(adu(1, 0, 50), 10, adu_bytes(50, 1));
    const auto a1 = fragments(adu(1, 1, 50), 11, adu_bytes(50, 2));
    const auto a2 = fragments(adu(1, 2, 50), 12, adu_bytes(50, 3));

    Reassembler repaired(c);
    repaired.on_packet(at_ms(0), a0[0]);
    repaired.on_packet(at_ms(0), a2[0]);
    EXPECT_EQ(repaired.take_deliveries().size(), 1u);
    const Feedback f = repaired.make_feedback(at_ms(10));
    EXPECT_EQ(requested(f), std::set<std::uint16_t>{11});
    EXPECT_EQ(f.cumulative_ack, 11);  // not acked: the sender must keep it for the repair
    repaired.poll(at_ms(60));
    EXPECT_TRUE(repaired.take_deliveries().empty());
    repaired.on_packet(at_ms(60), a1[0]);  // the repair, 40 ms before the deadline
    auto out = repaired.take_deliveries();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].outcome, Outcome::complete);
    EXPECT_EQ(out[0].stream_sequence, 1);
    EXPECT_EQ(out[1].stream_sequence, 2);
    EXPECT_EQ(repaired.stream_stats(1).adus_whole_lost, 0u);
    EXPECT_EQ(repaired.stream_stats(1).late_fragments, 0u);
    EXPECT_EQ(repaired.make_feedback(at_ms(61)).cumulative_ack, 13);

    Reassembler lost(c);
    lost.on_packet(at_ms(0), a0[0]);
    lost.on_packet(at_ms(0), a2[0]);
    (void)lost.take_deliveries();
    lost.poll(at_ms(99));
    EXPECT_TRUE(lost.take_deliveries().empty());
    EXPECT_EQ(lost.next_deadline(), at_ms(100));
    lost.poll(at_ms(100));  // its deadline: given up
    out = lost.take_deliveries();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].whole_adu_lost);
    EXPECT_EQ(out[1].outcome, Outcome::complete);
    const Feedback after = lost.make_feedback(at_ms(100));
    EXPECT_TRUE(requested(after).empty());
    EXPECT_EQ(after.cumulative_ack, 11);  // shown missing once, then passed
    EXPECT_EQ(lost.make_feedback(at_ms(100)).cumulative_ack, 13);
}

// Two or more unknown numbers in a row may be one multi-fragment ADU: the seed's rule, never requested.
TEST(MssrReassembler, LongerUnknownRunsAreNotRequested) {
    ReassemblerConfig c = config();
    c.reorder_window = std::chrono::milliseconds(10);
    Reassembler r(c);
    const auto a0 = fragments(adu(1, 0, 50), 10, adu_bytes(50, 1));
    const auto a3 = fragments(adu(1, 3, 50), 13, adu_bytes(50, 3));  // 11 and 12 missing
    r.on_packet(at_ms(0), a0[0]);
    r.on_packet(at_ms(0), a3[0]);
    EXPECT_TRUE(requested(r.make_feedback(at_ms(10))).empty());
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_TRUE(out[1].whole_adu_lost);
    EXPECT_EQ(out[1].lost_count, 2u);
}

TEST(MssrReassembler, ReorderingAndDuplicatesYieldOneAdu) {
    Reassembler r(config());
    const auto data = adu_bytes(64 * 6 + 5, 9);
    auto p = fragments(adu(0, 0, static_cast<std::uint32_t>(data.size())), 100, data);
    std::reverse(p.begin(), p.end());
    for (std::size_t i = 0; i < p.size(); ++i) {
        r.on_packet(at_ms(0), p[i]);
        if (i == 2) r.on_packet(at_ms(0), p[1]);  // a duplicate (not p.insert: g++ 12 -Warray-bounds)
    }
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, data);
    EXPECT_EQ(r.stream_stats(0).duplicates, 1u);
    EXPECT_EQ(r.stream_stats(0).fragments, 7u);
}

TEST(MssrReassembler, ReorderWindowDelaysRequests) {
    ReassemblerConfig c = config();
    c.reorder_window = std::chrono::milliseconds(10);
    Reassembler r(c);
    const auto p = fragments(adu(0, 0, 256), 10, adu_bytes(256, 3));
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[2]);
    EXPECT_TRUE(requested(r.make_feedback(at_ms(5))).empty());
    EXPECT_EQ(requested(r.make_feedback(at_ms(10))), std::set<std::uint16_t>{11});
}

// The receiver's feedback is paced (feedback_pacer.hpp): it goes out at once when a request is due, which is
// when a gap has outlasted the reorder window, not when it is first seen.
TEST(MssrReassembler, RequestIsDueWhenTheGapOutlastsTheReorderWindow) {
    ReassemblerConfig c = config();
    c.reorder_window = std::chrono::milliseconds(10);
    Reassembler r(c);
    const auto p = fragments(adu(0, 0, 64 * 6), 10, adu_bytes(64 * 6, 3));
    r.on_packet(at_ms(0), p[0]);
    EXPECT_FALSE(r.request_due().has_value());
    r.on_packet(at_ms(2), p[2]);  // 11 missing
    r.on_packet(at_ms(6), p[4]);  // 13 missing
    EXPECT_EQ(r.request_due(), at_ms(12));
    EXPECT_TRUE(requested(r.make_feedback(at_ms(8))).empty());  // an early feedback changes nothing
    EXPECT_EQ(r.request_due(), at_ms(12));
    EXPECT_EQ(requested(r.make_feedback(at_ms(12))), std::set<std::uint16_t>{11});
    EXPECT_EQ(r.request_due(), at_ms(16));  // the newer gap's
    EXPECT_EQ(requested(r.make_feedback(at_ms(16))), (std::set<std::uint16_t>{11, 13}));
    EXPECT_FALSE(r.request_due().has_value());
}

// The reorder window follows the path: a first transmission that came 8 ms after a later number shows
// reordering the 5 ms minimum would have taken for loss, so gaps wait a quarter longer than that from then on
// (and a request that a late original then answers is counted as spurious).
TEST(MssrReassembler, ReorderWindowGrowsWithTheReorderingThePathShows) {
    ReassemblerConfig c = config();
    c.reorder_window = std::chrono::milliseconds(5);
    Reassembler r(c);
    const auto p = fragments(adu(0, 0, 64 * 8), 10, adu_bytes(64 * 8, 4));
    EXPECT_EQ(r.reorder_window(at_ms(0)), std::chrono::milliseconds(5));
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[2]);  // 11 missing since 0
    r.on_packet(at_ms(8), p[1]);  // only late: an original, 8 ms after 12
    EXPECT_TRUE(requested(r.make_feedback(at_ms(8))).empty());
    EXPECT_EQ(r.stats().reordered, 1u);
    EXPECT_EQ(r.stats().spurious_requests, 0u);
    EXPECT_EQ(r.reorder_window(at_ms(8)), std::chrono::milliseconds(10));

    r.on_packet(at_ms(20), p[4]);  // 13 missing since 20
    EXPECT_EQ(r.request_due(), at_ms(30));
    EXPECT_TRUE(requested(r.make_feedback(at_ms(26))).empty());  // the 5 ms minimum would have asked
    EXPECT_EQ(requested(r.make_feedback(at_ms(30))), std::set<std::uint16_t>{13});
    r.on_packet(at_ms(33), p[3]);  // the original after all: the request was not needed
    EXPECT_EQ(r.stats().reordered, 2u);
    EXPECT_EQ(r.stats().spurious_requests, 1u);
    EXPECT_EQ(r.reorder_window(at_ms(33)), std::chrono::microseconds(16250));  // 13 ms and a quarter
}

// A repair is not reordering: a retransmission filling a gap leaves the window alone, however late.
TEST(MssrReassembler, RetransmissionsDoNotWidenTheReorderWindow) {
    ReassemblerConfig c = config();
    c.reorder_window = std::chrono::milliseconds(5);
    Reassembler r(c);
    const auto p = fragments(adu(0, 0, 64 * 3), 10, adu_bytes(64 * 3, 5));
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[2]);
    EXPECT_EQ(requested(r.make_feedback(at_ms(5))), std::set<std::uint16_t>{11});
    r.on_packet(at_ms(50), as_retransmission(p[1]));
    EXPECT_EQ(r.take_deliveries().size(), 1u);
    EXPECT_EQ(r.stats().reordered, 0u);
    EXPECT_EQ(r.reorder_window(at_ms(50)), std::chrono::milliseconds(5));
    EXPECT_EQ(r.repair_round_trip(), std::chrono::milliseconds(45));
}

// The window is capped (a repair must still fit the budget after it), and shrinks back to the minimum once
// the path has shown no reordering for two of its 10 s memory windows.
TEST(MssrReassembler, ReorderWindowIsCappedAndForgotten) {
    ReassemblerConfig c = config(std::chrono::milliseconds(1000));
    c.reorder_window = std::chrono::milliseconds(5);
    c.max_reorder_window = std::chrono::milliseconds(40);
    Reassembler r(c);
    const auto p = fragments(adu(0, 0, 64 * 3), 10, adu_bytes(64 * 3, 6));
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[2]);
    r.on_packet(at_ms(300), p[1]);  // 300 ms late
    EXPECT_EQ(r.reorder_window(at_ms(300)), std::chrono::milliseconds(40));
    EXPECT_EQ(r.reorder_window(at_ms(10'299)), std::chrono::milliseconds(40));
    EXPECT_EQ(r.reorder_window(at_ms(20'299)), std::chrono::milliseconds(40));
    EXPECT_EQ(r.reorder_window(at_ms(20'300)), std::chrono::milliseconds(5));
}

TEST(MssrReassembler, SequenceNumbersWrap) {
    Reassembler r(config());
    std::uint16_t seq = 0xfff0;
    std::uint16_t sseq = 0xfffd;
    std::size_t delivered = 0;
    for (int i = 0; i < 8; ++i) {
        const auto data = adu_bytes(64 * 3, static_cast<std::uint8_t>(i));
        auto p = fragments(adu(0, sseq, 192, 1000 + i), seq, data);
        std::swap(p[0], p[2]);
        for (const auto& packet : p)
            r.on_packet(at_ms(i), packet);
        for (const Delivery& d : r.take_deliveries()) {
            EXPECT_EQ(d.outcome, Outcome::complete);
            EXPECT_EQ(d.stream_sequence, static_cast<std::uint16_t>(0xfffd + delivered));
            EXPECT_EQ(d.data, adu_bytes(192, static_cast<std::uint8_t>(delivered)));
            ++delivered;
        }
        seq = static_cast<std::uint16_t>(seq + 3);
        ++sseq;
    }
    EXPECT_EQ(delivered, 8u);
    EXPECT_EQ(r.make_feedback(at_ms(9)).cumulative_ack, static_cast<std::uint16_t>(0xfff0 + 24));
}

// The sender's congestion control sees a drop only as a gap in the feedback: a missing fragment of an ADU
// given up at its deadline (never requested) must be shown missing once before the cumulative ack passes it,
// even when no feedback was made while it was merely missing.
TEST(MssrReassembler, AGivenUpFragmentIsShownMissingBeforeTheCumulativeAckPassesIt) {
    Reassembler r(config(std::chrono::milliseconds(100)));
    const auto p = fragments(adu(0, 0, 192, 1000), 10, adu_bytes(192, 1));  // 10, 11, 12
    r.on_packet(at_ms(5000), p[0]);
    r.on_packet(at_ms(5000), p[2]);
    r.poll(at_ms(5100));  // given up with 11 missing; no feedback was made meanwhile
    (void)r.take_deliveries();
    const Feedback shown = r.make_feedback(at_ms(5100));
    EXPECT_EQ(shown.cumulative_ack, 11);
    ASSERT_EQ(shown.acks.size(), 1u);
    EXPECT_EQ(shown.acks[0].start, 12);
    EXPECT_EQ(shown.acks[0].count, 1);
    EXPECT_TRUE(shown.nacks.empty());  // past its deadline: not wanted
    const Feedback passed = r.make_feedback(at_ms(5101));
    EXPECT_EQ(passed.cumulative_ack, 13);
    EXPECT_TRUE(passed.acks.empty());
}

TEST(MssrReassembler, IncompleteAduAtItsDeadlineIsLostAndLaterFragmentsIgnored) {
    Reassembler r(config(std::chrono::milliseconds(100)));
    const auto p = fragments(adu(0, 0, 192, 1000), 10, adu_bytes(192, 1));
    r.on_packet(at_ms(5000), p[0]);  // arrival - ADU time = 4000 ms: the clock offset
    r.on_packet(at_ms(5000), p[2]);
    EXPECT_EQ(r.next_deadline(), at_ms(5100));
    r.poll(at_ms(5099));
    EXPECT_TRUE(r.take_deliveries().empty());
    r.poll(at_ms(5100));
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].outcome, Outcome::lost);
    EXPECT_FALSE(out[0].whole_adu_lost);
    EXPECT_EQ(r.stream_stats(0).key_adus_incomplete, 1u);
    // Past the deadline nothing is requested any more, and the straggler is ignored.
    const Feedback f = r.make_feedback(at_ms(5101));
    EXPECT_TRUE(f.nacks.empty());
    EXPECT_EQ(f.cumulative_ack, 11);  // the given-up fragment is shown missing once (a loss to the sender)
    EXPECT_EQ(r.make_feedback(at_ms(5101)).cumulative_ack, 13);
    r.on_packet(at_ms(5102), p[1]);
    EXPECT_TRUE(r.take_deliveries().empty());
    EXPECT_EQ(r.stream_stats(0).late_fragments, 1u);
    EXPECT_EQ(r.memory_used(), 0u);
}

// The ADU time is 16 bits of milliseconds on the wire (version 2): it wraps every 65.536 s.
TEST(MssrReassembler, AduTimeWrapsAtSixteenBits) {
    Reassembler r(config(std::chrono::milliseconds(100)));
    const auto before = fragments(adu(0, 0, 64, 65530), 10, adu_bytes(64, 1));
    r.on_packet(at_ms(70000), before[0]);  // clock offset 70000 - 65530 = 4470 ms
    ASSERT_EQ(r.take_deliveries().size(), 1u);
    // 10 ms later on the sender's clock: 65540, which is 4 on the wire.
    const auto after = fragments(adu(0, 1, 192, 65540), 11, adu_bytes(192, 2));
    r.on_packet(at_ms(70010), after[0]);
    r.on_packet(at_ms(70010), after[2]);
    EXPECT_EQ(r.next_deadline(), at_ms(70110));  // 65540 + 4470 + 100, not 65,536 ms earlier
    r.poll(at_ms(70109));
    EXPECT_TRUE(r.take_deliveries().empty());
    r.on_packet(at_ms(70050), after[1]);
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].outcome, Outcome::complete);
}

// The wire time is read against the sender's clock as we see it now, not the newest ADU time seen: a source
// that pauses longer than half the wrap (32.7 s; SRs keep the session up) is still read right afterwards.
TEST(MssrReassembler, AduTimeIsReadRightAfterAPauseLongerThanTheWrap) {
    Reassembler r(config(std::chrono::milliseconds(100)));
    r.on_packet(at_ms(5000), fragments(adu(0, 0, 64, 1000), 10, adu_bytes(64, 1))[0]);  // offset 4000
    ASSERT_EQ(r.take_deliveries().size(), 1u);
    // 100 s later: sender time 101000, 35464 on the wire, which is more than 32767 past the last ADU time.
    const auto p = fragments(adu(0, 1, 192, 101000), 11, adu_bytes(192, 2));
    r.on_packet(at_ms(105000), p[0]);
    r.on_packet(at_ms(105000), p[2]);
    EXPECT_EQ(r.next_deadline(), at_ms(105100));
    r.poll(at_ms(105001));
    EXPECT_TRUE(r.take_deliveries().empty());  // not given up as if 65.5 s old
    EXPECT_EQ(requested(r.make_feedback(at_ms(105001))), (std::set<std::uint16_t>{12}));
}

TEST(MssrReassembler, PartialPolicyDeliversWhatArrived) {
    ReassemblerConfig c = config(std::chrono::milliseconds(50));
    c.default_policy.late = LatePolicy::partial;
    Reassembler r(c);
    const auto data = adu_bytes(192, 1);
    const auto p = fragments(adu(0, 0, 192, 0), 10, data);
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[2]);
    r.poll(at_ms(50));
    const auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].outcome, Outcome::partial);
    auto expected = data;
    std::fill(expected.begin() + 64, expected.begin() + 128, 0);
    EXPECT_EQ(out[0].data, expected);
    // Which fragments arrived, so a reader can tell zero fill from data (rtp_adu.hpp).
    EXPECT_EQ(out[0].received, (std::vector<bool>{true, false, true}));
    EXPECT_EQ(out[0].fragment_size, 64u);
}

TEST(MssrReassembler, InOrderPerStreamWithoutBlockingOtherStreams) {
    Reassembler r(config());
    const auto v0 = fragments(adu(0, 0, 128), 10, adu_bytes(128, 1));  // 10, 11
    const auto v1 = fragments(adu(0, 1, 64), 12, adu_bytes(64, 2));    // 12
    const auto a0 = fragments(adu(1, 0, 64), 13, adu_bytes(64, 3));    // 13
    r.on_packet(at_ms(0), v0[0]);
    r.on_packet(at_ms(0), v1[0]);
    r.on_packet(at_ms(0), a0[0]);
    auto out = r.take_deliveries();
    ASSERT_EQ(out.size(), 1u);  // the audio ADU; video 1 waits for video 0
    EXPECT_EQ(out[0].stream, 1);
    r.on_packet(at_ms(1), v0[1]);
    out = r.take_deliveries();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].stream_sequence, 0);
    EXPECT_EQ(out[1].stream_sequence, 1);
}

TEST(MssrReassembler, KeyOnlyModeRequestsOnlyKeyFragments) {
    ReassemblerConfig c = config();
    c.default_policy.mode = RetransmitMode::key_only;
    Reassembler r(c);
    const auto key = fragments(adu(0, 0, 192, 1000, Priority::key), 10, adu_bytes(192, 1));
    const auto p = fragments(adu(0, 1, 192, 1000, Priority::reference), 13, adu_bytes(192, 2));
    const auto next = fragments(adu(0, 2, 64, 1000, Priority::reference), 16, adu_bytes(64, 2));
    r.on_packet(at_ms(0), key[0]);
    r.on_packet(at_ms(0), key[2]);
    r.on_packet(at_ms(0), p[0]);
    r.on_packet(at_ms(0), p[2]);
    r.on_packet(at_ms(0), next[0]);
    EXPECT_EQ(requested(r.make_feedback(at_ms(1))), std::set<std::uint16_t>{11});
}

TEST(MssrReassembler, MemoryIsBoundedPerStreamAndInTotal) {
    ReassemblerConfig c = config(std::chrono::seconds(10));
    c.max_stream_bytes = 2000;
    c.max_total_bytes = 3000;
    Reassembler r(c);
    std::uint16_t seq = 0;
    // Only the first fragment of each ADU: nothing completes, everything waits.
    for (std::uint16_t i = 0; i < 20; ++i) {
        const auto p = fragments(adu(static_cast<std::uint8_t>(i % 2), i, 500), seq, adu_bytes(500, 1));
        r.on_packet(at_ms(0), p[0]);
        seq = static_cast<std::uint16_t>(seq + p.size());
        EXPECT_LE(r.memory_used(), c.max_total_bytes);
    }
    EXPECT_GT(r.stats().over_limit, 0u);
    EXPECT_LT(r.receive_window(), 3000u);
    // An ADU longer than the per-ADU bound is refused outright.
    c.max_adu_bytes = 100;
    Reassembler small(c);
    small.on_packet(at_ms(0), fragments(adu(0, 0, 200), 0, adu_bytes(200, 1))[0]);
    EXPECT_EQ(small.memory_used(), 0u);
    EXPECT_EQ(small.stats().over_limit, 1u);
}

TEST(MssrReassembler, RefusesFragmentsThatBreakTheGeometry) {
    Reassembler r(config());
    // Cut with a different MSS than the receiver's: offsets are not multiples of its fragment size.
    const auto p = fragments(adu(0, 0, 300), 0, adu_bytes(300, 1), test::k_test_mss + 10);
    for (const auto& packet : p)
        r.on_packet(at_ms(0), packet);
    EXPECT_EQ(r.stats().invalid, p.size());
    EXPECT_TRUE(r.take_deliveries().empty());
}

TEST(MssrReassembler, AStreamJumpFarAheadGivesUpTheSkippedSpan) {
    ReassemblerConfig c = config(std::chrono::seconds(10));
    c.max_pending_adus = 4;
    Reassembler r(c);
    r.on_packet(at_ms(0), fragments(adu(0, 0, 128), 0, adu_bytes(128, 1))[0]);
    r.on_packet(at_ms(0), fragments(adu(0, 1000, 128), 2, adu_bytes(128, 1))[0]);
    const auto out = r.take_deliveries();
    // ADU 0 is given up; 1 .. 996 are reported as one run; 997 .. 999 may still come before 1000.
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].outcome, Outcome::lost);
    EXPECT_FALSE(out[0].whole_adu_lost);
    EXPECT_TRUE(out[1].whole_adu_lost);
    EXPECT_EQ(out[1].stream_sequence, 1);
    EXPECT_EQ(out[1].lost_count, 996u);
    EXPECT_GT(r.memory_used(), 0u);  // ADU 1000 waits
}

}  // namespace
}  // namespace sg::mssr
