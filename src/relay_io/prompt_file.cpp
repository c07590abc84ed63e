#include "relay_io/prompt_file.hpp"

extern "C" {
#include <libavformat/avformat.h>
}

#include <memory>

namespace sg::relay_io {
namespace {

struct FormatCloser {
    void operator()(AVFormatContext* format) const { avformat_close_input(&format); }
};
struct PacketFree {
    void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};

}  // namespace

sg::Result<relay::Prompt> load_prompt(const std::filesystem::path& directory, std::string_view name,
                                      std::string& detail) {
    if (directory.empty()) return fail("play media is not configured (--prompt-dir)");
    std::error_code ec;
    const auto root = std::filesystem::canonical(directory, ec);
    if (ec) return fail("the prompt directory is not there");
    const auto path =
        std::filesystem::weakly_canonical(root / std::filesystem::path(name).relative_path(), ec);
    const auto [end, ignored] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
    if (ec || name.empty() || std::filesystem::path(name).is_absolute() || end != root.end())
        return fail("the prompt name leaves the prompt directory");

    av_log_set_level(AV_LOG_ERROR);
    AVFormatContext* raw = nullptr;
    if (const int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); rc < 0) {
        char text[AV_ERROR_MAX_STRING_SIZE] = {};
        av_strerror(rc, text, sizeof text);
        detail = text;
        return fail("cannot open the prompt file");
    }
    std::unique_ptr<AVFormatContext, FormatCloser> format(raw);
    if (avformat_find_stream_info(format.get(), nullptr) < 0) return fail("cannot read the prompt file");
    int index = -1;
    relay::Prompt prompt;
    for (unsigned i = 0; i < format->nb_streams; ++i) {
        const AVCodecParameters* codec = format->streams[i]->codecpar;
        if (codec->codec_type != AVMEDIA_TYPE_AUDIO) continue;
        const bool alaw = codec->codec_id == AV_CODEC_ID_PCM_ALAW;
        const bool ulaw = codec->codec_id == AV_CODEC_ID_PCM_MULAW;
        if ((alaw || ulaw) && codec->sample_rate == 8000 && codec->ch_layout.nb_channels == 1) {
            index = static_cast<int>(i);
            prompt.payload_type = alaw ? 8 : 0;
            break;
        }
    }
    if (index < 0) return fail("the prompt is not G.711 (A-law or mu-law) 8 kHz mono audio");
    std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
    if (!packet) return fail("out of memory");
    while (av_read_frame(format.get(), packet.get()) >= 0) {
        if (packet->stream_index == index && packet->size > 0) {
            if (prompt.samples.size() + static_cast<std::size_t>(packet->size) > k_max_prompt_samples) {
                av_packet_unref(packet.get());
                return fail("the prompt is longer than ten minutes");
            }
            prompt.samples.insert(prompt.samples.end(), packet->data, packet->data + packet->size);
        }
        av_packet_unref(packet.get());
    }
    if (prompt.samples.empty()) return fail("the prompt holds no audio");
    return prompt;
}

}  // namespace sg::relay_io
