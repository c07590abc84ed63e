#include "stun/stream_framing.hpp"

#include <gtest/gtest.h>

#include "stun/channel_data.hpp"
#include "stun/stun_message.hpp"

namespace sg::stun {
namespace {

TEST(StreamFraming, CutsStunAndPaddedChannelDataOneAtATime) {
    std::vector<std::uint8_t> stream;
    MessageBuilder b(stream, Class::request, method::binding, TransactionId{});
    b.add_text(attr::software, "abc");
    const std::size_t stun_size = stream.size();
    const std::array<std::uint8_t, 5> data{1, 2, 3, 4, 5};
    ASSERT_TRUE(append_channel_data(stream, 0x4000, data, true));
    const std::size_t cd_size = stream.size() - stun_size;
    EXPECT_EQ(cd_size, 12U);
    stream.push_back(0x00);  // the start of a next item

    // Every prefix shorter than the first item asks for more and consumes nothing.
    for (std::size_t n = 0; n < stun_size; ++n)
        EXPECT_TRUE(frame_stream_item(Bytes(stream).first(n)).need_more()) << n;
    auto first = frame_stream_item(stream);
    ASSERT_TRUE(first.done());
    EXPECT_EQ(first.consumed, stun_size);
    const Bytes rest = Bytes(stream).subspan(stun_size);
    for (std::size_t n = 0; n < cd_size; ++n)
        EXPECT_TRUE(frame_stream_item(rest.first(n)).need_more()) << n;
    auto second = frame_stream_item(rest);
    ASSERT_TRUE(second.done());
    EXPECT_EQ(second.consumed, cd_size);
    EXPECT_TRUE(frame_stream_item(rest.subspan(cd_size)).need_more());
}

TEST(StreamFraming, RefusesWhatCannotBeFramed) {
    // "GET " starts with the bits of ChannelData (0x47): it is framed as such and dropped later.
    const std::array<std::uint8_t, 8> tls{0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00, 0x00};
    EXPECT_TRUE(frame_stream_item(Bytes(tls).first(4)).need_more());  // could still be STUN
    EXPECT_TRUE(frame_stream_item(tls).failed());                     // no cookie
    const std::array<std::uint8_t, 4> odd_length{0x00, 0x01, 0x00, 0x05};
    EXPECT_TRUE(frame_stream_item(odd_length).failed());
    const std::array<std::uint8_t, 1> high{0xC0};
    EXPECT_TRUE(frame_stream_item(high).failed());
}

}  // namespace
}  // namespace sg::stun
