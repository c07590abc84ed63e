#include "mssr/gop_span.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::mssr {
namespace {

constexpr Priority K = Priority::key;
constexpr Priority R = Priority::reference;
constexpr Priority D = Priority::disposable;

std::vector<std::size_t> spans(GopSpan& g, const std::vector<Priority>& adus) {
    std::vector<std::size_t> out;
    for (const Priority p : adus)
        out.push_back(g.next(p));
    return out;
}

// Until the second key frame the GOP is the assumed one; then it is the distance between the two. A
// reference frame spoils the rest of its GOP, itself included; a disposable frame only itself.
TEST(MssrGopSpan, AReferenceFrameSpoilsTheRestOfItsGop) {
    GopSpan g(8);
    EXPECT_EQ(spans(g, {K, R, D, R, D, R}), (std::vector<std::size_t>{8, 7, 1, 5, 1, 3}));
    EXPECT_FALSE(g.gop());
    // A key frame after six frames: the GOP is 6 from here on.
    EXPECT_EQ(spans(g, {K, R, D, R, R, R}), (std::vector<std::size_t>{6, 5, 1, 3, 2, 1}));
    EXPECT_EQ(g.gop(), 6u);
}

// A GOP that runs past the last one's length spoils at least one frame per reference frame, and the next
// key frame learns the longer length.
TEST(MssrGopSpan, ALongerGopThanTheLastIsLearntAtItsEnd) {
    GopSpan g(50);
    EXPECT_EQ(spans(g, {K, R, K}), (std::vector<std::size_t>{50, 49, 2}));
    EXPECT_EQ(spans(g, {R, R, R}), (std::vector<std::size_t>{1, 1, 1}));  // past the 2 learnt
    EXPECT_EQ(g.next(K), 4u);
}

// A stream without key ADUs (audio, where every frame stands alone) spoils one frame per ADU, as does
// anything before a stream's first key ADU.
TEST(MssrGopSpan, FramesBeforeAnyKeyFrameSpoilOnlyThemselves) {
    GopSpan g(50);
    EXPECT_EQ(spans(g, {R, R, D, R}), (std::vector<std::size_t>{1, 1, 1, 1}));
    EXPECT_EQ(g.next(K), 50u);
    GopSpan zero(0);  // a nonsense assumption still spoils the frame itself
    EXPECT_EQ(zero.next(K), 1u);
}

}  // namespace
}  // namespace sg::mssr
