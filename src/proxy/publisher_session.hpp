#pragma once
// One publisher's RTSP session on a publish mount of the proxy listener (RFC 2326 ANNOUNCE, SETUP with
// mode=record, RECORD): the tracks its SDP announced, each received over UDP (from the publisher's own
// address only) or interleaved on its RTSP connection, and fed to the mount, which fans them out to its
// players as it does an upstream's packets. The end of the session (TEARDOWN, the connection lost, the
// session timeout, a takeover, the mount removed) releases the mount: its players end cleanly and the mount
// waits for the next publisher. One log line per session end.

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/udp_port_pair.hpp"
#include "proxy/mount.hpp"
#include "proxy/player_session.hpp"

namespace sg::proxy {

struct PublisherTrack {
    std::string control_url;  // as the publisher's SDP names it, resolved against the ANNOUNCE URI
    bool set_up = false;
    bool tcp = false;
    std::uint8_t rtp_channel = 0;
    std::uint8_t rtcp_channel = 1;
    std::optional<client::UdpPortPair> udp;  // the ports the publisher sends to
};

class PublisherSession : public std::enable_shared_from_this<PublisherSession>, public MountPublisher {
public:
    using Clock = std::chrono::steady_clock;

    // `description` is what the mount serves once RECORD comes; `control_urls` name the tracks in SETUPs.
    PublisherSession(std::string id, std::shared_ptr<Mount> mount, std::string peer,
                     const asio::ip::address& peer_address, MountDescription description,
                     std::vector<std::string> control_urls, std::weak_ptr<PlayerSink> sink);
    ~PublisherSession() override;
    PublisherSession(const PublisherSession&) = delete;
    PublisherSession& operator=(const PublisherSession&) = delete;

    const std::string& id() const noexcept { return id_; }
    Mount& mount() noexcept { return *mount_; }
    std::vector<PublisherTrack>& tracks() noexcept { return tracks_; }
    bool recording() const noexcept { return recording_; }
    // The track a SETUP's Request-URI names, if any.
    std::optional<std::size_t> track_of(std::string_view uri) const;

    // Takes the track's transport; UDP receivers start at RECORD.
    void set_up(std::size_t track, PublisherTrack transport);
    bool any_set_up() const noexcept;
    // RECORD: the mount serves the announced description, and the media received from now on.
    void record();
    // An interleaved frame on the publisher's connection; on_interleaved_done() after the last one of a
    // read, when what the mount's TCP players were given in between is written.
    void on_interleaved(std::uint8_t channel, std::span<const std::uint8_t> payload);
    void on_interleaved_done();

    // Ends the session and releases the mount (its players end). Idempotent.
    void stop(std::string_view reason);
    // The mount ends the publisher: stop(), then the connection closes.
    void end_from_mount(std::string_view reason) override;
    std::string describe_publisher() const override {
        return user_.empty() ? peer_ : peer_ + " user " + user_;
    }

    void touch() noexcept { last_activity_ = Clock::now(); }
    Clock::time_point last_activity() const noexcept { return last_activity_; }
    void set_user(std::string user) { user_ = std::move(user); }

private:
    static asio::awaitable<void> receive_udp(std::shared_ptr<PublisherSession> self, std::size_t track,
                                             bool rtcp);
    void on_packet(std::size_t track, bool rtcp, std::span<const std::uint8_t> data);

    std::string id_;
    std::shared_ptr<Mount> mount_;
    std::string peer_;
    asio::ip::address peer_address_;
    std::optional<MountDescription> description_;  // handed to the mount at RECORD
    std::weak_ptr<PlayerSink> sink_;
    std::string user_;
    std::vector<PublisherTrack> tracks_;
    bool recording_ = false;
    bool stopped_ = false;
    std::uint64_t packets_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t foreign_ = 0;  // UDP datagrams from another address, dropped
    Clock::time_point created_ = Clock::now();
    Clock::time_point last_activity_ = created_;
};

}  // namespace sg::proxy
