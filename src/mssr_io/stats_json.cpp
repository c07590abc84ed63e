#include "mssr_io/stats_json.hpp"

namespace sg::mssr {
namespace {

double millis(std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
}

// How the session's protected ADUs get their parity count: chosen per ADU and carried in the header, or the
// fixed groups.
const char* parity_count_name(std::uint8_t header_version) {
    return header_version == k_version_parity_count ? "adaptive" : "groups";
}

}  // namespace

nlohmann::ordered_json sender_stats_json(const Sender& sender) {
    const SenderStats& st = sender.stats();
    return {
        {"adus", st.adus},
        {"fragments_sent", st.fragments_sent},
        {"retransmissions", st.retransmissions},
        {"fast_retransmits", st.fast_retransmits},
        {"timeouts", st.timeouts},
        {"tail_probes", st.tail_probes},
        {"first_fragment_copies", st.first_fragment_copies},
        {"repair_copies", st.repair_copies},
        {"parity_adus", st.parity_adus},
        {"parity_fragments", st.parity_fragments},
        {"parity_code", sender.config().cauchy_parity ? "cauchy" : "xor"},  // as the handshake settled it
        {"parity_count", parity_count_name(sender.config().header_version)},
        {"parity_planned", st.parity_planned},
        {"parity_rule", sender.config().parity_rule == ParityRule::value ? "value" : "residual"},
        {"parity_declined", st.parity_declined},
        {"loss_estimate", sender.loss_estimate() ? nlohmann::ordered_json(*sender.loss_estimate()) : nullptr},
        {"paced_waits", st.paced_waits},
        {"acked_late", st.acked_late},
        {"gap_losses", st.gap_losses},
        {"dropped_unsent", st.dropped_unsent},
        {"dropped_unrepaired", st.dropped_unrepaired},
        {"rejected_adus", st.rejected_adus},
        {"rwnd_probes", st.probes},
        {"rtt_ms", millis(sender.rtt().srtt())},
        {"rto_ms", millis(sender.rtt().rto())},
        {"cwnd_bytes", sender.congestion().window()},
        {"loss_events", sender.congestion().loss_events()}};
}

nlohmann::ordered_json socket_stats_json(const SocketStats& stats) {
    return {{"datagrams_in", stats.datagrams_in},
            {"datagrams_out", stats.datagrams_out},
            {"foreign", stats.foreign},
            {"unusable", stats.unusable},
            {"send_errors", stats.send_errors},
            {"handshake_rtt_ms",
             stats.handshake_rtt ? nlohmann::ordered_json(millis(*stats.handshake_rtt)) : nullptr}};
}

nlohmann::ordered_json stream_stats_json(const StreamStats& st) {
    return {{"fragments", st.fragments},
            {"duplicates", st.duplicates},
            {"late_fragments", st.late_fragments},
            {"adus_complete", st.adus_complete},
            {"adus_partial", st.adus_partial},
            {"adus_lost", st.adus_lost},
            {"adus_whole_lost", st.adus_whole_lost},
            {"key_adus_complete", st.key_adus_complete},
            {"key_adus_incomplete", st.key_adus_incomplete}};
}

nlohmann::ordered_json receiver_stats_json(const Reassembler& receiver, TimePoint now) {
    const ReceiverStats& rs = receiver.stats();
    return {{"packets", rs.packets},
            {"invalid", rs.invalid},
            {"out_of_window", rs.out_of_window},
            {"over_limit", rs.over_limit},
            {"nacks", rs.nacks},
            {"reordered", rs.reordered},
            {"spurious_requests", rs.spurious_requests},
            {"reorder_window_ms", millis(receiver.reorder_window(now))},
            {"parity_fragments", rs.parity_fragments},
            {"parity_recovered", rs.parity_recovered},
            {"parity_code", receiver.config().cauchy_parity ? "cauchy" : "xor"},
            {"parity_count", parity_count_name(receiver.config().header_version)}};
}

}  // namespace sg::mssr
