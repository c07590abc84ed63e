#pragma once
// Explicit big-endian field access for packet views and builders. Views never cast structs onto
// buffers: every field is read through a ByteReader whose reads fail (return false) at the end.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sg {

using Bytes = std::span<const std::uint8_t>;

constexpr std::uint16_t load_be16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
constexpr std::uint32_t load_be24(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | std::uint32_t{p[2]};
}
constexpr std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

class ByteReader {
public:
    explicit ByteReader(Bytes data) noexcept : data_(data) {}

    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    std::size_t position() const noexcept { return pos_; }
    bool empty() const noexcept { return remaining() == 0; }
    Bytes rest() const noexcept { return data_.subspan(pos_); }

    bool read_u8(std::uint8_t& out) noexcept {
        if (remaining() < 1) return false;
        out = data_[pos_++];
        return true;
    }
    bool read_u16(std::uint16_t& out) noexcept {
        if (remaining() < 2) return false;
        out = load_be16(data_.data() + pos_);
        pos_ += 2;
        return true;
    }
    bool read_u24(std::uint32_t& out) noexcept {
        if (remaining() < 3) return false;
        out = load_be24(data_.data() + pos_);
        pos_ += 3;
        return true;
    }
    bool read_u32(std::uint32_t& out) noexcept {
        if (remaining() < 4) return false;
        out = load_be32(data_.data() + pos_);
        pos_ += 4;
        return true;
    }
    bool read_bytes(std::size_t n, Bytes& out) noexcept {
        if (remaining() < n) return false;
        out = data_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    bool skip(std::size_t n) noexcept {
        if (remaining() < n) return false;
        pos_ += n;
        return true;
    }

private:
    Bytes data_;
    std::size_t pos_ = 0;
};

// Appends big-endian fields to a caller-owned buffer (so builders can reuse one allocation).
class ByteWriter {
public:
    explicit ByteWriter(std::vector<std::uint8_t>& out) noexcept : out_(out) {}

    void put_u8(std::uint8_t v) { out_.push_back(v); }
    void put_u16(std::uint16_t v) {
        out_.push_back(static_cast<std::uint8_t>(v >> 8));
        out_.push_back(static_cast<std::uint8_t>(v));
    }
    void put_u24(std::uint32_t v) {
        out_.push_back(static_cast<std::uint8_t>(v >> 16));
        put_u16(static_cast<std::uint16_t>(v));
    }
    void put_u32(std::uint32_t v) {
        put_u16(static_cast<std::uint16_t>(v >> 16));
        put_u16(static_cast<std::uint16_t>(v));
    }
    void put_bytes(Bytes b) { out_.insert(out_.end(), b.begin(), b.end()); }
    std::size_t size() const noexcept { return out_.size(); }
    // Overwrite a 16-bit field written earlier (length fields known only at the end).
    void patch_u16(std::size_t at, std::uint16_t v) noexcept {
        out_[at] = static_cast<std::uint8_t>(v >> 8);
        out_[at + 1] = static_cast<std::uint8_t>(v);
    }

private:
    std::vector<std::uint8_t>& out_;
};

}  // namespace sg
