#pragma once
// The proxy's loopback tests: an RtspProxy listening on 127.0.0.1:0 with its event loop on a thread of its
// own, what runs on that loop handed over with on_io(), and a clean shutdown however the test ended.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "metrics/registry.hpp"
#include "proxy/rtsp_proxy.hpp"

namespace sg::proxy::testing {

class ProxyFixture : public ::testing::Test {
protected:
    // Listens, starts the always-on mounts and the loop; a listener that cannot open fails the test.
    void start_proxy(RtspProxyOptions options, metrics::Registry* registry = nullptr) {
        proxy_ = std::make_unique<RtspProxy>(io_, std::move(options), registry);
        std::string error;
        const auto bound =
            proxy_->listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), error);
        ASSERT_TRUE(bound) << error;
        endpoint_ = *bound;
        proxy_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        if (thread_.joinable()) {
            on_io([this] { proxy_->shutdown(); });
            work_.reset();
            io_.stop();
            thread_.join();
        }
        proxy_.reset();
    }

    // Runs `f` on the proxy's event loop and returns what it returns, once it has run.
    template <class F>
    auto on_io(F f) -> decltype(f()) {
        std::promise<decltype(f())> done;
        asio::post(io_, [&] {
            if constexpr (std::is_void_v<decltype(f())>) {
                f();
                done.set_value();
            } else {
                done.set_value(f());
            }
        });
        return done.get_future().get();
    }

    // rtsp://127.0.0.1:PORT/PATH on the proxy's listener.
    std::string proxy_url(const std::string& path) const {
        return "rtsp://127.0.0.1:" + std::to_string(endpoint_.port()) + "/" + path;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    asio::io_context client_io_;  // the tests' blocking clients
    std::unique_ptr<RtspProxy> proxy_;
    asio::ip::tcp::endpoint endpoint_;
    std::thread thread_;
};

}  // namespace sg::proxy::testing
