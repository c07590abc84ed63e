#include "alg/alg_machine.hpp"

#include <utility>

#include "alg/sdp_family_rewrite.hpp"
#include "common/text.hpp"
#include "rtsp/session_header.hpp"

namespace sg::alg {
namespace {

constexpr std::size_t k_max_pending_teardowns = 16;
constexpr std::size_t k_max_pending_refusals = 16;

void append(std::vector<std::uint8_t>& out, Bytes bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void append(std::vector<std::uint8_t>& out, std::string_view text) {
    out.insert(out.end(), text.begin(), text.end());
}

std::string cseq_of(const rtsp::Headers& headers) {
    const std::string* value = headers.get("CSeq");
    return value == nullptr ? std::string() : std::string(trim(*value));
}

std::string session_id_of(const rtsp::Headers& headers) {
    const std::string* value = headers.get("Session");
    if (value == nullptr) return {};
    auto parsed = rtsp::parse_session(*value);
    return parsed ? parsed->id : std::string();
}

// One keep-alive per step is enough: touching is idempotent.
void touch(AlgStep& step) {
    if (step.actions.empty() || !std::holds_alternative<TouchRelays>(step.actions.back()))
        step.actions.emplace_back(TouchRelays{});
}

// Only the client direction may write to the client, so a refused SETUP is not answered there: the origin
// gets an OPTIONS with the same CSeq in its place, and its reply is turned into the refusal. That keeps the
// replies in the order the player pipelined its requests, and the origin creates no session.
void stand_in_for_refused(rtsp::Request& request) {
    rtsp::Headers headers;
    for (const std::string_view name : {"CSeq", "Session", "User-Agent", "Authorization"}) {
        if (const std::string* value = request.headers.get(name)) headers.add(name, *value);
    }
    request.method = "OPTIONS";
    request.headers = std::move(headers);
    request.body.clear();
}

}  // namespace

AlgMachine::AlgMachine(AlgMachineConfig config) : config_(std::move(config)) {}

void AlgMachine::feed(Direction from, Bytes bytes, AlgStep& step) {
    step.clear();
    Side& s = side(from);
    if (!s.parsing) {
        append(step.bytes, bytes);
        return;
    }
    append(s.buffer, bytes);
    if (from == Direction::client_to_origin && waiting_) {
        step.open = waiting_;  // still in front of the SETUP that needs its relay
        return;
    }
    process(from, step);
}

void AlgMachine::relay_opened(RelayId id, std::uint16_t origin_facing_rtp_port,
                              std::uint16_t client_facing_rtp_port) {
    if (!waiting_ || waiting_->id != id) return;
    waiting_.reset();
    answer_ = OpenAnswer{id, std::pair{origin_facing_rtp_port, client_facing_rtp_port}};
}

void AlgMachine::relay_unavailable(RelayId id) {
    if (!waiting_ || waiting_->id != id) return;
    waiting_.reset();
    answer_ = OpenAnswer{id, std::nullopt};
}

void AlgMachine::relay_ended(RelayId id) {
    running_.erase(id);
}

void AlgMachine::stop_relays(std::string_view reason, std::vector<AlgAction>& actions) {
    for (const auto& [cseq, pending] : pending_setups_)
        actions.emplace_back(StopRelay{pending.id, reason});
    pending_setups_.clear();
    if (answer_ && answer_->ports) actions.emplace_back(StopRelay{answer_->id, reason});
    answer_.reset();
    for (const auto& [id, session] : running_)
        actions.emplace_back(StopRelay{id, reason});
    running_.clear();
}

// Moves every complete item of the direction's buffer to the step (rewritten where needed). Stops early in
// front of a SETUP that waits for its relay; falls back to passing bytes through when they stop parsing.
void AlgMachine::process(Direction from, AlgStep& step) {
    Side& s = side(from);
    std::size_t offset = 0;
    while (offset < s.buffer.size()) {
        const Bytes rest = Bytes(s.buffer).subspan(offset);
        auto parsed = rtsp::parse_item(rest, config_.limits);
        if (parsed.need_more()) break;
        if (parsed.failed()) {
            step.actions.emplace_back(ParseFallback{from, parsed.error});
            fell_back_ = true;
            s.parsing = false;
            append(step.bytes, rest);
            offset = s.buffer.size();
            break;
        }
        const Bytes raw = rest.first(parsed.consumed);
        if (auto* request = std::get_if<rtsp::Request>(&parsed.value);
            request && from == Direction::client_to_origin) {
            if (!on_request(*request, raw, step)) break;
        } else if (auto* response = std::get_if<rtsp::Response>(&parsed.value);
                   response && from == Direction::origin_to_client) {
            on_response(*response, raw, step);
        } else {
            append(step.bytes, raw);  // interleaved frames, and requests/replies of the server-to-client kind
        }
        offset += parsed.consumed;
    }
    s.buffer.erase(s.buffer.begin(), s.buffer.begin() + static_cast<std::ptrdiff_t>(offset));
}

// False when the request waits for its relay (nothing was forwarded).
bool AlgMachine::on_request(rtsp::Request& request, Bytes raw, AlgStep& step) {
    touch(step);
    if (request.method == "SETUP") {
        const SetupVerdict verdict = rewrite_setup(request, step);
        if (verdict == SetupVerdict::waiting) return false;
        if (verdict == SetupVerdict::refused) stand_in_for_refused(request);
        if (verdict != SetupVerdict::untouched) {
            append(step.bytes, rtsp::to_string(request));
            return true;
        }
    }
    if (request.method == "TEARDOWN") {
        const std::string cseq = cseq_of(request.headers);
        if (!cseq.empty() && teardowns_.size() < k_max_pending_teardowns)
            teardowns_[cseq] = session_id_of(request.headers);
    }
    append(step.bytes, raw);
    return true;
}

// A SETUP for unicast UDP: ask for the two port pairs, then point the origin at the gateway's. Refused when
// the gateway cannot relay it: forwarded untouched, the origin would send media to the gateway's address
// where nothing listens, and the player would wait for it in vain.
AlgMachine::SetupVerdict AlgMachine::rewrite_setup(rtsp::Request& request, AlgStep& step) {
    const std::string* transport = request.headers.get("Transport");
    const std::string cseq = cseq_of(request.headers);
    if (transport == nullptr || cseq.empty()) return SetupVerdict::untouched;
    const auto client_ports = relayable_client_ports(*transport);
    if (!client_ports || pending_setups_.contains(cseq) || refused_.contains(cseq))
        return SetupVerdict::untouched;
    if (answer_) {  // the answer for this very SETUP: the buffer has not moved since the question
        const OpenAnswer answer = *answer_;
        answer_.reset();
        if (!answer.ports) {
            step.actions.emplace_back(SetupRefused{RefusalCause::no_free_ports});
            return refuse(cseq, 453);
        }
        const auto rewritten =
            rewrite_setup_request(*transport, answer.ports->first, config_.origin_facing_host);
        if (!rewritten) {
            step.actions.emplace_back(StopRelay{answer.id, "setup not rewritable"});
            return SetupVerdict::untouched;
        }
        request.headers.set("Transport", *rewritten);
        pending_setups_[cseq] = PendingSetup{answer.id, *client_ports, answer.ports->second};
        return SetupVerdict::rewritten;
    }
    if (live_relays() >= config_.max_relays) {
        step.actions.emplace_back(SetupRefused{RefusalCause::too_many_relays});
        return refuse(cseq, 453);
    }
    waiting_ = OpenRelay{next_id_++, *client_ports};
    step.open = waiting_;
    return SetupVerdict::waiting;
}

AlgMachine::SetupVerdict AlgMachine::refuse(const std::string& cseq, int status) {
    if (refused_.size() >= k_max_pending_refusals) return SetupVerdict::untouched;
    refused_[cseq] = status;
    return SetupVerdict::refused;
}

rtsp::Response AlgMachine::refusal(int status, const std::string& cseq) {
    rtsp::Response response;
    response.status = status;
    response.reason = std::string(rtsp::reason_phrase(status));
    response.headers.add("CSeq", cseq);
    ++refused_setups_;
    return response;
}

void AlgMachine::on_response(rtsp::Response& response, Bytes raw, AlgStep& step) {
    touch(step);
    const std::string cseq = cseq_of(response.headers);
    const bool success = response.status >= 200 && response.status < 300;
    if (auto refused = refused_.find(cseq); refused != refused_.end()) {
        const int status = refused->second;
        refused_.erase(refused);
        append(step.bytes, rtsp::to_string(refusal(status, cseq)));
        return;
    }
    if (auto it = pending_setups_.find(cseq); it != pending_setups_.end()) {
        const PendingSetup pending = it->second;
        pending_setups_.erase(it);
        if (success && finish_setup(response, pending, step)) {
            append(step.bytes, rtsp::to_string(response));
            return;
        }
        step.actions.emplace_back(StopRelay{pending.id, "setup refused"});
    } else if (auto teardown = teardowns_.find(cseq); teardown != teardowns_.end()) {
        const std::string session = std::move(teardown->second);
        teardowns_.erase(teardown);
        if (success) {
            for (auto relay = running_.begin(); relay != running_.end();) {
                if (session.empty() || relay->second == session) {
                    step.actions.emplace_back(StopRelay{relay->first, "teardown"});
                    relay = running_.erase(relay);
                } else {
                    ++relay;
                }
            }
        }
    } else if (rewrite_description(response)) {
        append(step.bytes, rtsp::to_string(response));
        return;
    }
    append(step.bytes, raw);
}

// Across families, a DESCRIBE reply's c= lines name an address of the origin's family; players that take
// their RTP sockets' family from c= need the gateway's client-facing address there (sdp_family_rewrite).
bool AlgMachine::rewrite_description(rtsp::Response& response) const {
    if (response.body.empty() || !config_.rewrite_sdp_family) return false;
    const std::string* type = response.headers.get("Content-Type");
    if (type == nullptr || !iequals(trim(type->substr(0, type->find(';'))), "application/sdp")) return false;
    auto rewritten =
        rewrite_sdp_family(response.body, config_.client_facing_host, config_.client_facing_ipv6);
    if (!rewritten) return false;
    response.body = std::move(*rewritten);
    return true;
}

bool AlgMachine::finish_setup(rtsp::Response& response, const PendingSetup& pending, AlgStep& step) {
    const std::string* transport = response.headers.get("Transport");
    if (transport == nullptr) return false;
    auto rewritten = rewrite_setup_reply(*transport, pending.client_ports, pending.client_facing_port,
                                         config_.client_facing_host, config_.client_host);
    if (!rewritten) return false;
    response.headers.set("Transport", rewritten->transport);
    std::string session = session_id_of(response.headers);
    running_[pending.id] = session;
    step.actions.emplace_back(StartRelay{pending.id, std::move(rewritten->origin), std::move(session)});
    ++media_relays_;
    return true;
}

}  // namespace sg::alg
