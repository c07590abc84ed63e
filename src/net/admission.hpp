#pragma once
// Connection caps applied at accept, shared by the SOCKS server, the RTSP proxy listener and serve: at most
// `max_total` connections overall and `max_per_client` from one client address (0 = no limit). A connection
// holds a Slot from accept to its end; the slot gives its place back however the connection ends, even when
// its coroutine frame is destroyed after the server (at io_context teardown), since slots share the state.
//
// Threading: serve accepts on one event loop and runs connections on others, so the counts are guarded by a
// mutex (taken twice per connection, never per packet).

#include <asio/ip/address.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace sg::net {

struct AdmissionLimits {
    std::uint32_t max_total = 0;       // 0: no limit
    std::uint32_t max_per_client = 0;  // 0: no limit
};

class Admission {
    struct State;

public:
    enum class Verdict : std::uint8_t { admitted, over_total, over_per_client };

    // One admitted connection's place. Move-only; empty when default-constructed or moved from.
    class Slot {
    public:
        Slot() = default;
        Slot(Slot&& other) noexcept = default;
        Slot& operator=(Slot&& other) noexcept;
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        ~Slot();
        explicit operator bool() const noexcept { return state_ != nullptr; }

    private:
        friend class Admission;
        Slot(std::shared_ptr<State> state, asio::ip::address client);
        void release() noexcept;
        std::shared_ptr<State> state_;
        asio::ip::address client_;
    };

    struct Result {
        Verdict verdict = Verdict::admitted;
        Slot slot;  // set when admitted
    };

    explicit Admission(AdmissionLimits limits = {});

    // New limits apply to the next admissions; connections over them keep running (SIGHUP reload).
    void set_limits(AdmissionLimits limits);
    AdmissionLimits limits() const;

    // A place for one connection from `client` (unmap v4-mapped addresses first), or why there is none.
    Result admit(const asio::ip::address& client);

    std::uint64_t active() const;
    std::uint64_t active(const asio::ip::address& client) const;

private:
    std::shared_ptr<State> state_;
};

const char* to_string(Admission::Verdict verdict) noexcept;

}  // namespace sg::net
