#include "relay_io/prompt_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace sg::relay_io {
namespace {

// A WAV file (RIFF, WAVE_FORMAT_ALAW = 6 or MULAW = 7) with `samples` octets of audio.
void write_wav(const std::filesystem::path& path, std::uint16_t format, std::uint32_t rate,
               std::uint16_t channels, std::size_t samples) {
    std::ofstream out(path, std::ios::binary);
    const auto u32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            out.put(static_cast<char>((v >> (8 * i)) & 0xffU));
    };
    const auto u16 = [&](std::uint16_t v) {
        out.put(static_cast<char>(v & 0xffU));
        out.put(static_cast<char>(v >> 8U));
    };
    out << "RIFF";
    u32(static_cast<std::uint32_t>(36 + samples));
    out << "WAVEfmt ";
    u32(16);
    u16(format);
    u16(channels);
    u32(rate);
    u32(rate * channels);
    u16(channels);
    u16(8);
    out << "data";
    u32(static_cast<std::uint32_t>(samples));
    for (std::size_t i = 0; i < samples; ++i)
        out.put(static_cast<char>(0xd5));
}

class PromptFile : public ::testing::Test {
protected:
    void SetUp() override { std::filesystem::create_directories(dir_); }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_ =
        std::filesystem::temp_directory_path() / ("sg-prompts-" + std::to_string(::getpid()));
};

TEST_F(PromptFile, LoadsALawAndMuLawWav) {
    write_wav(dir_ / "a.wav", 6, 8000, 1, 800);
    write_wav(dir_ / "u.wav", 7, 8000, 1, 320);
    std::string detail;
    const auto alaw = load_prompt(dir_, "a.wav", detail);
    ASSERT_TRUE(alaw) << alaw.error() << detail;
    EXPECT_EQ(alaw->payload_type, 8);
    EXPECT_EQ(alaw->samples.size(), 800U);
    const auto ulaw = load_prompt(dir_, "u.wav", detail);
    ASSERT_TRUE(ulaw);
    EXPECT_EQ(ulaw->payload_type, 0);
}

TEST_F(PromptFile, RefusesOtherAudioAndNamesOutsideTheDirectory) {
    write_wav(dir_ / "stereo.wav", 6, 8000, 2, 800);
    write_wav(dir_ / "wide.wav", 6, 16000, 1, 800);
    std::filesystem::create_symlink("/etc/hostname", dir_ / "link.wav");
    std::string detail;
    EXPECT_FALSE(load_prompt(dir_, "stereo.wav", detail));
    EXPECT_FALSE(load_prompt(dir_, "wide.wav", detail));
    EXPECT_FALSE(load_prompt(dir_, "../x.wav", detail));
    EXPECT_FALSE(load_prompt(dir_, "/etc/hostname", detail));
    EXPECT_FALSE(load_prompt(dir_, "link.wav", detail));
    EXPECT_FALSE(load_prompt(dir_, "missing.wav", detail));
    EXPECT_FALSE(load_prompt({}, "a.wav", detail));
}

}  // namespace
}  // namespace sg::relay_io
