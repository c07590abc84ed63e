#include "synthetic_capture.hpp"

#include <algorithm>
#include <deque>
#include <queue>

#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::detect::synth {

IpAddress ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    IpAddress ip;
    ip.family = 4;
    ip.bytes[0] = a;
    ip.bytes[1] = b;
    ip.bytes[2] = c;
    ip.bytes[3] = d;
    return ip;
}

IpAddress ipv6(std::uint16_t prefix, std::uint32_t host) {
    IpAddress ip;
    ip.family = 6;
    ip.bytes[0] = 0xfd;
    ip.bytes[1] = 0x00;
    ip.bytes[2] = static_cast<std::uint8_t>(prefix >> 8);
    ip.bytes[3] = static_cast<std::uint8_t>(prefix);
    ip.bytes[12] = static_cast<std::uint8_t>(host >> 24);
    ip.bytes[13] = static_cast<std::uint8_t>(host >> 16);
    ip.bytes[14] = static_cast<std::uint8_t>(host >> 8);
    ip.bytes[15] = static_cast<std::uint8_t>(host);
    return ip;
}

namespace {

void put_ethernet(ByteWriter& w, std::uint16_t ethertype, bool vlan) {
    const std::uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
    const std::uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    w.put_bytes(Bytes(dst_mac, 6));
    w.put_bytes(Bytes(src_mac, 6));
    if (vlan) {
        w.put_u16(0x8100);
        w.put_u16(42);
    }
    w.put_u16(ethertype);
}

std::uint16_t ipv4_checksum(const std::uint8_t* header) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2)
        sum += load_be16(header + i);
    while ((sum >> 16) != 0)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

void put_ip(std::vector<std::uint8_t>& out, const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
            std::size_t l4_size, bool vlan) {
    ByteWriter w(out);
    if (src.family == 4) {
        put_ethernet(w, 0x0800, vlan);
        const std::size_t start = out.size();
        w.put_u8(0x45);
        w.put_u8(0);
        w.put_u16(static_cast<std::uint16_t>(20 + l4_size));
        w.put_u16(0);
        w.put_u16(0x4000);  // don't fragment
        w.put_u8(64);
        w.put_u8(protocol);
        w.put_u16(0);
        w.put_bytes(Bytes(src.bytes.data(), 4));
        w.put_bytes(Bytes(dst.bytes.data(), 4));
        const std::uint16_t sum = ipv4_checksum(out.data() + start);
        w.patch_u16(start + 10, sum);
    } else {
        put_ethernet(w, 0x86dd, vlan);
        w.put_u32(0x60000000);
        w.put_u16(static_cast<std::uint16_t>(l4_size));
        w.put_u8(protocol);
        w.put_u8(64);
        w.put_bytes(Bytes(src.bytes.data(), 16));
        w.put_bytes(Bytes(dst.bytes.data(), 16));
    }
}

}  // namespace

void build_udp_frame(std::vector<std::uint8_t>& out, const IpAddress& src, const IpAddress& dst,
                     std::uint16_t src_port, std::uint16_t dst_port, Bytes payload, bool vlan) {
    out.clear();
    put_ip(out, src, dst, k_ip_proto_udp, 8 + payload.size(), vlan);
    ByteWriter w(out);
    w.put_u16(src_port);
    w.put_u16(dst_port);
    w.put_u16(static_cast<std::uint16_t>(8 + payload.size()));
    w.put_u16(0);  // no checksum (allowed for IPv4; readers here do not verify it for IPv6 either)
    w.put_bytes(payload);
}

void build_tcp_frame(std::vector<std::uint8_t>& out, const IpAddress& src, const IpAddress& dst,
                     std::uint16_t src_port, std::uint16_t dst_port, std::uint32_t seq, std::uint8_t flags,
                     Bytes payload) {
    out.clear();
    put_ip(out, src, dst, k_ip_proto_tcp, 20 + payload.size(), false);
    ByteWriter w(out);
    w.put_u16(src_port);
    w.put_u16(dst_port);
    w.put_u32(seq);
    w.put_u32(0);
    w.put_u8(0x50);
    w.put_u8(static_cast<std::uint8_t>(flags | 0x10));
    w.put_u16(65535);
    w.put_u16(0);
    w.put_u16(0);
    w.put_bytes(payload);
}

struct Generator::Source {
    std::int64_t next_time = 0;
    virtual ~Source() = default;
    Source() = default;
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;
    // Writes the frame due at next_time and advances next_time; false when exhausted.
    virtual bool emit(Frame& frame, std::mt19937_64& rng) = 0;
};

namespace {

enum class Impairment : std::uint8_t { none, drop, duplicate, reorder };

}  // namespace

struct Generator::StreamSource final : Source {
    StreamTruth* truth = nullptr;
    std::int64_t interval_ns = 20'000'000;
    std::uint32_t ts_step = 160;
    std::size_t payload_size = 160;
    std::size_t count = 0;  // sequence numbers to send
    std::size_t index = 0;  // next sequence index
    std::uint32_t first_ts = 0;
    std::int64_t start_ns = 0;
    std::int64_t jitter_ns = 0;
    bool vlan = false;
    const Options* options = nullptr;
    // Frames already decided but not yet emitted (duplicates, the swapped pair), with their times.
    std::deque<std::pair<std::int64_t, std::size_t>> queue;  // capture time, sequence index
    std::int64_t last_time = 0;
    std::int64_t next_rtcp_ns = 0;
    std::vector<std::uint8_t> payload;
    std::vector<std::uint8_t> packet;
    std::uint32_t sent_packets = 0;
    std::uint32_t sent_octets = 0;

    std::int64_t nominal(std::size_t i) const {
        return start_ns + static_cast<std::int64_t>(i) * interval_ns;
    }

    void plan(std::mt19937_64& rng) {
        // Decide what happens to sequence index `index` (and maybe index+1), queueing the frames.
        std::uniform_real_distribution<double> u(0.0, 1.0);
        std::uniform_int_distribution<std::int64_t> jitter(0, std::max<std::int64_t>(jitter_ns, 0));
        const auto at = [&](std::size_t i) {
            std::int64_t t = nominal(i) + (jitter_ns > 0 ? jitter(rng) : 0);
            t = std::max(t, last_time);
            last_time = t;
            return t;
        };
        const std::size_t i = index;
        Impairment what = Impairment::none;
        if (i >= 1 && i + k_clean_edge < count) {
            const double x = u(rng);
            if (x < options->loss)
                what = Impairment::drop;
            else if (x < options->loss + options->duplicate)
                what = Impairment::duplicate;
            else if (x < options->loss + options->duplicate + options->reorder)
                what = Impairment::reorder;
        }
        switch (what) {
            case Impairment::none:
                queue.emplace_back(at(i), i);
                index += 1;
                break;
            case Impairment::drop:
                ++truth->dropped;
                index += 1;
                break;
            case Impairment::duplicate:
                ++truth->duplicates;
                queue.emplace_back(at(i), i);
                queue.emplace_back(at(i), i);
                index += 1;
                break;
            case Impairment::reorder:
                ++truth->reordered;
                queue.emplace_back(at(i), i + 1);
                queue.emplace_back(at(i + 1), i);
                index += 2;
                break;
        }
    }

    bool refill(std::mt19937_64& rng) {
        while (queue.empty() && index < count)
            plan(rng);
        return !queue.empty();
    }

    bool rtcp_next() const {
        return options->rtcp && sent_packets > 0 && !queue.empty() && next_rtcp_ns <= queue.front().first;
    }

    bool emit(Frame& frame, std::mt19937_64& rng) override {
        if (rtcp_next()) {
            packet.clear();
            const rtp::SenderInfo info{0xe000000000000000ULL + static_cast<std::uint64_t>(next_rtcp_ns),
                                       first_ts, sent_packets, sent_octets};
            (void)rtp::append_sender_report(packet, truth->ssrc, info);
            (void)rtp::append_sdes_cname(packet, truth->ssrc, "synth@example.invalid");
            build_udp_frame(frame.bytes, truth->src, truth->dst,
                            static_cast<std::uint16_t>(truth->src_port + 1),
                            static_cast<std::uint16_t>(truth->dst_port + 1), packet, vlan);
            frame.time_ns = next_rtcp_ns;
            next_rtcp_ns += 1'000'000'000;
        } else {
            const auto [time, i] = queue.front();
            queue.pop_front();
            frame.time_ns = time;
            rtp::RtpHeader header;
            header.payload_type = truth->payload_type;
            header.sequence = static_cast<std::uint16_t>(truth->first_sequence + i);
            header.timestamp = first_ts + static_cast<std::uint32_t>(i) * ts_step;
            header.ssrc = truth->ssrc;
            header.marker = i == 0;
            packet.clear();
            payload.assign(payload_size, static_cast<std::uint8_t>(i));
            (void)rtp::append_rtp(packet, header, payload);
            build_udp_frame(frame.bytes, truth->src, truth->dst, truth->src_port, truth->dst_port, packet,
                            vlan);
            ++truth->packets;
            ++sent_packets;
            sent_octets += static_cast<std::uint32_t>(payload_size);
        }
        if (!refill(rng)) {
            next_time = -1;  // exhausted
        } else {
            next_time = rtcp_next() ? next_rtcp_ns : queue.front().first;
        }
        return true;
    }
};

struct Generator::NoiseSource final : Source {
    std::size_t remaining = 0;
    std::int64_t mean_gap_ns = 1;
    std::vector<std::uint8_t> payload;
    // Short noise flows: the same 5-tuple for a few packets, so per-flow state is exercised too.
    IpAddress src;
    IpAddress dst;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    unsigned flow_left = 0;

    bool emit(Frame& frame, std::mt19937_64& rng) override {
        std::uniform_int_distribution<std::uint32_t> byte(0, 255);
        std::uniform_int_distribution<std::uint32_t> port(1024, 65535);
        std::uniform_int_distribution<std::size_t> size(12, 1200);
        if (flow_left == 0) {
            src = ipv4(10, 99, static_cast<std::uint8_t>(byte(rng)), static_cast<std::uint8_t>(byte(rng)));
            dst = ipv4(10, 98, static_cast<std::uint8_t>(byte(rng)), static_cast<std::uint8_t>(byte(rng)));
            sport = static_cast<std::uint16_t>(port(rng));
            dport = static_cast<std::uint16_t>(port(rng));
            flow_left = byte(rng) < 64 ? 1 + byte(rng) % 30 : 1;
        }
        --flow_left;
        payload.resize(size(rng));
        for (auto& b : payload)
            b = static_cast<std::uint8_t>(byte(rng));
        if (byte(rng) < 128)
            payload[0] = static_cast<std::uint8_t>(0x80 | (payload[0] & 0x3f));  // "version 2"
        build_udp_frame(frame.bytes, src, dst, sport, dport, payload);
        frame.time_ns = next_time;
        std::uniform_int_distribution<std::int64_t> gap(0, 2 * mean_gap_ns);
        next_time += gap(rng);
        return --remaining > 0 || (next_time = -1, true);
    }
};

struct Generator::DnsSource final : Source {
    std::size_t remaining = 0;
    std::int64_t mean_gap_ns = 1;
    std::uint16_t id = 1;
    bool answer = false;
    std::vector<std::uint8_t> payload;

    bool emit(Frame& frame, std::mt19937_64& rng) override {
        payload.clear();
        ByteWriter w(payload);
        w.put_u16(id);
        w.put_u16(answer ? 0x8180 : 0x0100);
        w.put_u16(1);
        w.put_u16(answer ? 1 : 0);
        w.put_u16(0);
        w.put_u16(0);
        const std::uint8_t qname[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                      'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
        w.put_bytes(Bytes(qname, sizeof qname));
        w.put_u16(1);
        w.put_u16(1);
        if (answer) {
            w.put_u16(0xc00c);
            w.put_u16(1);
            w.put_u16(1);
            w.put_u32(300);
            w.put_u16(4);
            w.put_u32(0xc0000201);
        }
        const IpAddress client = ipv4(10, 97, 0, 2);
        const IpAddress server = ipv4(10, 97, 0, 53);
        const auto client_port = static_cast<std::uint16_t>(30000 + id % 20000);
        if (answer)
            build_udp_frame(frame.bytes, server, client, 53, client_port, payload);
        else
            build_udp_frame(frame.bytes, client, server, client_port, 53, payload);
        if (answer) ++id;
        answer = !answer;
        frame.time_ns = next_time;
        std::uniform_int_distribution<std::int64_t> gap(0, 2 * mean_gap_ns);
        next_time += gap(rng);
        return --remaining > 0 || (next_time = -1, true);
    }
};

struct Generator::Impl {
    std::mt19937_64 rng;
    Options options;
    std::vector<std::unique_ptr<Source>> sources;
    struct Later {
        bool operator()(const Source* a, const Source* b) const { return a->next_time > b->next_time; }
    };
    std::priority_queue<Source*, std::vector<Source*>, Later> heap;
};

Generator::Generator(const Options& options) : impl_(std::make_unique<Impl>()) {
    impl_->rng.seed(options.seed);
    impl_->options = options;
    auto& rng = impl_->rng;
    const std::int64_t base = 1'700'000'000'000'000'000;  // capture times in 2023, like a real file
    truth_.resize(options.streams);
    std::uniform_int_distribution<std::uint32_t> u32;
    const std::array<std::uint8_t, 4> pts{0, 8, 96, 111};
    const std::array<std::uint32_t, 4> clocks{8000, 8000, 90000, 48000};
    for (std::size_t s = 0; s < options.streams; ++s) {
        auto src = std::make_unique<StreamSource>();
        StreamTruth& t = truth_[s];
        const bool v6 = s % 5 == 4;
        const auto n = static_cast<std::uint32_t>(s);
        t.src = v6 ? ipv6(1, n + 1)
                   : ipv4(10, 1, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n + 1));
        t.dst = v6 ? ipv6(2, n + 1)
                   : ipv4(10, 2, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n + 1));
        t.src_port = static_cast<std::uint16_t>(16384 + 2 * (n % 8000));
        t.dst_port = static_cast<std::uint16_t>(40000 + 2 * (n % 8000));
        t.ssrc = u32(rng) | 1u;
        t.payload_type = pts[s % pts.size()];
        t.clock_rate = clocks[s % clocks.size()];
        t.sequence_wraps = s % 3 == 1;
        // Streams that wrap start close enough to 65535 to cross it within their packets.
        t.first_sequence = t.sequence_wraps
                               ? static_cast<std::uint16_t>(
                                     65536 - std::min<std::size_t>(options.packets_per_stream / 2, 30000))
                               : static_cast<std::uint16_t>(u32(rng) % 30000);
        t.jittered = s % 2 == 1 && options.jitter_ns > 0;
        src->truth = &t;
        src->options = &impl_->options;
        src->count = options.packets_per_stream;
        src->interval_ns = t.clock_rate == 90000 ? 10'000'000 : 20'000'000;
        src->ts_step = t.clock_rate == 90000 ? 900 : t.clock_rate / 50;
        src->payload_size = t.clock_rate == 90000 ? 1000 : 160;
        // Some streams' timestamps wrap past 2^32 too.
        src->first_ts = s % 4 == 2 ? 0xffffffffu - src->ts_step * 10 : u32(rng);
        src->start_ns = base + static_cast<std::int64_t>(u32(rng) % 1000) * 1'000'000;
        src->jitter_ns = t.jittered ? options.jitter_ns : 0;
        src->vlan = s % 7 == 3;
        src->last_time = src->start_ns;
        src->next_rtcp_ns = src->start_ns + 500'000'000;
        if (!src->refill(rng)) continue;
        src->next_time = src->queue.front().first;
        impl_->heap.push(src.get());
        impl_->sources.push_back(std::move(src));
    }
    if (options.noise_packets > 0) {
        auto noise = std::make_unique<NoiseSource>();
        noise->remaining = options.noise_packets;
        noise->mean_gap_ns =
            std::max<std::int64_t>(1, options.duration_ns / static_cast<std::int64_t>(options.noise_packets));
        noise->next_time = base;
        impl_->heap.push(noise.get());
        impl_->sources.push_back(std::move(noise));
    }
    if (options.dns_packets > 0) {
        auto dns = std::make_unique<DnsSource>();
        dns->remaining = options.dns_packets;
        dns->mean_gap_ns =
            std::max<std::int64_t>(1, options.duration_ns / static_cast<std::int64_t>(options.dns_packets));
        dns->next_time = base + 1000;
        impl_->heap.push(dns.get());
        impl_->sources.push_back(std::move(dns));
    }
}

Generator::~Generator() = default;

bool Generator::next(Frame& frame) {
    auto& heap = impl_->heap;
    if (heap.empty()) {
        for (auto& t : truth_) {
            // tshark's expected: from the first packet's sequence to the highest, extended.
            t.expected = static_cast<std::int64_t>(impl_->options.packets_per_stream);
            t.lost = t.expected - static_cast<std::int64_t>(t.packets);
        }
        return false;
    }
    Source* source = heap.top();
    heap.pop();
    const bool is_stream = dynamic_cast<StreamSource*>(source) != nullptr;
    source->emit(frame, impl_->rng);
    if (is_stream)
        ++rtp_frames_;
    else
        ++noise_frames_;
    if (source->next_time >= 0) heap.push(source);
    return true;
}

PcapWriter::PcapWriter(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) return;
    std::vector<std::uint8_t> header;
    const auto le32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            header.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    const auto le16 = [&](std::uint16_t v) {
        header.push_back(static_cast<std::uint8_t>(v));
        header.push_back(static_cast<std::uint8_t>(v >> 8));
    };
    le32(0xa1b23c4d);  // nanosecond-resolution pcap
    le16(2);
    le16(4);
    le32(0);
    le32(0);
    le32(65535);
    le32(1);  // LINKTYPE_ETHERNET
    std::fwrite(header.data(), 1, header.size(), file_);
}

PcapWriter::~PcapWriter() {
    if (file_ != nullptr) std::fclose(file_);
}

void PcapWriter::write(const Frame& frame) {
    std::uint8_t record[16];
    const auto put = [&](std::size_t at, std::uint32_t v) {
        for (std::size_t i = 0; i < 4; ++i)
            record[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    put(0, static_cast<std::uint32_t>(frame.time_ns / 1'000'000'000));
    put(4, static_cast<std::uint32_t>(frame.time_ns % 1'000'000'000));
    put(8, static_cast<std::uint32_t>(frame.bytes.size()));
    put(12, static_cast<std::uint32_t>(frame.bytes.size()));
    std::fwrite(record, 1, sizeof record, file_);
    std::fwrite(frame.bytes.data(), 1, frame.bytes.size(), file_);
}

}  // namespace sg::detect::synth
