#pragma once
// A test fixture that writes a configuration file into the temporary directory and removes it afterwards.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace sg::app::test {

class TempTomlFile : public ::testing::Test {
protected:
    // Writes `text` to the file and returns its path.
    std::string write(std::string_view text) {
        std::ofstream(path_) << text;
        return path_.string();
    }
    void TearDown() override { std::filesystem::remove(path_); }

private:
    std::filesystem::path path_ =
        std::filesystem::temp_directory_path() / ("sg-config-" + std::to_string(::getpid()) + ".toml");
};

}  // namespace sg::app::test
