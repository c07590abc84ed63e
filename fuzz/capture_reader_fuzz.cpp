// Fuzzes the in-memory capture reader (detect/capture_reader) that `streamgate detect -r` maps files
// through: any bytes either refuse to open or read as records whose frames lie inside the input, at offsets
// that only move forward, ending in `end` or an error that stays put; each frame then goes through the
// frame decoder with its record's link type.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "detect/capture_reader.hpp"
#include "detect/packet_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    sg::detect::CaptureReader reader;
    std::string error;
    if (!reader.open(input, error)) {
        if (error.empty()) std::abort();
        return 0;
    }
    sg::detect::CaptureRecord record;
    std::size_t last_offset = reader.offset();
    while (true) {
        const auto next = reader.next(record);
        if (next == sg::detect::CaptureReader::Next::end) {
            if (reader.offset() != size) std::abort();  // the end is the end of the input
            break;
        }
        if (next == sg::detect::CaptureReader::Next::error) {
            if (reader.error().empty()) std::abort();
            if (reader.next(record) != sg::detect::CaptureReader::Next::error) std::abort();
            break;
        }
        if (record.frame.data() < data || record.frame.data() + record.frame.size() > data + size)
            std::abort();
        if (reader.offset() <= last_offset || reader.offset() > size) std::abort();
        last_offset = reader.offset();
        sg::detect::DecodedPacket packet;
        (void)sg::detect::decode_frame(record.link_type, record.frame, packet);
    }
    return 0;
}
