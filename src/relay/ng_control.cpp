#include "relay/ng_control.hpp"

#include "relay/ng_codec.hpp"

namespace sg::relay {
namespace {

class NgProtocol final : public ControlProtocol {
public:
    std::string_view name() const noexcept override { return "ng"; }

    Decoded decode(std::string_view message) const override {
        NgDecoded ng = decode_ng(message);
        Decoded out;
        if (!ng.can_reply()) {
            out.error = "no usable cookie";
            return out;
        }
        out.cookie = std::move(ng.cookie);
        if (!ng.request) {
            out.error = std::string(ng.request.error());
            out.reply = encode_ng_error(out.cookie, ng.request.error());
            return out;
        }
        out.unknown_flags = std::move(ng.request->ignored);
        out.request = std::move(ng.request->request);
        return out;
    }

    std::string encode(std::string_view cookie, const Request& request,
                       const Outcome& outcome) const override {
        return encode_ng(cookie, request.op, outcome);
    }
};

}  // namespace

std::unique_ptr<ControlProtocol> make_ng_protocol() {
    return std::make_unique<NgProtocol>();
}

}  // namespace sg::relay
