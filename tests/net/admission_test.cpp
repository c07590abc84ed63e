#include "net/admission.hpp"

#include <gtest/gtest.h>

#include <utility>

namespace sg::net {
namespace {

const auto a = asio::ip::make_address("192.0.2.1");
const auto b = asio::ip::make_address("2001:db8::2");

TEST(Admission, CapsPerClientAndGivesThePlaceBackWhenTheSlotGoes) {
    Admission admission({0, 2});
    auto first = admission.admit(a);
    auto second = admission.admit(a);
    EXPECT_EQ(first.verdict, Admission::Verdict::admitted);
    EXPECT_EQ(second.verdict, Admission::Verdict::admitted);
    const auto third = admission.admit(a);
    EXPECT_EQ(third.verdict, Admission::Verdict::over_per_client);
    EXPECT_FALSE(third.slot);
    EXPECT_EQ(admission.admit(b).verdict, Admission::Verdict::admitted);  // another client is not affected
    EXPECT_EQ(admission.active(a), 2u);
    { const Admission::Slot gone = std::move(first.slot); }
    EXPECT_EQ(admission.active(a), 1u);
    EXPECT_EQ(admission.admit(a).verdict, Admission::Verdict::admitted);
}

TEST(Admission, CapsTheTotal) {
    Admission admission({2, 0});
    auto x = admission.admit(a);
    auto y = admission.admit(b);
    EXPECT_EQ(admission.active(), 2u);
    EXPECT_EQ(admission.admit(a).verdict, Admission::Verdict::over_total);
    y.slot = Admission::Slot{};
    EXPECT_EQ(admission.active(), 1u);
    auto z = admission.admit(a);
    EXPECT_EQ(z.verdict, Admission::Verdict::admitted);
    EXPECT_EQ(admission.active(a), 2u);
}

TEST(Admission, ZeroMeansNoLimitAndNewLimitsApplyToTheNextAdmission) {
    Admission admission;
    std::vector<Admission::Slot> slots;
    for (int i = 0; i < 100; ++i)
        slots.push_back(admission.admit(a).slot);
    EXPECT_EQ(admission.active(), 100u);
    admission.set_limits({50, 0});
    EXPECT_EQ(admission.admit(b).verdict, Admission::Verdict::over_total);
    slots.clear();
    EXPECT_EQ(admission.active(), 0u);
    EXPECT_EQ(admission.admit(b).verdict, Admission::Verdict::admitted);
}

TEST(Admission, SlotsOutliveTheAdmission) {
    Admission::Slot slot;
    {
        Admission admission({1, 1});
        slot = admission.admit(a).slot;
    }
    EXPECT_TRUE(slot);  // released later without touching the gone Admission object
}

}  // namespace
}  // namespace sg::net
