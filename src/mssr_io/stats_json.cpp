#include "mssr_io/stats_json.hpp"

namespace sg::mssr {
namespace {

double millis(std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
}

}  // namespace

nlohmann::ordered_json sender_stats_json(const Sender& sender) {
    const SenderStats& st = sender.stats();
    return {{"adus", st.adus},
            {"fragments_sent", st.fragments_sent},
            {"retransmissions", st.retransmissions},
            {"fast_retransmits", st.fast_retransmits},
            {"timeouts", st.timeouts},
            {"tail_probes", st.tail_probes},
            {"first_fragment_copies", st.first_fragment_copies},
            {"repair_copies", st.repair_copies},
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

}  // namespace sg::mssr
