// libFuzzer target for the relay's bencode parser. BEP 3 leaves one way to write each value once leading
// zeros and "-0" are refused and dictionaries keep their order, so a parsed value must encode back to
// exactly the bytes it was parsed from, and parse again to the same value. Limits must hold.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/bencode.hpp"

namespace {

using namespace sg::relay::bencode;

void check(bool property) {
    if (!property) __builtin_trap();
}

std::size_t depth_of(const Value& v) {
    std::size_t deepest = 0;
    if (v.is_list()) {
        for (const auto& item : v.list) {
            const std::size_t d = depth_of(item);
            if (d > deepest) deepest = d;
        }
        return deepest + 1;
    }
    if (v.is_dict()) {
        for (const auto& entry : v.dict) {
            const std::size_t d = depth_of(entry.value);
            if (d > deepest) deepest = d;
        }
        return deepest + 1;
    }
    return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    Limits limits;
    limits.max_depth = 8;
    limits.max_values = 256;
    const auto parsed = parse(input, limits);
    if (!parsed) {
        check(!parsed.error().empty());
        return 0;
    }
    check(parsed->consumed > 0 && parsed->consumed <= input.size());
    check(depth_of(parsed->value) <= limits.max_depth);
    const std::string encoded = encode(parsed->value);
    check(encoded == input.substr(0, parsed->consumed));
    const auto again = parse(encoded, limits);
    check(again.ok() && again->consumed == encoded.size() && again->value == parsed->value);
    return 0;
}
