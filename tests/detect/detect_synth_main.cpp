// detect_synth: writes a synthetic capture (pcap, Ethernet) and its truth as JSON, for the detector's
// benchmark and for reproducing test cases by hand.
//   detect_synth --out capture.pcap --truth truth.json --streams 200 --packets 20000 --noise 100000 --seed 7

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "synthetic_capture.hpp"

namespace {

int usage() {
    std::fprintf(
        stderr,
        "usage: detect_synth --out FILE [--truth FILE] [--streams N] [--packets N] [--noise N] [--dns N]\n"
        "                    [--loss P] [--duplicate P] [--reorder P] [--jitter-ms MS] [--seed N]\n"
        "                    [--duration-s S] [--no-rtcp]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sg::detect;
    synth::Options options;
    std::string out;
    std::string truth_path;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (arg == "--no-rtcp") {
            options.rtcp = false;
            continue;
        }
        if ((v = value()) == nullptr) return usage();
        if (arg == "--out")
            out = v;
        else if (arg == "--truth")
            truth_path = v;
        else if (arg == "--streams")
            options.streams = std::strtoull(v, nullptr, 10);
        else if (arg == "--packets")
            options.packets_per_stream = std::strtoull(v, nullptr, 10);
        else if (arg == "--noise")
            options.noise_packets = std::strtoull(v, nullptr, 10);
        else if (arg == "--dns")
            options.dns_packets = std::strtoull(v, nullptr, 10);
        else if (arg == "--loss")
            options.loss = std::strtod(v, nullptr);
        else if (arg == "--duplicate")
            options.duplicate = std::strtod(v, nullptr);
        else if (arg == "--reorder")
            options.reorder = std::strtod(v, nullptr);
        else if (arg == "--jitter-ms")
            options.jitter_ns = static_cast<std::int64_t>(std::strtod(v, nullptr) * 1e6);
        else if (arg == "--duration-s")
            options.duration_ns = static_cast<std::int64_t>(std::strtod(v, nullptr) * 1e9);
        else if (arg == "--seed")
            options.seed = std::strtoull(v, nullptr, 10);
        else
            return usage();
    }
    if (out.empty()) return usage();
    synth::PcapWriter writer(out);
    if (!writer.ok()) {
        std::fprintf(stderr, "detect_synth: cannot write %s\n", out.c_str());
        return 1;
    }
    synth::Generator generator(options);
    synth::Frame frame;
    std::uint64_t frames = 0;
    while (generator.next(frame)) {
        writer.write(frame);
        ++frames;
    }
    std::fprintf(stderr, "detect_synth: %llu frames (%llu RTP/RTCP, %llu noise and DNS) in %s\n",
                 static_cast<unsigned long long>(frames),
                 static_cast<unsigned long long>(generator.rtp_frames()),
                 static_cast<unsigned long long>(generator.noise_frames()), out.c_str());
    if (truth_path.empty()) return 0;
    std::FILE* f = std::fopen(truth_path.c_str(), "w");
    if (f == nullptr) {
        std::fprintf(stderr, "detect_synth: cannot write %s\n", truth_path.c_str());
        return 1;
    }
    std::fprintf(f, "{\"frames\": %llu, \"streams\": [\n", static_cast<unsigned long long>(frames));
    const auto& truth = generator.truth();
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const auto& t = truth[i];
        std::fprintf(f,
                     "  {\"src\": \"%s\", \"src_port\": %u, \"dst\": \"%s\", \"dst_port\": %u, \"ssrc\": %u, "
                     "\"payload_type\": %u, \"packets\": %llu, \"expected\": %lld, \"lost\": %lld, "
                     "\"dropped\": %llu, \"duplicates\": %llu, \"reordered\": %llu}%s\n",
                     to_string(t.src).c_str(), t.src_port, to_string(t.dst).c_str(), t.dst_port, t.ssrc,
                     t.payload_type, static_cast<unsigned long long>(t.packets),
                     static_cast<long long>(t.expected), static_cast<long long>(t.lost),
                     static_cast<unsigned long long>(t.dropped),
                     static_cast<unsigned long long>(t.duplicates),
                     static_cast<unsigned long long>(t.reordered), i + 1 < truth.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
    return 0;
}
