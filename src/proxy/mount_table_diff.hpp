#pragma once
// What a SIGHUP reload changes in the RTSP proxy's mount table: the running mounts against the freshly
// loaded ones, by name. Pure, so every case is unit-tested without sockets; RtspProxy::reload applies it.

#include <span>
#include <string>
#include <vector>

#include "proxy/mount_config.hpp"

namespace sg::proxy {

struct MountTableDiff {
    std::vector<MountConfig> added;      // new names: start serving
    std::vector<std::string> removed;    // names gone: their players end, their upstream is torn down
    std::vector<MountConfig> restarted;  // URL, credentials or transport changed: a new upstream session
    std::vector<MountConfig> retuned;    // only `always_on` changed: the running upstream stays
    std::vector<std::string> unchanged;

    bool empty() const noexcept {
        return added.empty() && removed.empty() && restarted.empty() && retuned.empty();
    }
};

// Each list keeps the order of the table it comes from (`fresh` for added/restarted/retuned/unchanged,
// `running` for removed). Names are unique within each table (the configuration checks that).
MountTableDiff diff_mount_tables(std::span<const MountConfig> running, std::span<const MountConfig> fresh);

}  // namespace sg::proxy
