// The in-memory capture reader: classic pcap in both byte orders and both resolutions, pcapng with several
// sections and interfaces (own link types, if_tsresol, if_tsoffset), Simple and obsolete Packet blocks, and
// every kind of damage reported at its offset without reading outside the buffer.

#include "detect/capture_reader.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "detect/packet_decoder.hpp"

namespace sg::detect {
namespace {

// Writes fields in a chosen byte order.
struct Out {
    bool big = false;
    std::vector<std::uint8_t> bytes;

    void u8(std::uint8_t v) { bytes.push_back(v); }
    void u16(std::uint16_t v) {
        if (big) {
            u8(static_cast<std::uint8_t>(v >> 8));
            u8(static_cast<std::uint8_t>(v));
        } else {
            u8(static_cast<std::uint8_t>(v));
            u8(static_cast<std::uint8_t>(v >> 8));
        }
    }
    void u32(std::uint32_t v) {
        if (big) {
            u16(static_cast<std::uint16_t>(v >> 16));
            u16(static_cast<std::uint16_t>(v));
        } else {
            u16(static_cast<std::uint16_t>(v));
            u16(static_cast<std::uint16_t>(v >> 16));
        }
    }
    void raw(const std::vector<std::uint8_t>& v) { bytes.insert(bytes.end(), v.begin(), v.end()); }
    void pad() {
        while (bytes.size() % 4 != 0)
            u8(0);
    }
};

std::vector<std::uint8_t> pcap_file(
    bool big, bool nano, std::uint32_t link_type, std::uint32_t snaplen,
    const std::vector<std::pair<std::uint64_t, std::vector<std::uint8_t>>>& frames) {
    Out o;
    o.big = big;
    o.u32(nano ? 0xa1b23c4d : 0xa1b2c3d4);
    o.u16(2);
    o.u16(4);
    o.u32(0);
    o.u32(0);
    o.u32(snaplen);
    o.u32(link_type);
    for (const auto& [time, data] : frames) {
        const std::uint64_t per_s = nano ? 1'000'000'000 : 1'000'000;
        o.u32(static_cast<std::uint32_t>(time / per_s));
        o.u32(static_cast<std::uint32_t>(time % per_s));
        o.u32(static_cast<std::uint32_t>(data.size()));
        o.u32(static_cast<std::uint32_t>(data.size()));
        o.raw(data);
    }
    return o.bytes;
}

// pcapng blocks, appended to one buffer; each section chooses its byte order.
struct Ng {
    Out o;

    void block(std::uint32_t type, const std::vector<std::uint8_t>& body) {
        const auto total = static_cast<std::uint32_t>(12 + ((body.size() + 3) & ~std::size_t{3}));
        o.u32(type);
        o.u32(total);
        o.raw(body);
        o.pad();
        o.u32(total);
    }
    Out body() const {
        Out b;
        b.big = o.big;
        return b;
    }
    void section(bool big) {
        o.big = big;
        Out b = body();
        b.u32(0x1a2b3c4d);
        b.u16(1);
        b.u16(0);
        b.u32(0xffffffff);  // section length: unknown
        b.u32(0xffffffff);
        block(0x0a0d0d0a, b.bytes);
    }
    void interface(std::uint16_t link_type, std::uint32_t snaplen, int tsresol = -1,
                   std::int64_t tsoffset = 0) {
        Out b = body();
        b.u16(link_type);
        b.u16(0);
        b.u32(snaplen);
        if (tsresol >= 0) {
            b.u16(9);
            b.u16(1);
            b.u8(static_cast<std::uint8_t>(tsresol));
            b.pad();
        }
        if (tsoffset != 0) {
            b.u16(14);
            b.u16(8);
            const auto v = static_cast<std::uint64_t>(tsoffset);
            // A 64-bit value in the section's byte order.
            b.u32(static_cast<std::uint32_t>(b.big ? v >> 32 : v));
            b.u32(static_cast<std::uint32_t>(b.big ? v : v >> 32));
        }
        b.u16(0);
        b.u16(0);
        block(1, b.bytes);
    }
    void epb(std::uint32_t interface, std::uint64_t ticks, const std::vector<std::uint8_t>& data) {
        Out b = body();
        b.u32(interface);
        b.u32(static_cast<std::uint32_t>(ticks >> 32));
        b.u32(static_cast<std::uint32_t>(ticks));
        b.u32(static_cast<std::uint32_t>(data.size()));
        b.u32(static_cast<std::uint32_t>(data.size()));
        b.raw(data);
        block(6, b.bytes);
    }
    void spb(const std::vector<std::uint8_t>& data) {
        Out b = body();
        b.u32(static_cast<std::uint32_t>(data.size()));
        b.raw(data);
        block(3, b.bytes);
    }
};

std::vector<CaptureRecord> read_all(const std::vector<std::uint8_t>& file, CaptureReader::Next& last,
                                    std::string* error = nullptr) {
    CaptureReader reader;
    std::string open_error;
    EXPECT_TRUE(reader.open(Bytes(file), open_error)) << open_error;
    std::vector<CaptureRecord> out;
    CaptureRecord r;
    while ((last = reader.next(r)) == CaptureReader::Next::frame)
        out.push_back(r);
    if (error != nullptr) *error = reader.error();
    return out;
}

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t first) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::uint8_t>(first + i);
    return v;
}

TEST(CaptureReader, PcapInBothByteOrdersAndResolutions) {
    for (const bool big : {false, true}) {
        for (const bool nano : {false, true}) {
            const std::uint64_t t1 = nano ? 1'700'000'000'123'456'789ULL : 1'700'000'000'123'456ULL;
            const auto file = pcap_file(big, nano, 1, 65535, {{t1, bytes(60, 1)}, {t1 + 5, bytes(3, 9)}});
            CaptureReader::Next last{};
            const auto records = read_all(file, last);
            ASSERT_EQ(last, CaptureReader::Next::end);
            ASSERT_EQ(records.size(), 2u);
            EXPECT_EQ(records[0].link_type, dlt::en10mb);
            const std::int64_t ns1 = nano ? 1'700'000'000'123'456'789LL : 1'700'000'000'123'456'000LL;
            EXPECT_EQ(records[0].time_ns, ns1) << big << nano;
            EXPECT_EQ(records[1].time_ns, ns1 + (nano ? 5 : 5000));
            EXPECT_EQ(records[0].frame.size(), 60u);
            EXPECT_EQ(records[0].frame[0], 1);
            EXPECT_EQ(records[1].frame.size(), 3u);
            EXPECT_EQ(records[1].frame[2], 11);
        }
    }
}

TEST(CaptureReader, PcapRawLinkTypeIsReportedAsDltRaw) {
    const auto file = pcap_file(false, false, 101, 65535, {{0, bytes(20, 0x45)}});
    CaptureReader reader;
    std::string error;
    ASSERT_TRUE(reader.open(Bytes(file), error));
    EXPECT_EQ(reader.first_link_type(), dlt::raw);
}

TEST(CaptureReader, PcapRecordLongerThanSnaplenIsCut) {
    const auto file = pcap_file(false, false, 1, 32, {{0, bytes(100, 0)}});
    CaptureReader::Next last{};
    const auto records = read_all(file, last);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].frame.size(), 32u);
    EXPECT_EQ(last, CaptureReader::Next::end);
}

TEST(CaptureReader, PcapTruncatedRecordIsAnErrorAfterTheGoodOnes) {
    auto file = pcap_file(false, false, 1, 65535, {{0, bytes(40, 0)}, {1, bytes(40, 0)}});
    file.resize(file.size() - 1);
    CaptureReader::Next last{};
    std::string error;
    const auto records = read_all(file, last, &error);
    EXPECT_EQ(records.size(), 1u);
    EXPECT_EQ(last, CaptureReader::Next::error);
    EXPECT_NE(error.find("truncated record"), std::string::npos) << error;
    // A cut record header too.
    file.resize(24 + 16 + 40 + 7);
    const auto again = read_all(file, last, &error);
    EXPECT_EQ(again.size(), 1u);
    EXPECT_EQ(last, CaptureReader::Next::error);
}

TEST(CaptureReader, RefusesWhatIsNotACapture) {
    CaptureReader reader;
    std::string error;
    const std::vector<std::uint8_t> text(64, 'x');
    EXPECT_FALSE(reader.open(Bytes(text), error));
    EXPECT_FALSE(error.empty());
    const std::vector<std::uint8_t> tiny{0xd4, 0xc3, 0xb2, 0xa1};
    EXPECT_FALSE(reader.open(Bytes(tiny), error));
    auto v1 = pcap_file(false, false, 1, 65535, {});
    v1[4] = 1;  // version 1.4
    EXPECT_FALSE(reader.open(Bytes(v1), error));
}

TEST(CaptureReader, PcapngInterfacesSectionsAndResolutions) {
    Ng ng;
    ng.section(false);
    ng.interface(1, 0);                      // Ethernet, microseconds by default, snaplen 0 = no limit
    ng.interface(101, 65535, 9, 100);        // raw IP, nanoseconds, 100 s offset
    ng.interface(113, 65535, 0x80 | 10);     // SLL, 2^-10 s
    ng.block(4, bytes(8, 0));                // a Name Resolution Block: skipped
    ng.epb(0, 1'500'000, bytes(50, 1));      // 1.5 s
    ng.epb(1, 2'000'000'001, bytes(40, 2));  // 2.000000001 s + 100 s
    ng.epb(2, 1024 + 512, bytes(30, 3));     // 1.5 s
    ng.spb(bytes(21, 4));                    // interface 0, no time
    ng.section(true);                        // a big-endian section: interfaces start again
    ng.interface(228, 65535, 3);             // raw IPv4, milliseconds
    ng.epb(0, 2500, bytes(20, 5));
    CaptureReader reader;
    std::string error;
    ASSERT_TRUE(reader.open(Bytes(ng.o.bytes), error)) << error;
    EXPECT_EQ(reader.format(), CaptureReader::Format::pcapng);
    EXPECT_EQ(reader.first_link_type(), dlt::en10mb);
    CaptureReader::Next last{};
    const auto records = read_all(ng.o.bytes, last, &error);
    ASSERT_EQ(last, CaptureReader::Next::end) << error;
    ASSERT_EQ(records.size(), 5u);
    EXPECT_EQ(records[0].link_type, dlt::en10mb);
    EXPECT_EQ(records[0].time_ns, 1'500'000'000);
    EXPECT_EQ(records[0].frame.size(), 50u);
    EXPECT_EQ(records[1].link_type, dlt::raw);
    EXPECT_EQ(records[1].time_ns, 102'000'000'001);
    EXPECT_EQ(records[2].link_type, dlt::linux_sll);
    EXPECT_EQ(records[2].time_ns, 1'500'000'000);
    EXPECT_EQ(records[3].link_type, dlt::en10mb);
    EXPECT_EQ(records[3].frame.size(), 21u);
    EXPECT_EQ(records[3].frame[0], 4);
    EXPECT_EQ(records[4].link_type, dlt::ipv4);
    EXPECT_EQ(records[4].time_ns, 2'500'000'000);
    EXPECT_EQ(records[4].frame[19], 5 + 19);
}

TEST(CaptureReader, PcapngDamage) {
    const auto damaged = [](auto&& edit) {
        Ng ng;
        ng.section(false);
        ng.interface(1, 65535);
        ng.epb(0, 1, bytes(40, 0));
        edit(ng);
        CaptureReader::Next last{};
        std::string error;
        CaptureReader reader;
        std::string open_error;
        std::vector<CaptureRecord> records;
        if (!reader.open(Bytes(ng.o.bytes), open_error)) return std::make_pair(std::size_t{0}, open_error);
        CaptureRecord r;
        while ((last = reader.next(r)) == CaptureReader::Next::frame)
            records.push_back(r);
        EXPECT_EQ(last, CaptureReader::Next::error);
        return std::make_pair(records.size(), reader.error());
    };
    // A packet of an interface never described.
    auto r = damaged([](Ng& ng) { ng.epb(3, 1, bytes(10, 0)); });
    EXPECT_EQ(r.first, 1u);
    EXPECT_NE(r.second.find("undescribed interface"), std::string::npos) << r.second;
    // Trailing length disagreeing with the leading one.
    r = damaged([](Ng& ng) {
        ng.epb(0, 1, bytes(10, 0));
        ng.o.bytes.back() ^= 1;
    });
    EXPECT_EQ(r.first, 1u);
    EXPECT_NE(r.second.find("disagree"), std::string::npos) << r.second;
    // A captured length beyond its block.
    r = damaged([](Ng& ng) {
        const std::size_t at = ng.o.bytes.size();
        ng.epb(0, 1, bytes(12, 0));
        ng.o.bytes[at + 20] = 200;
    });
    EXPECT_EQ(r.first, 1u);
    EXPECT_NE(r.second.find("longer than its block"), std::string::npos) << r.second;
    // A block cut short at the end of the file.
    r = damaged([](Ng& ng) {
        ng.epb(0, 1, bytes(12, 0));
        ng.o.bytes.resize(ng.o.bytes.size() - 4);
    });
    EXPECT_EQ(r.first, 1u);
    EXPECT_NE(r.second.find("bad block length"), std::string::npos) << r.second;
}

}  // namespace
}  // namespace sg::detect
