#include "proxy/mount_description.hpp"

#include "client/presentation.hpp"
#include "restream/key_frame.hpp"
#include "restream/mount_sdp.hpp"

namespace sg::proxy {

Result<MountDescription> describe_mount(const std::string& sdp) {
    // Control URLs resolve against any absolute base: players get the mount's own (mount_sdp).
    const auto presentation = client::parse_presentation(sdp, "rtsp://mount/");
    if (!presentation) return fail("the SDP does not describe an RTSP presentation");
    if (presentation->tracks.empty()) return fail("the SDP has no RTP track");
    if (!mount_sdp(sdp, "0.0.0.0", false)) return fail("the SDP cannot be served to players");
    MountDescription description;
    description.upstream_sdp = sdp;
    const auto encodings = mount_track_encodings(sdp);
    for (std::size_t i = 0; i < presentation->tracks.size(); ++i) {
        description.clock_rates.push_back(presentation->tracks[i].clock_rate);
        description.wait_key_frame.push_back(i < encodings.size() && waits_for_key_frame(encodings[i]));
    }
    return description;
}

}  // namespace sg::proxy
