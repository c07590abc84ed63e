#include "proxy/mount_table_diff.hpp"

#include <algorithm>

namespace sg::proxy {
namespace {

const MountConfig* find(std::span<const MountConfig> table, const std::string& name) {
    const auto it =
        std::find_if(table.begin(), table.end(), [&](const MountConfig& m) { return m.name == name; });
    return it == table.end() ? nullptr : &*it;
}

// What the upstream session depends on: a change here needs a new session (the URL includes the
// credentials).
bool same_upstream(const MountConfig& a, const MountConfig& b) {
    return a.url == b.url && a.transport == b.transport;
}

}  // namespace

MountTableDiff diff_mount_tables(std::span<const MountConfig> running, std::span<const MountConfig> fresh) {
    MountTableDiff diff;
    for (const auto& mount : running)
        if (find(fresh, mount.name) == nullptr) diff.removed.push_back(mount.name);
    for (const auto& mount : fresh) {
        const auto* old = find(running, mount.name);
        if (old == nullptr) {
            diff.added.push_back(mount);
        } else if (!same_upstream(*old, mount)) {
            diff.restarted.push_back(mount);
        } else if (old->always_on != mount.always_on) {
            diff.retuned.push_back(mount);
        } else {
            diff.unchanged.push_back(mount.name);
        }
    }
    return diff;
}

}  // namespace sg::proxy
