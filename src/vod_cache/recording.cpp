#include "vod_cache/recording.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "rtp/rtp_packet.hpp"

namespace sg::vod {
namespace {

// The muxer derives decoding times from presentation times for a video track with up to this many frames
// of reordering (B-frames); RTP carries presentation times only.
constexpr int k_video_reorder_frames = 4;

AVCodecID codec_id(rtp::DepacketizedCodec codec) {
    switch (codec) {
        case rtp::DepacketizedCodec::h264:
            return AV_CODEC_ID_H264;
        case rtp::DepacketizedCodec::h265:
            return AV_CODEC_ID_HEVC;
        case rtp::DepacketizedCodec::aac:
            return AV_CODEC_ID_AAC;
        case rtp::DepacketizedCodec::opus:
            return AV_CODEC_ID_OPUS;
        case rtp::DepacketizedCodec::pcmu:
            return AV_CODEC_ID_PCM_MULAW;
        case rtp::DepacketizedCodec::pcma:
            return AV_CODEC_ID_PCM_ALAW;
        case rtp::DepacketizedCodec::mp2t:
            break;
    }
    return AV_CODEC_ID_NONE;  // MP2T is written raw
}

bool is_video(rtp::DepacketizedCodec codec) {
    return codec == rtp::DepacketizedCodec::h264 || codec == rtp::DepacketizedCodec::h265;
}

// The picture size in the parameter sets and first slice of a key frame, read by FFmpeg's H.264/H.265
// parser; nothing when it finds none.
std::optional<std::pair<int, int>> picture_size(AVCodecID id, const std::vector<std::uint8_t>& extradata,
                                                const std::vector<std::uint8_t>& key_frame) {
    AVCodecParserContext* parser = av_parser_init(id);
    AVCodecContext* context = avcodec_alloc_context3(nullptr);
    std::optional<std::pair<int, int>> size;
    if (parser != nullptr && context != nullptr) {
        std::vector<std::uint8_t> input = extradata;
        input.insert(input.end(), key_frame.begin(), key_frame.end());
        input.resize(input.size() + AV_INPUT_BUFFER_PADDING_SIZE);
        const int length = static_cast<int>(input.size() - AV_INPUT_BUFFER_PADDING_SIZE);
        std::uint8_t* out = nullptr;
        int out_size = 0;
        // Once with the frame, once more with nothing to flush it out of the parser.
        av_parser_parse2(parser, context, &out, &out_size, input.data(), length, 0, 0, 0);
        av_parser_parse2(parser, context, &out, &out_size, nullptr, 0, 0, 0, 0);
        if (parser->width > 0 && parser->height > 0) size = std::pair{parser->width, parser->height};
    }
    av_parser_close(parser);
    avcodec_free_context(&context);
    return size;
}

}  // namespace

std::string_view Recording::suffix(const std::vector<TrackFormat>& formats) {
    const bool mp2t = !formats.empty() && formats.front().codec == rtp::DepacketizedCodec::mp2t;
    return mp2t ? ".ts" : ".mkv";
}

std::unique_ptr<Recording> Recording::start(const std::filesystem::path& file,
                                            std::vector<TrackFormat> formats, std::string& error) {
    av_log_set_level(AV_LOG_ERROR);  // the muxer's notices would drown the gateway's log
    std::unique_ptr<Recording> recording(new Recording());
    for (auto& format : formats) {
        const rtp::Depacketizer depacketizer(format.codec, format.size_length, format.index_length);
        const bool sized = !is_video(format.codec);
        recording->tracks_.push_back(
            Track{std::move(format), depacketizer, std::nullopt, std::nullopt, -1, sized});
    }
    if (recording->tracks_.empty()) {
        error = "no track";
        return nullptr;
    }
    if (recording->tracks_.front().format.codec == rtp::DepacketizedCodec::mp2t) {
        recording->raw_ = std::fopen(file.c_str(), "wb");
        if (recording->raw_ == nullptr) {
            error = "cannot create " + file.string() + ": " + std::generic_category().message(errno);
            return nullptr;
        }
        recording->header_written_ = true;
        return recording;
    }
    if (avformat_alloc_output_context2(&recording->format_, nullptr, "matroska", file.c_str()) < 0) {
        error = "no Matroska muxer";
        return nullptr;
    }
    for (const auto& track : recording->tracks_) {
        const TrackFormat& format = track.format;
        AVStream* stream = avformat_new_stream(recording->format_, nullptr);
        if (stream == nullptr) {
            error = "out of memory";
            return nullptr;
        }
        stream->time_base = AVRational{1, static_cast<int>(format.clock_rate)};
        AVCodecParameters& par = *stream->codecpar;
        par.codec_id = codec_id(format.codec);
        par.codec_type = is_video(format.codec) ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
        if (is_video(format.codec)) {
            par.video_delay = k_video_reorder_frames;
        } else {
            par.sample_rate = static_cast<int>(format.clock_rate);
            av_channel_layout_default(&par.ch_layout, std::max(format.channels, 1));
        }
        if (!format.extradata.empty()) {
            par.extradata = static_cast<std::uint8_t*>(
                av_mallocz(format.extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
            if (par.extradata == nullptr) {
                error = "out of memory";
                return nullptr;
            }
            std::memcpy(par.extradata, format.extradata.data(), format.extradata.size());
            par.extradata_size = static_cast<int>(format.extradata.size());
        }
    }
    if (avio_open(&recording->format_->pb, file.c_str(), AVIO_FLAG_WRITE) < 0) {
        error = "cannot create " + file.string();
        return nullptr;
    }
    const bool all_sized = std::all_of(recording->tracks_.begin(), recording->tracks_.end(),
                                       [](const Track& track) { return track.sized; });
    if (all_sized && !recording->write_header()) {
        error = recording->why_;
        return nullptr;
    }
    return recording;
}

Recording::~Recording() {
    if (raw_ != nullptr) std::fclose(raw_);
    if (format_ != nullptr) {
        if (format_->pb != nullptr) avio_closep(&format_->pb);
        avformat_free_context(format_);
    }
}

void Recording::fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
}

bool Recording::write_header() {
    if (avformat_write_header(format_, nullptr) < 0) {
        fail("the Matroska muxer refused the tracks");
        return false;
    }
    header_written_ = true;
    return true;
}

void Recording::set_start_rtptime(std::size_t track, std::uint32_t rtptime) {
    if (track < tracks_.size()) tracks_[track].start_rtptime = rtptime;
}

void Recording::feed(std::size_t track, Bytes packet, Clock::time_point arrival) {
    if (damaged() || finished_ || track >= tracks_.size()) return;
    if (!first_arrival_) first_arrival_ = arrival;
    Track& t = tracks_[track];
    if (!t.offset) {
        const auto view = rtp::parse_rtp(packet);
        if (!view) return;
        if (t.start_rtptime) {
            t.offset = static_cast<std::int32_t>(view->timestamp() - *t.start_rtptime);
        } else {
            const std::chrono::duration<double> late = arrival - *first_arrival_;
            t.offset = static_cast<std::int64_t>(late.count() * t.format.clock_rate);
        }
    }
    t.depacketizer.feed(packet);
    if (t.depacketizer.damaged()) {
        fail("track " + std::to_string(track) + " lost a packet or sent one the cache cannot read");
        return;
    }
    take_units(track);
}

void Recording::take_units(std::size_t track) {
    for (auto& unit : tracks_[track].depacketizer.take()) {
        if (damaged()) return;
        if (header_written_) {
            write_unit(track, unit);
            continue;
        }
        if (!tracks_[track].sized && unit.key) size_from(track, unit);
        if (header_written_) {
            write_unit(track, unit);
            continue;
        }
        held_bytes_ += unit.data.size();
        held_.push_back(Held{track, std::move(unit)});
        if (held_.size() > k_max_held_units || held_bytes_ > k_max_held_bytes)
            fail("no video key frame with a picture size at the start");
    }
}

void Recording::size_from(std::size_t track, const rtp::AccessUnit& unit) {
    Track& t = tracks_[track];
    AVCodecParameters& par = *format_->streams[track]->codecpar;
    const auto size = picture_size(par.codec_id, t.format.extradata, unit.data);
    if (!size) return;  // a later key frame may tell
    par.width = size->first;
    par.height = size->second;
    t.sized = true;
    if (!std::all_of(tracks_.begin(), tracks_.end(), [](const Track& other) { return other.sized; })) return;
    if (!write_header()) return;
    auto held = std::move(held_);
    held_.clear();
    held_bytes_ = 0;
    for (const auto& item : held)
        write_unit(item.track, item.unit);
}

void Recording::write_unit(std::size_t track, const rtp::AccessUnit& unit) {
    if (damaged()) return;
    Track& t = tracks_[track];
    const std::int64_t pts = unit.timestamp + t.offset.value_or(0);
    if (pts < 0 || pts < t.last_pts) return;  // before the start, or an audio unit out of order
    if (raw_ != nullptr) {
        if (std::fwrite(unit.data.data(), 1, unit.data.size(), raw_) != unit.data.size()) {
            fail(std::string("write: ") + std::generic_category().message(errno));
            return;
        }
    } else {
        AVStream* stream = format_->streams[track];
        AVPacket* packet = av_packet_alloc();
        if (packet == nullptr || av_new_packet(packet, static_cast<int>(unit.data.size())) < 0) {
            av_packet_free(&packet);
            fail("out of memory");
            return;
        }
        std::memcpy(packet->data, unit.data.data(), unit.data.size());
        const AVRational clock{1, static_cast<int>(t.format.clock_rate)};
        packet->pts = av_rescale_q(pts, clock, stream->time_base);
        packet->dts = is_video(t.format.codec) ? AV_NOPTS_VALUE : packet->pts;
        packet->stream_index = static_cast<int>(track);
        if (unit.key) packet->flags |= AV_PKT_FLAG_KEY;
        const int rc = av_interleaved_write_frame(format_, packet);
        av_packet_free(&packet);
        if (rc < 0) {
            fail("the Matroska muxer refused a frame of track " + std::to_string(track));
            return;
        }
    }
    if (!is_video(t.format.codec)) t.last_pts = pts;
    bytes_ += unit.data.size();
    ++units_;
}

bool Recording::finish() {
    if (finished_) return !damaged();
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        tracks_[i].depacketizer.flush();
        if (tracks_[i].depacketizer.damaged()) fail("track " + std::to_string(i) + " ended inside a frame");
        take_units(i);
    }
    finished_ = true;
    if (!damaged() && !header_written_) fail("no video key frame with a picture size");
    if (damaged()) return false;
    if (raw_ != nullptr) {
        const bool closed = std::fclose(raw_) == 0;
        raw_ = nullptr;
        if (!closed) fail(std::string("close: ") + std::generic_category().message(errno));
        return closed;
    }
    if (av_write_trailer(format_) < 0) fail("the Matroska muxer could not finish the file");
    if (avio_closep(&format_->pb) < 0) fail("close failed");
    return !damaged();
}

}  // namespace sg::vod
