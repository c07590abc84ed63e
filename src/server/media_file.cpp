#include "server/media_file.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/log.h>
}

#include <algorithm>
#include <array>
#include <optional>

#include "server/mp2t_remuxer.hpp"

namespace sg::server {
namespace {

constexpr std::uint32_t k_video_clock = 90000;
constexpr std::uint32_t k_opus_clock = 48000;
constexpr std::uint32_t k_g711_clock = 8000;

std::string av_error_text(int code) {
    std::array<char, AV_ERROR_MAX_STRING_SIZE> text{};
    av_strerror(code, text.data(), text.size());
    return text.data();
}

// An audio or video stream a viewer would miss if we left it out (cover art is not one).
bool is_media_stream(const AVStream& stream) {
    const auto type = stream.codecpar->codec_type;
    return (type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO) &&
           (stream.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0;
}

std::optional<TrackInfo> track_for(const AVStream& stream) {
    const AVCodecParameters& par = *stream.codecpar;
    TrackInfo info;
    info.stream_index = stream.index;
    info.channels = par.ch_layout.nb_channels;
    info.sample_rate = par.sample_rate;
    switch (par.codec_id) {
        case AV_CODEC_ID_H264:
            info.codec = Codec::h264;
            info.clock_rate = k_video_clock;
            break;
        case AV_CODEC_ID_HEVC:
            info.codec = Codec::h265;
            info.clock_rate = k_video_clock;
            break;
        case AV_CODEC_ID_AAC:
            if (par.sample_rate <= 0) return std::nullopt;
            info.codec = Codec::aac;
            info.clock_rate = static_cast<std::uint32_t>(par.sample_rate);
            break;
        case AV_CODEC_ID_OPUS:
            info.codec = Codec::opus;
            info.clock_rate = k_opus_clock;  // RFC 7587 §4.1: always 48000
            break;
        case AV_CODEC_ID_PCM_MULAW:
        case AV_CODEC_ID_PCM_ALAW:
            if (par.sample_rate != static_cast<int>(k_g711_clock) || info.channels < 1) return std::nullopt;
            info.codec = par.codec_id == AV_CODEC_ID_PCM_MULAW ? Codec::pcmu : Codec::pcma;
            info.clock_rate = k_g711_clock;
            break;
        default:
            return std::nullopt;
    }
    if (par.extradata != nullptr && par.extradata_size > 0)
        info.extradata.assign(par.extradata, par.extradata + par.extradata_size);
    return info;
}

}  // namespace

std::string_view codec_name(Codec codec) noexcept {
    switch (codec) {
        case Codec::h264:
            return "H264";
        case Codec::aac:
            return "AAC";
        case Codec::opus:
            return "opus";
        case Codec::pcmu:
            return "PCMU";
        case Codec::pcma:
            return "PCMA";
        case Codec::h265:
            return "H265";
        case Codec::mp2t:
            return "MP2T";
    }
    return "?";
}

// The header's streams must be exactly what the probe found for every track (codec, parameters, extradata):
// then reading without a probe packetizes the same way. MPEG-TS, for one, learns its parameters only from
// frames, so it never matches and keeps the full probe.
bool MediaFile::adopt(const ProbedLayout& known) {
    if (known.tracks.empty()) return false;
    std::vector<int> track_of_stream(format_->nb_streams, -1);
    for (std::size_t t = 0; t < known.tracks.size(); ++t) {
        const TrackInfo& want = known.tracks[t];
        if (want.stream_index < 0 || static_cast<unsigned>(want.stream_index) >= format_->nb_streams)
            return false;
        const auto have = track_for(*format_->streams[want.stream_index]);
        if (!have || have->codec != want.codec || have->clock_rate != want.clock_rate ||
            have->channels != want.channels || have->sample_rate != want.sample_rate ||
            have->extradata != want.extradata)
            return false;
        track_of_stream[static_cast<std::size_t>(want.stream_index)] = static_cast<int>(t);
    }
    for (unsigned i = 0; i < format_->nb_streams; ++i) {
        if (track_of_stream[i] < 0) format_->streams[i]->discard = AVDISCARD_ALL;
    }
    tracks_ = known.tracks;
    track_of_stream_ = std::move(track_of_stream);
    duration_ = known.duration;
    start_time_ = known.start_time;
    probed_ = false;
    return true;
}

std::unique_ptr<MediaFile> MediaFile::open(const std::filesystem::path& path, std::string& error,
                                           bool force_mp2t, const ProbedLayout* known) {
    av_log_set_level(AV_LOG_ERROR);  // the demuxer's chatter would drown the session log
    std::unique_ptr<MediaFile> file(new MediaFile());
    if (const int rc = avformat_open_input(&file->format_, path.c_str(), nullptr, nullptr); rc < 0) {
        file->format_ = nullptr;
        error = av_error_text(rc);
        return nullptr;
    }
    if (known != nullptr && !force_mp2t && file->adopt(*known)) {
        file->packet_ = av_packet_alloc();
        if (file->packet_ == nullptr) {
            error = "out of memory";
            return nullptr;
        }
        return file;
    }
    if (const int rc = avformat_find_stream_info(file->format_, nullptr); rc < 0) {
        error = av_error_text(rc);
        return nullptr;
    }
    file->track_of_stream_.assign(file->format_->nb_streams, -1);
    bool unsupported = false;  // an audio or video stream we cannot packetize
    for (unsigned i = 0; i < file->format_->nb_streams; ++i) {
        AVStream* stream = file->format_->streams[i];
        if (auto info = track_for(*stream)) {
            file->track_of_stream_[i] = static_cast<int>(file->tracks_.size());
            file->tracks_.push_back(std::move(*info));
        } else {
            unsupported = unsupported || is_media_stream(*stream);
            stream->discard = AVDISCARD_ALL;  // never read what we cannot send
        }
    }
    if ((unsupported || force_mp2t) && !file->start_mp2t(error)) return nullptr;
    if (file->tracks_.empty()) {
        error = "no H.264, AAC, Opus or G.711 track";
        return nullptr;
    }
    file->start_time_ = file->format_->start_time == AV_NOPTS_VALUE ? 0 : file->format_->start_time;
    if (file->format_->duration > 0)
        file->duration_ = static_cast<double>(file->format_->duration) / AV_TIME_BASE;
    file->packet_ = av_packet_alloc();
    if (file->packet_ == nullptr) {
        error = "out of memory";
        return nullptr;
    }
    return file;
}

MediaFile::~MediaFile() {
    av_packet_free(&packet_);
    if (format_ != nullptr) avformat_close_input(&format_);
}

ReadResult MediaFile::read(MediaPacket& out) {
    if (remux_) return read_mp2t(out);
    for (;;) {
        av_packet_unref(packet_);
        const int rc = av_read_frame(format_, packet_);
        at_start_ = false;
        if (rc == AVERROR_EOF) return ReadResult::end_of_file;
        if (rc < 0) return ReadResult::error;
        if (packet_->stream_index < 0 ||
            static_cast<std::size_t>(packet_->stream_index) >= track_of_stream_.size())
            continue;
        const int track = track_of_stream_[static_cast<std::size_t>(packet_->stream_index)];
        if (track < 0 || packet_->size <= 0) continue;
        const AVStream& stream = *format_->streams[packet_->stream_index];
        const TrackInfo& info = tracks_[static_cast<std::size_t>(track)];
        const std::int64_t start = av_rescale_q(start_time_, AV_TIME_BASE_Q, stream.time_base);
        std::int64_t pts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
        std::int64_t dts = packet_->dts != AV_NOPTS_VALUE ? packet_->dts : pts;
        if (pts == AV_NOPTS_VALUE) continue;  // no timing at all: cannot be paced
        pts -= start;
        dts -= start;
        out.track = static_cast<std::size_t>(track);
        out.pts_clock = av_rescale_q(pts, stream.time_base, AVRational{1, static_cast<int>(info.clock_rate)});
        out.dts_seconds = static_cast<double>(dts) * av_q2d(stream.time_base);
        out.end_seconds = static_cast<double>(pts + packet_->duration) * av_q2d(stream.time_base);
        out.keyframe = (packet_->flags & AV_PKT_FLAG_KEY) != 0;
        out.data = Bytes(packet_->data, static_cast<std::size_t>(packet_->size));
        return ReadResult::packet;
    }
}

bool MediaFile::start_mp2t(std::string& error) {
    remux_ = Mp2tRemuxer::create(*format_, error);
    if (!remux_) return false;
    tracks_.assign(1, TrackInfo{});
    tracks_[0].stream_index = -1;
    tracks_[0].codec = Codec::mp2t;
    tracks_[0].clock_rate = k_video_clock;  // RFC 2250 §2: 90 kHz
    for (unsigned i = 0; i < format_->nb_streams; ++i) {
        const bool carried = remux_->carries(static_cast<int>(i));
        track_of_stream_[i] = carried ? 0 : -1;
        format_->streams[i]->discard = carried ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    }
    return true;
}

ReadResult MediaFile::read_mp2t(MediaPacket& out) {
    for (;;) {
        if (mp2t_flushed_) return ReadResult::end_of_file;
        av_packet_unref(packet_);
        const int rc = av_read_frame(format_, packet_);
        at_start_ = false;
        if (rc == AVERROR_EOF) {
            // What the muxer held back (audio filling a PES packet) goes out with the last packet's time.
            mp2t_flushed_ = true;
            if (!remux_->flush()) return ReadResult::error;
            out = mp2t_last_;
            out.data = remux_->take();
            return out.data.empty() ? ReadResult::end_of_file : ReadResult::packet;
        }
        if (rc < 0) return ReadResult::error;
        if (!remux_->carries(packet_->stream_index) || packet_->size <= 0) continue;
        const AVStream& stream = *format_->streams[packet_->stream_index];
        const std::int64_t start = av_rescale_q(start_time_, AV_TIME_BASE_Q, stream.time_base);
        const std::int64_t pts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
        const std::int64_t dts = packet_->dts != AV_NOPTS_VALUE ? packet_->dts : pts;
        if (dts == AV_NOPTS_VALUE) continue;  // no timing at all: cannot be paced
        // The RTP timestamp is the packet's sending time at 90 kHz (RFC 2250 §2), its decoding time here.
        const std::int64_t dts_clock =
            av_rescale_q(dts - start, stream.time_base, AVRational{1, static_cast<int>(k_video_clock)});
        const double dts_seconds = static_cast<double>(dts - start) * av_q2d(stream.time_base);
        const double end_seconds =
            static_cast<double>(pts - start + std::max<std::int64_t>(packet_->duration, 0)) *
            av_q2d(stream.time_base);
        const bool keyframe =
            (packet_->flags & AV_PKT_FLAG_KEY) != 0 &&
            format_->streams[packet_->stream_index]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO;
        remux_->write(*packet_);  // a packet the muxer refuses is lost alone (counted by the remuxer)
        mp2t_last_.track = 0;
        mp2t_last_.pts_clock = std::max(mp2t_last_.pts_clock, dts_clock);
        mp2t_last_.dts_seconds = std::max(mp2t_last_.dts_seconds, dts_seconds);
        mp2t_last_.end_seconds = std::max(mp2t_last_.end_seconds, end_seconds);
        const Bytes bytes = remux_->take();
        if (bytes.empty()) continue;  // held back by the muxer: goes out with a later packet
        out = mp2t_last_;
        out.keyframe = keyframe;
        out.data = bytes;
        return ReadResult::packet;
    }
}

bool MediaFile::rewind_for_loop() {
    if (!seek_demuxer(0.0)) return false;
    if (remux_) {
        remux_->continue_timeline();
        mp2t_flushed_ = false;
        mp2t_last_ = MediaPacket{};
    }
    return true;
}

bool MediaFile::seek(double seconds) {
    if (!seek_demuxer(seconds)) return false;
    if (remux_) {
        std::string error;
        if (!remux_->restart(error)) return false;
        mp2t_flushed_ = false;
        mp2t_last_ = MediaPacket{};
    }
    return true;
}

bool MediaFile::seek_demuxer(double seconds) {
    av_packet_unref(packet_);
    if (seconds <= 0.0) {
        if (at_start_) return true;  // the first PLAY's "npt=0-" must not move a fresh demuxer
        // Timestamp seeks in MPEG-TS and raw streams search by PCR/PTS and can land after the first
        // keyframe; the start of those is simply byte 0.
        const std::string_view name = format_->iformat->name;
        if (name.find("mpegts") != std::string_view::npos || name == "h264" || name == "hevc" ||
            name == "aac") {
            at_start_ = av_seek_frame(format_, -1, 0, AVSEEK_FLAG_BYTE) >= 0;
            if (at_start_) return true;
        }
    }
    const auto target = start_time_ + static_cast<std::int64_t>(seconds * AV_TIME_BASE);
    const bool ok = avformat_seek_file(format_, -1, INT64_MIN, target, target, 0) >= 0 ||
                    av_seek_frame(format_, -1, target, AVSEEK_FLAG_BACKWARD) >= 0;
    at_start_ = ok && seconds <= 0.0;
    return ok;
}

}  // namespace sg::server
