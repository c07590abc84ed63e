#pragma once
// How many parity fragments a protected ADU gets when the count goes on the wire (header version 3): as few
// as leave the ADU broken with at most a chosen probability at the loss the sender measures. Any m parity
// fragments of the Cauchy code rebuild any m lost fragments (cauchy_parity.hpp), so an ADU of n data
// fragments and m parity fragments stays broken only when more than m of its n + m datagrams are lost: with
// independent losses at rate p, the binomial tail P(X > m), X ~ B(n + m, p). A fixed count is either too
// much where the path loses little or too little where it loses much: at 10 % loss one parity fragment
// leaves nearly a third of 10-fragment frames broken, at 1 % two thirds of a key frame's parity fragments
// repair nothing. Pure: the sender feeds the estimate with what its feedback shows.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace sg::mssr {

// P(X > m) for X ~ B(n, p), p in [0, 1]. Exact for the sizes used here (n up to a few hundred).
double binomial_tail_above(std::size_t n, std::size_t m, double p) noexcept;

// The smallest m >= 1 with P(B(count + m, loss) > m) <= residual, at most `count` (never more parity than
// data) and at most what the Cauchy code's field allows (count + m <= k_cauchy_max_span); the largest
// allowed when none reaches the target. nullopt for an ADU too long for the code (count >= 256): the caller
// keeps the fixed groups, as XOR groups need no field. `loss` is clamped to [0, 0.5].
std::optional<std::size_t> parity_count_for(std::size_t count, double loss, double residual) noexcept;

// The count by what a broken ADU costs the viewer, instead of one chance per kind of frame: a broken ADU
// spoils `span` frames (a disposable frame itself, a reference frame every frame up to the next key frame, a
// key frame its GOP; gop_span.hpp), each parity fragment is worth `frames_per_datagram` frames, and the
// count is the m that makes m x frames_per_datagram + span x P(B(count + m, loss) > m) least (the smallest
// such m on a tie). So a reference frame early in its GOP gets more than one near its end, and a small
// disposable frame on a path that loses little gets none (0: the ADU goes unprotected): the datagrams go
// where they save the most frames. The same bounds and nullopt as parity_count_for.
std::optional<std::size_t> parity_count_for_value(std::size_t count, double loss, double span,
                                                  double frames_per_datagram) noexcept;

// The share of datagrams the path loses, as the sender sees it: every datagram's fate once (lost when a
// feedback shows it missing below later ones, delivered when acked otherwise), with exponentially
// decaying weights over the last ~k_horizon fates (about 3 s of a 3 Mbit/s stream), so it follows a path
// that changes without jumping at each loss.
class LossEstimate {
public:
    static constexpr double k_horizon = 1024;
    // Fewer fates than this say too little: fraction() is nullopt until then.
    static constexpr std::uint64_t k_min_fates = 100;

    void on_delivered() noexcept { add(0.0); }
    void on_lost() noexcept { add(1.0); }
    std::optional<double> fraction() const noexcept;

private:
    void add(double lost) noexcept;
    double lost_ = 0;
    double total_ = 0;
    std::uint64_t fates_ = 0;
};

}  // namespace sg::mssr
