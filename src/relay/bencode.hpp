#pragma once
// Bencode (BEP 3), the encoding of rtpengine's ng control protocol: integers, byte strings, lists and
// dictionaries. Dictionaries keep their keys in the order they arrived (and are written in the order they
// are stored): real ng clients (Kamailio, OpenSIPS) send unsorted keys, and rtpengine accepts them, so we
// do not insist on BEP 3's sorted order. Everything else in BEP 3 is enforced: no leading zeros, no "-0",
// string keys only, integers that fit in int64.
//
// The parser is bounded (input size, nesting depth, number of values) so a peer cannot make us build a
// large or deep tree, returns sg::Result and never throws.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace sg::relay::bencode {

struct DictEntry;

struct Value {
    enum class Kind : std::uint8_t { integer, string, list, dict };

    Kind kind = Kind::string;
    std::int64_t integer = 0;
    std::string string;           // kind == string
    std::vector<Value> list;      // kind == list
    std::vector<DictEntry> dict;  // kind == dict, in arrival order

    static Value make_integer(std::int64_t v);
    static Value make_string(std::string_view s);
    static Value make_list();
    static Value make_dict();

    bool is_integer() const noexcept { return kind == Kind::integer; }
    bool is_string() const noexcept { return kind == Kind::string; }
    bool is_list() const noexcept { return kind == Kind::list; }
    bool is_dict() const noexcept { return kind == Kind::dict; }

    // Dictionary helpers (a non-dictionary has no entries). find returns the first entry with that key.
    const Value* find(std::string_view key) const noexcept;
    // Appends an entry (no check for an existing key: the caller builds replies with distinct keys) and
    // returns the stored value.
    Value& add(std::string_view key, Value value);
    // Appends to a list and returns the stored value.
    Value& push(Value value);

    bool operator==(const Value& other) const;
};

struct DictEntry {
    std::string key;
    Value value;
    bool operator==(const DictEntry& other) const = default;
};

struct Limits {
    std::size_t max_input =
        std::size_t{64} * 1024;     // bytes looked at; an ng datagram fits a 64 KiB UDP payload
    std::size_t max_depth = 32;     // nested lists/dictionaries
    std::size_t max_values = 8192;  // values of any kind in the whole document
};

struct Decoded {
    Value value;
    std::size_t consumed = 0;  // bytes of the input that made up `value`
};

// The error parse() returns when the input ends inside a value: a prefix of something that may yet be
// valid (a stream framer waits for more bytes on it; for a datagram it is final).
inline constexpr std::string_view k_truncated = "bencode: truncated";

// Parses one value from the start of `input`. Bytes after it are left alone (`consumed` says where it
// ended); the ng codec refuses trailing bytes itself.
Result<Decoded> parse(std::string_view input, const Limits& limits = {});

void encode(const Value& value, std::string& out);
std::string encode(const Value& value);

}  // namespace sg::relay::bencode
