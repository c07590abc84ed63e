#pragma once
// Synthetic captures with a known truth, for the detector's tests and benchmark: many RTP streams (IPv4
// and IPv6, some VLAN-tagged) with chosen loss, duplicates, reordering, arrival jitter and sequence and
// timestamp wraps, each with periodic RTCP sender reports, mixed with DNS traffic and random UDP noise
// (half of it starting with an RTP version-2 octet, the case that fools per-packet heuristics).
//
// Frames come out one at a time in capture-time order (a heap of per-source generators), so a capture of
// millions of packets needs memory for the sources only.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/byte_io.hpp"
#include "detect/packet_decoder.hpp"

namespace sg::detect::synth {

struct Options {
    std::uint64_t seed = 1;
    std::size_t streams = 20;
    std::size_t packets_per_stream = 500;  // sequence numbers each stream sends (before impairments)
    double loss = 0.01;                    // per packet probabilities, on packets after the first and
    double duplicate = 0.005;              // before the last `k_clean_edge` of a stream
    double reorder = 0.005;
    std::int64_t jitter_ns = 2'000'000;         // uniform extra arrival delay, 0..jitter_ns
    std::size_t noise_packets = 5000;           // random UDP datagrams (single-packet and short flows)
    std::size_t dns_packets = 1000;             // DNS queries and answers
    std::int64_t duration_ns = 10'000'000'000;  // noise and DNS spread over this time
    bool rtcp = true;                           // one SR + SDES compound per stream every second
};

inline constexpr std::size_t k_clean_edge = 8;

struct StreamTruth {
    IpAddress src;
    IpAddress dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t ssrc = 0;
    std::uint8_t payload_type = 0;
    std::uint32_t clock_rate = 0;
    std::uint16_t first_sequence = 0;
    std::uint64_t packets = 0;  // on the wire, duplicates included
    std::int64_t expected = 0;  // highest extended sequence - first + 1
    std::int64_t lost = 0;      // expected - packets (tshark's definition)
    std::uint64_t dropped = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;
    bool sequence_wraps = false;
    bool jittered = false;
};

struct Frame {
    std::int64_t time_ns = 0;
    std::vector<std::uint8_t> bytes;  // Ethernet frame
};

class Generator {
public:
    explicit Generator(const Options& options);
    ~Generator();
    Generator(const Generator&) = delete;
    Generator& operator=(const Generator&) = delete;

    // The next frame in time order; false at the end. Frame's buffer is reused between calls.
    bool next(Frame& frame);

    // Complete once next() returned false.
    const std::vector<StreamTruth>& truth() const noexcept { return truth_; }
    std::uint64_t rtp_frames() const noexcept { return rtp_frames_; }
    std::uint64_t noise_frames() const noexcept { return noise_frames_; }

private:
    struct Source;
    struct StreamSource;
    struct NoiseSource;
    struct DnsSource;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<StreamTruth> truth_;
    std::uint64_t rtp_frames_ = 0;
    std::uint64_t noise_frames_ = 0;
};

// pcap (not pcapng) writer with nanosecond timestamps, link type Ethernet.
class PcapWriter {
public:
    explicit PcapWriter(const std::string& path);
    ~PcapWriter();
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;
    bool ok() const noexcept { return file_ != nullptr; }
    void write(const Frame& frame);

private:
    std::FILE* file_ = nullptr;
};

// Builds an Ethernet/IPv4-or-IPv6/UDP frame around `payload` (optionally with one 802.1Q tag).
void build_udp_frame(std::vector<std::uint8_t>& out, const IpAddress& src, const IpAddress& dst,
                     std::uint16_t src_port, std::uint16_t dst_port, Bytes payload, bool vlan = false);
// Same for TCP with the given sequence number and flags (ACK always set).
void build_tcp_frame(std::vector<std::uint8_t>& out, const IpAddress& src, const IpAddress& dst,
                     std::uint16_t src_port, std::uint16_t dst_port, std::uint32_t seq, std::uint8_t flags,
                     Bytes payload);

IpAddress ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
IpAddress ipv6(std::uint16_t prefix, std::uint32_t host);

}  // namespace sg::detect::synth
