// `streamgate detect`: the passive RTP/RTSP stream detector over a capture file or a live interface.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "app/subcommand.hpp"
#include "detect/capture_reader.hpp"
#include "detect/detector.hpp"
#include "detect/report_table.hpp"
#include "detect_capture/file_detect.hpp"
#include "detect_capture/mapped_file.hpp"
#include "detect_capture/pcap_source.hpp"
#include "detect_capture/report_json.hpp"
#include "net/relay.hpp"

namespace sg::app {
namespace {

struct DetectFlags {
    std::string file;
    std::string interface;
    std::string filter;
    std::string json;
    unsigned min_packets = 4;
    std::size_t max_flows = 200000;
    std::size_t max_streams = 100000;
    double flow_timeout_s = 60;
    unsigned threads = 0;  // 0: one per core
    bool quiet = false;
};

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int /*signal*/) {
    g_stop.store(true);
}

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a blocking read returns so the loop sees the flag
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

std::string summary_line(const detect::Detector& d, double elapsed_s) {
    const auto& c = d.counters();
    char line[320];
    std::snprintf(
        line, sizeof line,
        "%llu frames (%.0f/s), %zu streams (heuristic %llu, rtsp %llu, interleaved %llu, sip %llu), "
        "%llu RTP, %llu RTCP, %zu flows tracked",
        static_cast<unsigned long long>(c.frames),
        elapsed_s > 0 ? static_cast<double>(c.frames) / elapsed_s : 0.0, d.streams().size(),
        static_cast<unsigned long long>(c.streams_heuristic), static_cast<unsigned long long>(c.streams_rtsp),
        static_cast<unsigned long long>(c.streams_rtsp_interleaved),
        static_cast<unsigned long long>(c.streams_sip), static_cast<unsigned long long>(c.rtp_packets),
        static_cast<unsigned long long>(c.rtcp_packets), d.tracked_flows());
    return line;
}

detect::DetectorConfig detector_config(const DetectFlags& flags) {
    detect::DetectorConfig config;
    config.min_packets = flags.min_packets;
    config.max_flows = flags.max_flows;
    config.max_streams = flags.max_streams;
    config.flow_timeout_ns = static_cast<std::int64_t>(flags.flow_timeout_s * 1e9);
    return config;
}

// The table on stdout (stderr with --json -), the JSON report, the summary line; the exit status.
int report(const DetectFlags& flags, const detect::Detector& detector, const detect::RunSummary& summary) {
    // With the JSON on stdout the table goes to stderr, so stdout is one JSON document a program can read.
    (flags.json == "-" ? std::cerr : std::cout)
        << detect::format_table(detector.streams(), summary.first_time_ns) << std::flush;
    if (!flags.json.empty()) {
        const std::string text = detect::to_json(detector, summary);
        if (flags.json == "-") {
            std::cout << text;
        } else {
            std::ofstream out(flags.json);
            out << text;
            if (!out) {
                std::cerr << "streamgate detect: cannot write " << flags.json << '\n';
                return 2;
            }
        }
    }
    if (!flags.quiet) std::cerr << "streamgate detect: " << summary_line(detector, summary.elapsed_s) << '\n';
    if (!summary.error.empty()) {
        std::cerr << "streamgate detect: " << summary.source << ": capture read error after "
                  << detector.counters().frames << " frames: " << summary.error << '\n';
        return 1;
    }
    return 0;
}

// A capture file that maps and starts with a pcap or pcapng header: read from memory, on one thread per
// core. nullopt when the file is not one (a pipe, an unknown format): libpcap's stream reader takes it.
std::optional<int> run_mapped_file(const DetectFlags& flags) {
    std::string error;
    const auto mapped = detect::MappedFile::open(flags.file, error);
    if (!mapped) return std::nullopt;
    detect::CaptureReader probe;
    if (!probe.open(mapped->bytes(), error)) return std::nullopt;
    if (!detect::is_supported_link_type(probe.first_link_type())) {
        std::cerr << "streamgate detect: unsupported link type "
                  << detect::PcapSource::link_type_name(probe.first_link_type()) << '\n';
        return 2;
    }
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    detect::FileDetectOptions options;
    options.threads = flags.threads != 0 ? flags.threads : std::max(1U, std::thread::hardware_concurrency());
    auto last_report = started;  // outlives the progress callback, which detect_file() calls
    if (!flags.quiet && ::isatty(STDERR_FILENO) == 1) {
        options.progress = [&last_report, started](const detect::Detector& detector, std::size_t offset,
                                                   std::size_t size) {
            const auto now = Clock::now();
            if (now - last_report < std::chrono::seconds(1)) return;
            last_report = now;
            const double elapsed = std::chrono::duration<double>(now - started).count();
            std::cerr << "streamgate detect: " << summary_line(detector, elapsed) << ", "
                      << offset * 100 / std::max<std::size_t>(size, 1) << "% read\n";
        };
    }
    const auto result = detect::detect_file(mapped->bytes(), detector_config(flags), options);
    detect::RunSummary summary;
    summary.source = flags.file;
    summary.link_type = detect::PcapSource::link_type_name(probe.first_link_type());
    summary.first_time_ns = result.first_time_ns;
    summary.last_time_ns = result.last_time_ns;
    summary.error = result.error;
    summary.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    if (!flags.quiet && !result.single_why.empty())
        std::cerr << "streamgate detect: read on one thread: " << result.single_why << '\n';
    return report(flags, *result.detector, summary);
}

int run_detect(const DetectFlags& flags) {
    net::ignore_sigpipe();  // stdout into a closed pipe (| head) must end the run with an error, not a signal
    const bool live = !flags.interface.empty();
    if (!live)
        if (const auto status = run_mapped_file(flags)) return *status;
    std::string error;
    auto source = live ? detect::PcapSource::open_live(flags.interface, flags.filter, error)
                       : detect::PcapSource::open_file(flags.file, error);
    if (!source) {
        std::cerr << "streamgate detect: " << (live ? flags.interface : flags.file) << ": " << error << '\n';
        return 2;
    }
    if (!detect::is_supported_link_type(source->link_type())) {
        std::cerr << "streamgate detect: unsupported link type " << source->link_type_name() << '\n';
        return 2;
    }
    detect::Detector detector(detector_config(flags));
    if (live) install_stop_handlers();

    const bool progress = !flags.quiet && (live || ::isatty(STDERR_FILENO) == 1);
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    auto last_report = started;
    detect::RunSummary summary;
    summary.source = live ? flags.interface : flags.file;
    summary.link_type = source->link_type_name();
    bool have_time = false;
    std::uint64_t since_check = 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        std::int64_t time_ns = 0;
        Bytes frame;
        const auto next = source->next(time_ns, frame);
        if (next == detect::PcapSource::Next::end) break;
        if (next == detect::PcapSource::Next::error) {
            summary.error = source->error();
            break;
        }
        if (next == detect::PcapSource::Next::frame) {
            if (!have_time) {
                summary.first_time_ns = time_ns;
                have_time = true;
            }
            summary.last_time_ns = time_ns;
            detector.on_frame(source->link_type(), time_ns, frame);
        }
        // Look at the clock only now and then: a file is read at millions of frames per second.
        if (progress && (++since_check >= 65536 || next == detect::PcapSource::Next::timeout)) {
            since_check = 0;
            const auto now = Clock::now();
            if (now - last_report >= std::chrono::seconds(1)) {
                last_report = now;
                const double elapsed = std::chrono::duration<double>(now - started).count();
                std::string line = summary_line(detector, elapsed);
                if (const auto fp = source->file_progress())
                    line += ", " + std::to_string(fp->first * 100 / std::max<std::uint64_t>(fp->second, 1)) +
                            "% read";
                if (const auto drops = source->kernel_drops())
                    line += ", " + std::to_string(*drops) + " dropped";
                std::cerr << "streamgate detect: " << line << '\n';
            }
        }
    }
    summary.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    return report(flags, detector, summary);
}

}  // namespace

Subcommand add_detect_command(CLI::App& app) {
    auto* detect = app.add_subcommand(
        "detect",
        "Find RTP streams in a capture file or on an interface (RTSP/SIP signalling and a heuristic)");
    auto flags = std::make_shared<DetectFlags>();
    auto* file = detect->add_option("-r,--read", flags->file, "Capture file (pcap or pcapng)")
                     ->check(CLI::ExistingFile);
    auto* interface =
        detect->add_option("-i,--interface", flags->interface, "Capture live on this interface");
    file->excludes(interface);
    interface->excludes(file);
    detect->add_option("--filter", flags->filter, "BPF filter for live capture")->needs(interface);
    detect->add_option(
        "--json", flags->json,
        "Write the streams and counters as JSON to this file ('-': stdout, and the table goes to stderr)");
    detect
        ->add_option("--min-packets", flags->min_packets,
                     "Consecutive RTP-like packets before a UDP flow counts as a stream (heuristic)")
        ->check(CLI::Range(1u, detect::k_max_min_packets));
    detect->add_option("--max-flows", flags->max_flows, "Most UDP flows and TCP connections tracked at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
    detect->add_option("--max-streams", flags->max_streams, "Most streams reported")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
    detect
        ->add_option("--flow-timeout", flags->flow_timeout_s,
                     "Seconds (capture time) before an idle flow is dropped")
        ->check(CLI::Range(0.001, 86400.0));
    detect
        ->add_option("--threads", flags->threads,
                     "Threads for a capture file, split by flow (0: one per core); the report is the same "
                     "for any number")
        ->check(CLI::Range(0u, 256u));
    detect->add_flag("-q,--quiet", flags->quiet, "No progress or summary on stderr");
    const auto run = [flags, file, interface]() -> int {
        if (file->count() == 0 && interface->count() == 0) {
            std::cerr << "streamgate detect: give -r FILE or -i INTERFACE\n";
            return 2;
        }
        return run_detect(*flags);
    };
    return {detect, run};
}

}  // namespace sg::app
