#pragma once
// Prompt files for play media: G.711 audio (A-law or mu-law, 8 kHz, mono; e.g. a .wav made with
// `ffmpeg -i in.flac -ar 8000 -ac 1 -c:a pcm_alaw prompt.wav`), read with libavformat. Names come from the
// SIP proxy, so they are resolved inside the prompt directory and may not leave it.

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "relay/prompt.hpp"

namespace sg::relay_io {

// At most ten minutes of audio: a prompt is held in memory while it plays.
inline constexpr std::size_t k_max_prompt_samples = std::size_t{8000} * 600;

// Loads `name` from `directory`. Errors: no prompt directory configured, a name that leaves it (absolute,
// "..", a symlink out), a file libavformat cannot open, or audio that is not G.711 8 kHz mono.
sg::Result<relay::Prompt> load_prompt(const std::filesystem::path& directory, std::string_view name,
                                      std::string& detail);

}  // namespace sg::relay_io
