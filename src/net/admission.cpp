#include "net/admission.hpp"

#include <utility>

namespace sg::net {

struct Admission::State {
    mutable std::mutex mutex;
    AdmissionLimits limits;
    std::uint64_t total = 0;
    std::map<asio::ip::address, std::uint32_t> per_client;  // only clients with a live connection
};

Admission::Slot::Slot(std::shared_ptr<State> state, asio::ip::address client)
    : state_(std::move(state)), client_(std::move(client)) {}

Admission::Slot& Admission::Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        release();
        state_ = std::move(other.state_);
        client_ = std::move(other.client_);
    }
    return *this;
}

Admission::Slot::~Slot() {
    release();
}

void Admission::Slot::release() noexcept {
    if (!state_) return;
    {
        const std::lock_guard lock(state_->mutex);
        --state_->total;
        const auto it = state_->per_client.find(client_);
        if (it != state_->per_client.end() && --it->second == 0) state_->per_client.erase(it);
    }
    state_.reset();
}

Admission::Admission(AdmissionLimits limits) : state_(std::make_shared<State>()) {
    state_->limits = limits;
}

void Admission::set_limits(AdmissionLimits limits) {
    const std::lock_guard lock(state_->mutex);
    state_->limits = limits;
}

AdmissionLimits Admission::limits() const {
    const std::lock_guard lock(state_->mutex);
    return state_->limits;
}

Admission::Result Admission::admit(const asio::ip::address& client) {
    const std::lock_guard lock(state_->mutex);
    const AdmissionLimits& limits = state_->limits;
    if (limits.max_total != 0 && state_->total >= limits.max_total) return {Verdict::over_total, {}};
    const auto it = state_->per_client.find(client);
    if (limits.max_per_client != 0 && it != state_->per_client.end() && it->second >= limits.max_per_client)
        return {Verdict::over_per_client, {}};
    ++state_->total;
    ++state_->per_client[client];
    return {Verdict::admitted, Slot(state_, client)};
}

std::uint64_t Admission::active() const {
    const std::lock_guard lock(state_->mutex);
    return state_->total;
}

std::uint64_t Admission::active(const asio::ip::address& client) const {
    const std::lock_guard lock(state_->mutex);
    const auto it = state_->per_client.find(client);
    return it == state_->per_client.end() ? 0 : it->second;
}

const char* to_string(Admission::Verdict verdict) noexcept {
    switch (verdict) {
        case Admission::Verdict::admitted:
            return "admitted";
        case Admission::Verdict::over_total:
            return "over the total connection limit";
        case Admission::Verdict::over_per_client:
            return "over the per-client connection limit";
    }
    return "?";
}

}  // namespace sg::net
