// libFuzzer target for the RTSP ALG's message state machine (alg/alg_machine.hpp), driven like the I/O
// session drives it. The input is a sequence of records:
//   op (1 byte), length (2 bytes, little endian), then `length` bytes (cut short at the end of the input)
// where op bit 0 picks the direction (client to origin, origin to client), bit 1 whether the next port
// pairs asked for are free, and op values 0xf0-0xff instead end a running relay on its own (0xf0-0xf7) or
// stop every relay as at the end of the connection (0xf8-0xff). Properties checked (a violation traps):
//   - a direction buffers no more than one item can hold under the limits (not counting a SETUP waiting for
//     its answer), and nothing once it has fallen back;
//   - a direction that has fallen back forwards exactly the bytes it is fed;
//   - relays stay within max_relays; every start or stop names a relay that was opened and not yet
//     stopped, a relay starts at most once;
//   - after the final stop_relays no opened relay is left: the port pairs never leak.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "alg/alg_machine.hpp"

namespace {

using namespace sg;
using namespace sg::alg;

void check(bool ok) {
    if (!ok) __builtin_trap();
}

enum class RelayState : std::uint8_t { opened, running };

class Driver {
public:
    Driver() : machine_(make_config()) {}

    void feed(Direction from, Bytes bytes, bool ports_free) {
        const bool was_parsing = machine_.parsing(from);
        std::size_t out = 0;
        Bytes input = bytes;
        RelayId asked = 0;
        for (;;) {
            machine_.feed(from, input, step_);
            input = {};
            out += step_.bytes.size();
            apply(step_.actions);
            if (!step_.open) break;
            check(from == Direction::client_to_origin);
            check(step_.open->id != asked);  // an answered question is never asked again
            asked = step_.open->id;
            if (ports_free) {
                relays_[step_.open->id] = RelayState::opened;
                machine_.relay_opened(step_.open->id, 30000, 30002);
            } else {
                machine_.relay_unavailable(step_.open->id);
            }
        }
        if (!was_parsing) check(out == bytes.size() && step_.actions.empty());
        check(machine_.buffered(from) <= max_buffered());
        if (!machine_.parsing(from)) check(machine_.buffered(from) == 0);
        check(machine_.live_relays() <= k_max_relays);
    }

    void end_one() {
        for (auto& [id, state] : relays_) {
            if (state == RelayState::running) {
                machine_.relay_ended(id);
                relays_.erase(id);
                return;
            }
        }
    }

    void stop_all() {
        std::vector<AlgAction> actions;
        machine_.stop_relays("closed", actions);
        apply(actions);
        check(relays_.empty());
        check(machine_.live_relays() == 0);
    }

private:
    static constexpr std::size_t k_max_relays = 4;

    static AlgMachineConfig make_config() {
        AlgMachineConfig config;
        config.limits.max_blank_prefix = 64;
        config.limits.max_start_line = 256;
        config.limits.max_header_bytes = 1024;
        config.limits.max_headers = 16;
        config.limits.max_body = 2048;
        config.max_relays = k_max_relays;
        config.origin_facing_host = "198.18.3.1";
        config.client_facing_host = "2001:2:0:2::1";
        config.client_host = "2001:2:0:2::2";
        config.rewrite_sdp_family = true;
        config.client_facing_ipv6 = true;
        return config;
    }

    // One item: an interleaved frame ($, channel, 16-bit length) or a message under the limits, after the
    // blank lines allowed in front of it.
    std::size_t max_buffered() const {
        const rtsp::Limits limits = make_config().limits;
        const std::size_t message = limits.max_start_line + 2 + limits.max_header_bytes + limits.max_body;
        return limits.max_blank_prefix + std::max<std::size_t>(message, 4 + 65535);
    }

    void apply(const std::vector<AlgAction>& actions) {
        for (const AlgAction& action : actions) {
            if (const auto* start = std::get_if<StartRelay>(&action)) {
                const auto it = relays_.find(start->id);
                check(it != relays_.end() && it->second == RelayState::opened);
                it->second = RelayState::running;
            } else if (const auto* stop = std::get_if<StopRelay>(&action)) {
                check(relays_.erase(stop->id) == 1);
                check(!stop->reason.empty());
            }
        }
    }

    AlgMachine machine_;
    AlgStep step_;
    std::map<RelayId, RelayState> relays_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Driver driver;
    Bytes input(data, size);
    while (!input.empty()) {
        const std::uint8_t op = input[0];
        input = input.subspan(1);
        if (op >= 0xf8) {
            driver.stop_all();
            continue;
        }
        if (op >= 0xf0) {
            driver.end_one();
            continue;
        }
        std::size_t length = 0;
        if (input.size() >= 2) {
            length = input[0] | (static_cast<std::size_t>(input[1]) << 8);
            input = input.subspan(2);
        } else {
            input = {};
        }
        const Bytes chunk = input.first(std::min(length, input.size()));
        input = input.subspan(chunk.size());
        driver.feed((op & 1) != 0 ? Direction::origin_to_client : Direction::client_to_origin, chunk,
                    (op & 2) != 0);
    }
    driver.stop_all();
    return 0;
}
