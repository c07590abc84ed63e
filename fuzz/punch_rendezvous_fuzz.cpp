// libFuzzer target for the rendezvous protocol of `streamgate punch` (src/punch/wire.hpp).
//  1. The input, as one datagram, goes to the rendezvous server's table from two source addresses at
//     stepping times: every answer is a valid STUN Register answer (success or error) with FINGERPRINT, the
//     table never holds more than its bound, and a success answer names the sender's address.
//  2. A Register request that reads back is rebuilt and must read back to the same names and address.
//  3. A parsed input goes to the NAT classifier in its first test, then time runs out on every test: it
//     always ends.
//  4. The input goes to a client state machine in each state it can reach from the outside (registering,
//     then punching after a fuzzed answer): nothing crashes, and delivered data is a view of the input.
//     The machine takes only answers to its own requests, so a Register answer read from the input is
//     also rebuilt with the transaction ID of the machine's Register and delivered first.
//  5. The same input to a rendezvous with a secret: nothing unsigned is taken (401, nothing registered).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "punch/nat_classifier.hpp"
#include "punch/punch_machine.hpp"
#include "punch/rendezvous.hpp"

namespace {

using namespace sg::punch;
using namespace std::chrono_literals;

void check(bool property) {
    if (!property) __builtin_trap();
}

const sg::stun::Address k_a = sg::stun::make_ipv4(0xC6120B02, 40000);
const sg::stun::Address k_b = sg::stun::make_ipv4(0xC6120C02, 40001);
const sg::stun::Address k_server = sg::stun::make_ipv4(0xC6120001, 3478);

void check_answer(const std::vector<std::uint8_t>& reply, const sg::stun::Address& to) {
    if (reply.empty()) return;
    const auto m = sg::stun::parse_message(reply);
    check(m.ok());
    check(sg::stun::fingerprint_ok(*m) && m->has(sg::stun::attr::fingerprint));
    const auto answer = read_register_answer(*m);
    check(answer.ok() == (m->message_class() == sg::stun::Class::success));
    if (answer) check(answer->mapped == to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    Rendezvous rendezvous(RendezvousOptions{1, 30s, 1s, {}});
    auto now = Rendezvous::Clock::time_point{} + 1h;
    for (const auto& from : {k_a, k_b, k_a}) {
        const auto answer = rendezvous.on_datagram(now, from, input);
        check_answer(answer.reply, from);
        check(rendezvous.size() <= 1);
        now += 20s;
    }

    if (const auto m = sg::stun::parse_message(input)) {
        if (const auto r = read_register(*m)) {
            std::vector<std::uint8_t> rebuilt;
            build_register(rebuilt, m->transaction_id(), *r);
            const auto m2 = sg::stun::parse_message(rebuilt);
            check(m2.ok());
            const auto r2 = read_register(*m2);
            check(r2.ok() && r2->id == r->id && r2->peer == r->peer && r2->relayed == r->relayed &&
                  r2->port_step == r->port_step);
        }
    }

    if (const auto m = sg::stun::parse_message(input)) {
        NatClassifier classifier(k_server, 1);
        std::vector<Datagram> sent;
        classifier.start(PunchMachine::Clock::time_point{} + 1h, sent);
        (void)classifier.on_message(PunchMachine::Clock::time_point{} + 1h, *m, sent);
        for (int i = 1; i <= 40 && !classifier.done(); ++i)
            classifier.tick(PunchMachine::Clock::time_point{} + 1h + i * 500ms, sent);
        check(classifier.done());
    }

    PunchOptions options;
    options.id = "a";
    options.peer = "b";
    options.rendezvous = k_server;
    options.turn_server = k_server;
    options.turn_user = "u";
    options.turn_password = "p";
    PunchMachine machine(options);
    std::vector<Datagram> out;
    const auto t0 = PunchMachine::Clock::time_point{} + 1h;
    machine.start(t0, out);
    if (const auto m = sg::stun::parse_message(input); m && !out.empty()) {
        if (const auto answer = read_register_answer(*m)) {
            const auto request = sg::stun::parse_message(out.front().bytes);
            check(request.ok());
            std::vector<std::uint8_t> rebuilt;
            build_register_answer(rebuilt, request->transaction_id(), *answer);
            (void)machine.on_datagram(t0, k_server, rebuilt, out);
        }
    }
    for (const auto& from : {k_server, k_b}) {
        const auto delivered = machine.on_datagram(t0, from, input, out);
        if (delivered)
            check(delivered->data() >= data && delivered->data() + delivered->size() <= data + size);
        machine.tick(t0 + 5s, out);
    }

    RendezvousOptions with_secret;
    with_secret.secret = "s3cret";
    Rendezvous guarded(with_secret);
    const auto answer = guarded.on_datagram(now, k_a, input);
    check_answer(answer.reply, k_a);
    if (const auto m = sg::stun::parse_message(input);
        m && !m->has(sg::stun::attr::message_integrity) && !m->has(sg::stun::attr::message_integrity_sha256))
        check(guarded.size() == 0);
    return 0;
}
