#pragma once
// An incremental base64 decoder (RFC 4648 section 4 alphabet) for bodies that arrive in pieces split
// anywhere: the POST of an RTSP-over-HTTP tunnel, whose client encodes each request on its own, so padding
// may end a quantum in the middle of the stream and decoding goes on with the next one. CR, LF, SP and HT
// between characters are skipped (some clients wrap lines); any other byte outside the alphabet, or '='
// anywhere but the end of a quantum, is an error, after which the decoder refuses everything.
// Pure code: no I/O, no exceptions; output grows by at most 3 bytes per 4 input characters.

#include <cstdint>
#include <string_view>
#include <vector>

namespace sg::http {

class Base64Decoder {
public:
    // Decodes `chunk`, appending the complete bytes to `out`. False on garbage (and ever after); what was
    // appended before the garbage stays.
    bool feed(std::string_view chunk, std::vector<std::uint8_t>& out);

    // True between quanta: everything fed so far has been decoded.
    bool at_boundary() const noexcept { return count_ == 0 && padding_ == 0 && !failed_; }
    bool failed() const noexcept { return failed_; }

private:
    std::uint32_t bits_ = 0;    // the sextets of the current quantum
    std::uint8_t count_ = 0;    // sextets in bits_ (0..3)
    std::uint8_t padding_ = 0;  // '=' seen in the current quantum (0..2)
    bool failed_ = false;
};

}  // namespace sg::http
