#pragma once
// A capture file mapped read-only into memory, for CaptureReader. Only regular files are mapped: pipes,
// character devices and empty files are left to libpcap's stream reader.

#include <cstddef>
#include <memory>
#include <string>

#include "common/byte_io.hpp"

namespace sg::detect {

class MappedFile {
public:
    // nullptr (with `error`) when the file cannot be opened or is not a non-empty regular file.
    static std::unique_ptr<MappedFile> open(const std::string& path, std::string& error);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    Bytes bytes() const noexcept { return {data_, size_}; }

private:
    MappedFile(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    const std::uint8_t* data_;
    std::size_t size_;
};

}  // namespace sg::detect
