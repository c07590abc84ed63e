#pragma once
// The completion token of the project's awaited I/O: the coroutine gets (error_code, results...) as a tuple
// instead of an exception, since a peer's reset, a closed socket or a cancelled timer is an outcome each
// caller handles in place, often on a per-packet path.

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace sg::net {

inline constexpr auto k_use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace sg::net
