#include "punch/nat_classifier.hpp"

#include "punch/port_prediction.hpp"

namespace sg::punch {
namespace {

using namespace std::chrono_literals;
constexpr auto k_retransmit = 300ms;
constexpr auto k_give_up = 1500ms;

}  // namespace

std::string_view to_string(Behaviour b) noexcept {
    switch (b) {
        case Behaviour::unknown:
            return "unknown";
        case Behaviour::endpoint_independent:
            return "endpoint-independent";
        case Behaviour::address_dependent:
            return "address-dependent";
        case Behaviour::address_and_port_dependent:
            return "address-and-port-dependent";
    }
    return "?";
}

std::string_view nat_name(const NatClass& c) noexcept {
    if (c.mapping == Behaviour::unknown) return "unknown";
    if (c.mapping != Behaviour::endpoint_independent) return "symmetric";
    switch (c.filtering) {
        case Behaviour::endpoint_independent:
            return "full cone";
        case Behaviour::address_dependent:
            return "restricted cone";
        case Behaviour::address_and_port_dependent:
            return "port-restricted cone";
        case Behaviour::unknown:
            break;
    }
    return "unknown";
}

void NatClassifier::start(Clock::time_point now, std::vector<Datagram>& out) {
    if (step_ == Step::idle) send(now, Step::first, out);
}

void NatClassifier::send(Clock::time_point now, Step step, std::vector<Datagram>& out) {
    step_ = step;
    for (auto& b : tid_)
        b = static_cast<std::uint8_t>(random_());
    stun::Address to = server_;
    if (step == Step::mapping_two) {
        to = *other_;
        to.port = server_.port;
    } else if (step == Step::mapping_three) {
        to = *other_;
    }
    request_ = Datagram{to, {}};
    stun::MessageBuilder b(request_.bytes, stun::Class::request, stun::method::binding, tid_);
    if (step == Step::filtering_two) b.add_change_request(true, true);
    if (step == Step::filtering_three) b.add_change_request(false, true);
    b.add_fingerprint();
    first_sent_ = last_sent_ = now;
    out.push_back(request_);
}

bool NatClassifier::on_message(Clock::time_point now, const stun::MessageView& m,
                               std::vector<Datagram>& out) {
    if (step_ == Step::idle || step_ == Step::done || m.transaction_id() != tid_ ||
        m.method() != stun::method::binding)
        return false;
    if (m.message_class() != stun::Class::success) {
        advance(now, std::nullopt, out);  // e.g. 420: the server cannot change its address
        return true;
    }
    std::optional<stun::Address> mapped;
    if (const auto* a = m.find(stun::attr::xor_mapped_address))
        if (const auto address = stun::read_xor_address(*a, m.transaction_id())) mapped = *address;
    if (step_ == Step::first)
        if (const auto* a = m.find(stun::attr::other_address))
            if (const auto other = stun::read_address(*a); other && *other != server_) other_ = *other;
    advance(now, mapped, out);
    return true;
}

// One test answered (with `mapped`), or given up (nullopt): the next one.
void NatClassifier::advance(Clock::time_point now, std::optional<stun::Address> mapped,
                            std::vector<Datagram>& out) {
    switch (step_) {
        case Step::first:
            m1_ = mapped;
            if (!m1_ || !other_) {
                step_ = Step::done;
                return;
            }
            send(now, Step::filtering_two, out);
            return;
        case Step::filtering_two:
            if (mapped) {
                result_.filtering = Behaviour::endpoint_independent;
                send(now, Step::mapping_two, out);
                return;
            }
            send(now, Step::filtering_three, out);
            return;
        case Step::filtering_three:
            result_.filtering = mapped ? Behaviour::address_dependent : Behaviour::address_and_port_dependent;
            send(now, Step::mapping_two, out);
            return;
        case Step::mapping_two:
            m2_ = mapped;
            if (m2_ && *m2_ == *m1_) result_.mapping = Behaviour::endpoint_independent;
            if (!m2_ || *m2_ == *m1_) {
                step_ = Step::done;
                return;
            }
            send(now, Step::mapping_three, out);
            return;
        case Step::mapping_three:
            m3_ = mapped;
            if (mapped)
                result_.mapping =
                    *mapped == *m2_ ? Behaviour::address_dependent : Behaviour::address_and_port_dependent;
            step_ = Step::done;
            return;
        case Step::idle:
        case Step::done:
            return;
    }
}

std::optional<int> NatClassifier::port_step() const noexcept {
    if (step_ != Step::done || result_.mapping != Behaviour::address_and_port_dependent || !m1_ || !m2_ ||
        !m3_)
        return std::nullopt;
    return sequential_step(m1_->port, m2_->port, m3_->port);
}

void NatClassifier::tick(Clock::time_point now, std::vector<Datagram>& out) {
    if (step_ == Step::idle || step_ == Step::done) return;
    if (now - first_sent_ >= k_give_up) {
        advance(now, std::nullopt, out);
        return;
    }
    if (now - last_sent_ >= k_retransmit) {
        last_sent_ = now;
        out.push_back(request_);
    }
}

}  // namespace sg::punch
