#include "punch/rendezvous.hpp"

#include <algorithm>

namespace sg::punch {

Rendezvous::Answer Rendezvous::on_datagram(Clock::time_point now, const stun::Address& from, Bytes datagram) {
    Answer answer;
    if (!is_register_request(datagram)) return answer;
    const auto message = stun::parse_message(datagram);
    if (!message) return answer;
    const Bytes secret = secret_key(options_.secret);
    if (!secret.empty()) {
        // Before anything else is read: an unauthenticated request learns nothing and changes nothing.
        const auto integrity = stun::check_integrity(*message, secret);
        if (integrity != stun::Integrity::ok) {
            ++stats_.unauthorized;
            answer.unauthorized = integrity == stun::Integrity::absent ? "unsigned" : "wrong key";
            build_register_error(answer.reply, message->transaction_id(), 401);
            return answer;
        }
    }
    const auto request = read_register(*message);
    if (!request) {
        ++stats_.refused;
        build_register_error(answer.reply, message->transaction_id(), 400);
        return answer;
    }
    ++stats_.registrations;
    Key key{std::string(request->id), std::string(request->peer)};
    auto it = entries_.find(key);
    if (it != entries_.end() && now - it->second.last_seen > options_.entry_lifetime) {
        entries_.erase(it);
        it = entries_.end();
    }
    if (it == entries_.end()) {
        if (entries_.size() >= options_.max_entries) {
            ++stats_.refused;
            build_register_error(answer.reply, message->transaction_id(), 508);
            return answer;
        }
        it = entries_.emplace(std::move(key), Entry{from, std::nullopt, std::nullopt, now, std::nullopt})
                 .first;
    }
    Entry& self = it->second;
    // A client that restarted (or whose NAT changed its mapping) punches anew: a new pairing time for both.
    const bool moved = self.mapped != from;
    self.mapped = from;
    self.last_seen = now;
    if (request->relayed) self.relayed = request->relayed;
    if (request->port_step) self.port_step = request->port_step;
    if (moved) self.paired_at.reset();

    RegisterAnswer reply{from, std::nullopt, 0, std::nullopt, std::nullopt};
    const auto other = entries_.find(Key{it->first.second, it->first.first});
    if (other != entries_.end() && now - other->second.last_seen <= options_.entry_lifetime) {
        if (!self.paired_at || !other->second.paired_at) {
            self.paired_at = now;
            other->second.paired_at = now;
            ++stats_.pairings;
            answer.paired = std::make_pair(it->first.first, it->first.second);
        }
        const auto punch_at = *self.paired_at + options_.punch_lead;
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(punch_at - now);
        reply.peer_mapped = other->second.mapped;
        reply.delay_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(0, wait.count()));
        reply.peer_relayed = other->second.relayed;
        reply.peer_port_step = other->second.port_step;
    }
    build_register_answer(answer.reply, message->transaction_id(), reply, secret);
    return answer;
}

void Rendezvous::expire(Clock::time_point now) {
    std::erase_if(entries_,
                  [&](const auto& item) { return now - item.second.last_seen > options_.entry_lifetime; });
}

}  // namespace sg::punch
