#include "server/mp2t_remuxer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>
}

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace sg::server {
namespace {

constexpr AVRational k_90khz{1, 90000};
constexpr int k_io_buffer_size = 64 * 1024;

// FFmpeg 6.1 made the write callback's buffer const.
#if LIBAVFORMAT_VERSION_MAJOR >= 61
using IoBuffer = const std::uint8_t*;
#else
using IoBuffer = std::uint8_t*;
#endif

int write_ts(void* opaque, IoBuffer data, int size) {
    auto& out = *static_cast<TsOutput*>(opaque);
    if (out.taken) {
        out.bytes.clear();
        out.taken = false;
    }
    if (size > 0) out.bytes.insert(out.bytes.end(), data, data + size);
    return size;
}

std::string av_error_text(int code) {
    std::array<char, AV_ERROR_MAX_STRING_SIZE> text{};
    av_strerror(code, text.data(), text.size());
    return text.data();
}

// Codecs whose decoder configuration MP4/MKV keep out of band (extradata) but a transport stream must carry
// in band: the "dump_extra" filter puts it before every keyframe. (H.264/H.265 get the same from the
// muxer's own automatic annexb filters.)
bool needs_in_band_config(const AVStream& stream) {
    const auto id = stream.codecpar->codec_id;
    return stream.codecpar->extradata_size > 0 &&
           (id == AV_CODEC_ID_MPEG4 || id == AV_CODEC_ID_MPEG1VIDEO || id == AV_CODEC_ID_MPEG2VIDEO);
}

AVBSFContext* dump_extra_filter(const AVStream& stream) {
    const AVBitStreamFilter* filter = av_bsf_get_by_name("dump_extra");
    AVBSFContext* bsf = nullptr;
    if (filter == nullptr || av_bsf_alloc(filter, &bsf) < 0) return nullptr;
    if (avcodec_parameters_copy(bsf->par_in, stream.codecpar) < 0 || av_bsf_init(bsf) < 0) {
        av_bsf_free(&bsf);
        return nullptr;
    }
    bsf->time_base_in = stream.time_base;
    return bsf;
}

bool remuxable(const AVStream& stream) {
    const auto type = stream.codecpar->codec_type;
    return (type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO) &&
           (stream.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0;
}

}  // namespace

std::unique_ptr<Mp2tRemuxer> Mp2tRemuxer::create(AVFormatContext& input, std::string& error) {
    std::unique_ptr<Mp2tRemuxer> remuxer(new Mp2tRemuxer());
    remuxer->input_ = &input;
    remuxer->output_of_input_.assign(input.nb_streams, -1);
    int outputs = 0;
    for (unsigned i = 0; i < input.nb_streams; ++i) {
        if (remuxable(*input.streams[i])) remuxer->output_of_input_[i] = outputs++;
    }
    if (outputs == 0) {
        error = "no audio or video stream";
        return nullptr;
    }
    remuxer->in_band_.assign(input.nb_streams, nullptr);
    for (unsigned i = 0; i < input.nb_streams; ++i) {
        if (remuxer->output_of_input_[i] >= 0 && needs_in_band_config(*input.streams[i]))
            remuxer->in_band_[i] = dump_extra_filter(*input.streams[i]);
    }
    if (!remuxer->open_muxer(/*discontinuity=*/false, error)) return nullptr;
    return remuxer;
}

Mp2tRemuxer::~Mp2tRemuxer() {
    close_muxer();
    for (auto*& bsf : in_band_)
        av_bsf_free(&bsf);
}

bool Mp2tRemuxer::carries(int stream_index) const noexcept {
    return stream_index >= 0 && static_cast<std::size_t>(stream_index) < output_of_input_.size() &&
           output_of_input_[static_cast<std::size_t>(stream_index)] >= 0;
}

bool Mp2tRemuxer::open_muxer(bool discontinuity, std::string& error) {
    close_muxer();
    if (const int rc = avformat_alloc_output_context2(&output_, nullptr, "mpegts", nullptr); rc < 0) {
        output_ = nullptr;
        error = "mpegts muxer: " + av_error_text(rc);
        return false;
    }
    auto* buffer = static_cast<std::uint8_t*>(av_malloc(k_io_buffer_size));
    if (buffer != nullptr)
        io_ = avio_alloc_context(buffer, k_io_buffer_size, 1, &out_, nullptr, &write_ts, nullptr);
    if (io_ == nullptr) {
        av_free(buffer);
        error = "out of memory";
        return false;
    }
    output_->pb = io_;
    output_->flags |= AVFMT_FLAG_CUSTOM_IO;
    for (unsigned i = 0; i < input_->nb_streams; ++i) {
        if (output_of_input_[i] < 0) continue;
        const AVStream& in = *input_->streams[i];
        AVStream* out = avformat_new_stream(output_, nullptr);
        if (out == nullptr || avcodec_parameters_copy(out->codecpar, in.codecpar) < 0) {
            error = "out of memory";
            return false;
        }
        out->codecpar->codec_tag = 0;  // the container's tag means nothing in a transport stream
        out->time_base = in.time_base;
    }
    AVDictionary* options = nullptr;
    // A new muxer restarts the continuity counters: say so, or a receiver counts the jump as loss.
    if (discontinuity) av_dict_set(&options, "mpegts_flags", "initial_discontinuity", 0);
    // Video PES packets with their length (when under 64 KiB): a receiver can hand a frame on as soon as
    // it is complete instead of waiting for the next one, and the last frame of a stream is not lost to a
    // player that stops at the RTCP BYE without flushing its TS demuxer (ffmpeg's RTP one does).
    av_dict_set(&options, "omit_video_pes_length", "0", 0);
    const int rc = avformat_write_header(output_, &options);
    av_dict_free(&options);
    if (rc < 0) {
        error = "mpegts muxer: " + av_error_text(rc);
        return false;
    }
    for (unsigned i = 0; i < output_->nb_streams; ++i) {
        if (av_cmp_q(output_->streams[i]->time_base, k_90khz) != 0) {
            error = "mpegts muxer: unexpected time base";
            return false;
        }
    }
    avio_flush(io_);
    first_dts_.assign(output_->nb_streams, AV_NOPTS_VALUE);
    reorder_delay_.resize(output_->nb_streams, 0);  // kept across a restart: the streams are the same
    last_dts_.assign(output_->nb_streams, AV_NOPTS_VALUE);
    offset_ = 0;
    pass_end_ = start_90khz();
    written_ = false;
    return true;
}

void Mp2tRemuxer::close_muxer() noexcept {
    if (output_ != nullptr) avformat_free_context(output_);  // custom I/O: leaves io_ to us
    output_ = nullptr;
    if (io_ != nullptr) {
        av_freep(static_cast<void*>(&io_->buffer));
        avio_context_free(&io_);
    }
}

std::int64_t Mp2tRemuxer::start_90khz() const noexcept {
    return input_->start_time == AV_NOPTS_VALUE ? 0
                                                : av_rescale_q(input_->start_time, AV_TIME_BASE_Q, k_90khz);
}

bool Mp2tRemuxer::write(AVPacket& packet) {
    if (output_ == nullptr || !carries(packet.stream_index)) return false;
    const auto in = static_cast<std::size_t>(packet.stream_index);
    const auto out = static_cast<std::size_t>(output_of_input_[in]);
    if (AVBSFContext* bsf = in_band_[in]; bsf != nullptr) {
        // One packet in, the same packet (extradata prepended to a keyframe) out.
        if (av_bsf_send_packet(bsf, &packet) < 0 || av_bsf_receive_packet(bsf, &packet) < 0) {
            ++dropped_;
            return false;
        }
        packet.stream_index = static_cast<int>(in);
    }
    av_packet_rescale_ts(&packet, input_->streams[packet.stream_index]->time_base, k_90khz);
    std::int64_t pts = packet.pts != AV_NOPTS_VALUE ? packet.pts : packet.dts;
    std::int64_t dts = packet.dts;
    if (pts == AV_NOPTS_VALUE) {
        ++dropped_;  // no timing at all: cannot be placed in the stream
        return false;
    }
    // Demuxers often leave the decoding time of the first packet after a seek unset (MKV): with reordered
    // frames, taking the presentation time would collide with the next packet's; the stream's last known
    // reordering delay gives it back.
    if (dts == AV_NOPTS_VALUE) dts = pts - std::max<std::int64_t>(reorder_delay_[out], 0);
    if (packet.dts != AV_NOPTS_VALUE && packet.pts != AV_NOPTS_VALUE) reorder_delay_[out] = pts - dts;
    if (first_dts_[out] == AV_NOPTS_VALUE) first_dts_[out] = dts;
    pass_end_ = std::max(pass_end_, pts + std::max<std::int64_t>(packet.duration, 0));
    dts += offset_;
    pts += offset_;
    if (last_dts_[out] != AV_NOPTS_VALUE && dts <= last_dts_[out]) {
        // The muxer refuses a decoding time that does not advance; demuxers produce them (MKV right after a
        // seek). One tick later does no harm, as ffmpeg's own remuxing does.
        spdlog::debug("mp2t: stream {} decoding time {} moved after {}", out, dts, last_dts_[out]);
        dts = last_dts_[out] + 1;
        pts = std::max(pts, dts);
    }
    packet.dts = dts;
    packet.pts = pts;
    packet.stream_index = static_cast<int>(out);
    packet.pos = -1;
    const int rc = av_write_frame(output_, &packet);
    avio_flush(io_);
    if (rc < 0) {
        ++dropped_;
        spdlog::debug("mp2t: stream {} packet refused by the muxer: {}", out, av_error_text(rc));
        return false;
    }
    last_dts_[out] = dts;
    written_ = true;
    return true;
}

bool Mp2tRemuxer::flush() {
    if (output_ == nullptr) return false;
    const int rc = av_write_frame(output_, nullptr);
    avio_flush(io_);
    return rc >= 0;
}

Bytes Mp2tRemuxer::take() noexcept {
    if (out_.taken) {
        out_.bytes.clear();
        out_.taken = false;
    }
    out_.taken = true;
    return Bytes(out_.bytes);
}

bool Mp2tRemuxer::restart(std::string& error) {
    out_.bytes.clear();
    out_.taken = false;
    if (!written_ && output_ != nullptr) {
        std::fill(first_dts_.begin(), first_dts_.end(), AV_NOPTS_VALUE);
        pass_end_ = start_90khz();
        return true;
    }
    return open_muxer(/*discontinuity=*/true, error);
}

void Mp2tRemuxer::continue_timeline() noexcept {
    // The next pass starts where this one ended; and in every stream after its last packet, whatever the
    // durations said (the muxer refuses a decoding time that does not advance).
    std::int64_t next = offset_ + (pass_end_ - start_90khz());
    for (std::size_t i = 0; i < first_dts_.size(); ++i) {
        if (first_dts_[i] != AV_NOPTS_VALUE && last_dts_[i] != AV_NOPTS_VALUE)
            next = std::max(next, last_dts_[i] + 1 - first_dts_[i]);
    }
    offset_ = next;
    pass_end_ = start_90khz();
    std::fill(first_dts_.begin(), first_dts_.end(), AV_NOPTS_VALUE);
}

}  // namespace sg::server
