#include "relay_io/pcap_recorder.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "relay/address.hpp"

namespace sg::relay_io {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t k_wall = 1796457566;

// Payloads of the records in a pcap file, in order; empty when it cannot be read as one.
std::vector<std::string> read_payloads(const fs::path& path) {
    char error[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pcap = pcap_open_offline(path.c_str(), error);
    if (pcap == nullptr) {
        ADD_FAILURE() << path << ": " << error;
        return {};
    }
    EXPECT_EQ(pcap_datalink(pcap), DLT_RAW) << path;
    std::vector<std::string> out;
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(pcap, &header, &data) == 1) {
        constexpr std::size_t k_ip_udp = 20 + 8;  // IPv4 header, UDP header
        if (header->caplen < k_ip_udp) {
            ADD_FAILURE() << path << ": a record of " << header->caplen << " bytes";
            continue;
        }
        out.emplace_back(reinterpret_cast<const char*>(data) + k_ip_udp, header->caplen - k_ip_udp);
    }
    pcap_close(pcap);
    return out;
}

class PcapRecorderTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("sg-pcap-recorder-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void record(PcapRecorder& recorder, const std::string& call_id, const std::string& payload) {
        const auto bytes = reinterpret_cast<const std::uint8_t*>(payload.data());
        recorder.record(call_id, from_, to_, Bytes(bytes, payload.size()));
    }

    std::vector<fs::path> files() const {
        std::vector<fs::path> out;
        for (const auto& entry : fs::directory_iterator(dir_))
            out.push_back(entry.path());
        std::sort(out.begin(), out.end());
        return out;
    }

    fs::path dir_;
    relay::Address from_ = *relay::parse_ip("198.18.11.2", 6000);
    relay::Address to_ = *relay::parse_ip("198.18.100.1", 30000);
};

TEST_F(PcapRecorderTest, OneFileNamedAfterTheCallAndTheTime) {
    PcapRecorder recorder(dir_);
    ASSERT_TRUE(recorder.start("1-42@10.0.1.2", k_wall));
    record(recorder, "1-42@10.0.1.2", "first");
    record(recorder, "1-42@10.0.1.2", "second");
    recorder.stop("1-42@10.0.1.2");
    ASSERT_EQ(files(), std::vector<fs::path>{dir_ / "1-42_10.0.1.2-1796457566.pcap"});
    EXPECT_EQ(read_payloads(files()[0]), (std::vector<std::string>{"first", "second"}));
}

// Call-IDs are peer-chosen and their names lose bytes ('@' becomes '_', 128 bytes at most): two calls can
// map to the same name in the same second. Each must get a file of its own, not share (and truncate) one.
TEST_F(PcapRecorderTest, CallsWhoseNamesCollideGetFilesOfTheirOwn) {
    PcapRecorder recorder(dir_);
    ASSERT_TRUE(recorder.start("a@b", k_wall));
    ASSERT_TRUE(recorder.start("a_b", k_wall));
    record(recorder, "a@b", "from the first call");
    record(recorder, "a_b", "from the second call");
    record(recorder, "a@b", "first again");
    recorder.stop("a@b");
    recorder.stop("a_b");
    const auto paths = files();
    ASSERT_EQ(paths.size(), 2U);
    std::vector<std::vector<std::string>> contents{read_payloads(paths[0]), read_payloads(paths[1])};
    std::sort(contents.begin(), contents.end());
    EXPECT_EQ(contents[0], (std::vector<std::string>{"from the first call", "first again"}));
    EXPECT_EQ(contents[1], (std::vector<std::string>{"from the second call"}));
}

// Shards record into one directory with recorders of their own: the file system decides who gets a name.
TEST_F(PcapRecorderTest, TwoRecordersNeverShareAFile) {
    PcapRecorder shard_a(dir_);
    PcapRecorder shard_b(dir_);
    const std::string long_a = std::string(128, 'x') + "-a";
    const std::string long_b = std::string(128, 'x') + "-b";  // the same first 128 bytes
    ASSERT_TRUE(shard_a.start(long_a, k_wall));
    ASSERT_TRUE(shard_b.start(long_b, k_wall));
    record(shard_a, long_a, "a");
    record(shard_b, long_b, "b");
    shard_a.stop(long_a);
    shard_b.stop(long_b);
    const auto paths = files();
    ASSERT_EQ(paths.size(), 2U);
    EXPECT_EQ(read_payloads(paths[0]).size() + read_payloads(paths[1]).size(), 2U);
}

// start recording, stop recording, start recording again within one second: the first recording stays.
TEST_F(PcapRecorderTest, RecordingAgainInTheSameSecondKeepsTheFirstFile) {
    PcapRecorder recorder(dir_);
    ASSERT_TRUE(recorder.start("call", k_wall));
    record(recorder, "call", "one");
    recorder.stop("call");
    ASSERT_TRUE(recorder.start("call", k_wall));
    record(recorder, "call", "two");
    record(recorder, "call", "three");
    recorder.stop("call");
    const auto paths = files();
    ASSERT_EQ(paths.size(), 2U);
    EXPECT_EQ(paths[0].filename(), "call-1796457566-2.pcap");
    EXPECT_EQ(paths[1].filename(), "call-1796457566.pcap");
    EXPECT_EQ(read_payloads(paths[1]), std::vector<std::string>{"one"});
    EXPECT_EQ(read_payloads(paths[0]), (std::vector<std::string>{"two", "three"}));
}

// A name that already exists as a symlink is not followed: the link's target stays as it was.
TEST_F(PcapRecorderTest, DoesNotWriteThroughASymlink) {
    const fs::path target = dir_ / "target";
    std::ofstream(target) << "keep";
    fs::create_symlink(target, dir_ / "call-1796457566.pcap");
    PcapRecorder recorder(dir_);
    ASSERT_TRUE(recorder.start("call", k_wall));
    record(recorder, "call", "packet");
    recorder.stop("call");
    std::ifstream in(target);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "keep");
    EXPECT_EQ(read_payloads(dir_ / "call-1796457566-2.pcap"), std::vector<std::string>{"packet"});
}

}  // namespace
}  // namespace sg::relay_io
