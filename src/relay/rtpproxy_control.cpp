#include "relay/rtpproxy_control.hpp"

#include "relay/rtpproxy_codec.hpp"

namespace sg::relay {
namespace {

class RtpproxyProtocol final : public ControlProtocol {
public:
    explicit RtpproxyProtocol(RtpproxyTransport transport)
        : with_cookie_(transport == RtpproxyTransport::udp) {}

    std::string_view name() const noexcept override { return "rtpproxy"; }

    Decoded decode(std::string_view message) const override {
        RtpproxyDecoded rtpp = decode_rtpproxy(message, with_cookie_);
        Decoded out;
        if (!rtpp.can_reply) {
            out.error = "no usable cookie";
            return out;
        }
        out.cookie = std::move(rtpp.cookie);
        if (!rtpp.request) {
            out.error = std::string(rtpp.request.error());
            out.reply = encode_rtpproxy_error(out.cookie, rtpp.error_code);
            return out;
        }
        out.unknown_flags = std::move(rtpp.ignored);
        out.request = std::move(*rtpp.request);
        return out;
    }

    std::string encode(std::string_view cookie, const Request& request,
                       const Outcome& outcome) const override {
        return encode_rtpproxy(cookie, request, outcome);
    }

private:
    bool with_cookie_;
};

}  // namespace

std::unique_ptr<ControlProtocol> make_rtpproxy_protocol(RtpproxyTransport transport) {
    return std::make_unique<RtpproxyProtocol>(transport);
}

}  // namespace sg::relay
