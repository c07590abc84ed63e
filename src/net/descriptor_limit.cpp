#include "net/descriptor_limit.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

namespace sg::net {

std::uint64_t raise_descriptor_limit(std::string_view what, unsigned per_session) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        const auto before = limit.rlim_cur;
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            spdlog::info("descriptor limit raised from {} to {}", before, raised.rlim_cur);
            limit = raised;
        }
    }
    if (limit.rlim_cur < 4096) {
        spdlog::warn("descriptor limit is {}: at most about {} concurrent {} (raise it with ulimit -n)",
                     limit.rlim_cur, limit.rlim_cur / (per_session == 0 ? 1 : per_session), what);
    }
    return limit.rlim_cur;
}

}  // namespace sg::net
