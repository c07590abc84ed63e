#include "punch/wire.hpp"

#include <cstdlib>

#include "punch/port_prediction.hpp"

namespace sg::punch {
namespace {

bool name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

Result<std::string_view> read_name(const stun::MessageView& m, std::uint16_t type) noexcept {
    const auto* a = m.find(type);
    if (a == nullptr) return fail("missing name");
    const auto text = stun::read_text(*a);
    if (!text || !valid_name(*text)) return fail("bad name");
    return *text;
}

Result<int> read_port_step(const stun::Attribute& a) noexcept {
    const auto value = stun::read_u32(a);
    if (!value) return fail("bad port step");
    const auto step = static_cast<std::int32_t>(*value);
    if (step == 0 || std::abs(step) > k_max_port_step) return fail("bad port step");
    return step;
}

void add_port_step(stun::MessageBuilder& b, int step) {
    b.add_u32(attr::port_step, static_cast<std::uint32_t>(static_cast<std::int32_t>(step)));
}

bool checked(const stun::MessageView& m, std::uint16_t method) noexcept {
    return m.method() == method && m.has(stun::attr::fingerprint) && stun::fingerprint_ok(m);
}

// MESSAGE-INTEGRITY-SHA256 when there is a key, then FINGERPRINT: the order §14 requires.
void seal(stun::MessageBuilder& b, Bytes key) {
    if (!key.empty()) b.add_message_integrity_sha256(key);
    b.add_fingerprint();
}

}  // namespace

bool authentic(const stun::MessageView& m, Bytes key) noexcept {
    return key.empty() || stun::check_integrity(m, key) == stun::Integrity::ok;
}

bool valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > k_max_name_size) return false;
    for (const char c : name)
        if (!name_char(c)) return false;
    return true;
}

bool is_register_request(Bytes datagram) noexcept {
    constexpr auto type = stun::message_type(stun::Class::request, method::register_);
    return stun::looks_like_stun(datagram) && datagram[0] == (type >> 8) && datagram[1] == (type & 0xFF);
}

void build_register(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, const RegisterRequest& r,
                    Bytes key) {
    stun::MessageBuilder b(out, stun::Class::request, method::register_, tid);
    b.add_text(attr::id, r.id);
    b.add_text(attr::peer, r.peer);
    if (r.relayed) b.add_xor_address(attr::relayed, *r.relayed);
    if (r.port_step) add_port_step(b, *r.port_step);
    seal(b, key);
}

void build_register_answer(std::vector<std::uint8_t>& out, const stun::TransactionId& tid,
                           const RegisterAnswer& a, Bytes key) {
    stun::MessageBuilder b(out, stun::Class::success, method::register_, tid);
    b.add_xor_address(stun::attr::xor_mapped_address, a.mapped);
    if (a.peer_mapped) {
        b.add_xor_address(stun::attr::xor_peer_address, *a.peer_mapped);
        b.add_u32(attr::delay, a.delay_ms);
    }
    if (a.peer_relayed) b.add_xor_address(attr::relayed, *a.peer_relayed);
    if (a.peer_port_step) add_port_step(b, *a.peer_port_step);
    seal(b, key);
}

void build_register_error(std::vector<std::uint8_t>& out, const stun::TransactionId& tid,
                          std::uint16_t code) {
    stun::MessageBuilder b(out, stun::Class::error, method::register_, tid);
    b.add_error_code(code, stun::reason_phrase(code));
    b.add_fingerprint();
}

void build_probe(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::string_view id,
                 std::string_view peer, Bytes key) {
    stun::MessageBuilder b(out, stun::Class::request, method::probe, tid);
    b.add_text(attr::id, id);
    b.add_text(attr::peer, peer);
    seal(b, key);
}

void build_probe_ack(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::string_view id,
                     Bytes key) {
    stun::MessageBuilder b(out, stun::Class::success, method::probe, tid);
    b.add_text(attr::id, id);
    seal(b, key);
}

Result<RegisterRequest> read_register(const stun::MessageView& m) noexcept {
    if (m.message_class() != stun::Class::request || !checked(m, method::register_))
        return fail("not a register request");
    const auto id = read_name(m, attr::id);
    const auto peer = read_name(m, attr::peer);
    if (!id || !peer) return fail("bad id or peer");
    RegisterRequest r{*id, *peer, std::nullopt, std::nullopt};
    if (const auto* a = m.find(attr::relayed)) {
        const auto relayed = stun::read_xor_address(*a, m.transaction_id());
        if (!relayed) return fail("bad relayed address");
        r.relayed = *relayed;
    }
    if (const auto* a = m.find(attr::port_step)) {
        const auto step = read_port_step(*a);
        if (!step) return fail("bad port step");
        r.port_step = *step;
    }
    return r;
}

Result<RegisterAnswer> read_register_answer(const stun::MessageView& m) noexcept {
    if (!checked(m, method::register_)) return fail("not a register answer");
    if (m.message_class() == stun::Class::error) {
        const auto* e = m.find(stun::attr::error_code);
        const auto code = e != nullptr ? stun::read_error_code(*e) : Result<stun::ErrorCode>(fail(""));
        if (code && code->code == 508) return fail("rendezvous table full (508)");
        if (code && code->code == 401)
            return fail("rendezvous refused the registration: missing or wrong --rendezvous-secret (401)");
        return fail("rendezvous refused the registration (400)");
    }
    if (m.message_class() != stun::Class::success) return fail("not a register answer");
    const auto* mapped_attr = m.find(stun::attr::xor_mapped_address);
    if (mapped_attr == nullptr) return fail("no mapped address");
    const auto mapped = stun::read_xor_address(*mapped_attr, m.transaction_id());
    if (!mapped) return fail("bad mapped address");
    RegisterAnswer a{*mapped, std::nullopt, 0, std::nullopt, std::nullopt};
    if (const auto* p = m.find(stun::attr::xor_peer_address)) {
        const auto peer = stun::read_xor_address(*p, m.transaction_id());
        const auto* d = m.find(attr::delay);
        if (!peer || d == nullptr) return fail("bad peer address");
        const auto delay = stun::read_u32(*d);
        if (!delay) return fail("bad delay");
        a.peer_mapped = *peer;
        a.delay_ms = *delay;
    }
    if (const auto* r = m.find(attr::relayed)) {
        const auto relayed = stun::read_xor_address(*r, m.transaction_id());
        if (!relayed) return fail("bad relayed address");
        a.peer_relayed = *relayed;
    }
    if (const auto* s = m.find(attr::port_step)) {
        const auto step = read_port_step(*s);
        if (!step) return fail("bad port step");
        a.peer_port_step = *step;
    }
    return a;
}

Result<Probe> read_probe(const stun::MessageView& m) noexcept {
    if (!checked(m, method::probe)) return fail("not a probe");
    const auto id = read_name(m, attr::id);
    if (!id) return fail("bad id");
    if (m.message_class() == stun::Class::success) return Probe{true, *id, {}};
    if (m.message_class() != stun::Class::request) return fail("not a probe");
    const auto peer = read_name(m, attr::peer);
    if (!peer) return fail("bad peer");
    return Probe{false, *id, *peer};
}

}  // namespace sg::punch
