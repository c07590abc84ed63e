#include "rtsp/rtp_info.hpp"

#include "common/text.hpp"
#include "rtsp/simple_headers.hpp"

namespace sg::rtsp {

namespace {

constexpr std::size_t k_max_rtp_info_length = 8192;
constexpr std::size_t k_max_params_per_url = 64;

bool is_valid_url_text(std::string_view url) noexcept {
    if (url.empty()) return false;
    for (const char c : url) {
        if (c == ' ' || c == '\t' || c == '"' || is_forbidden_control(c)) return false;
    }
    return true;
}

bool needs_quotes(std::string_view url) noexcept {
    return url.find_first_of(";,") != std::string_view::npos;
}

void append_hex8(std::string& out, std::uint32_t v) {
    static constexpr char k_digits[] = "0123456789ABCDEF";
    for (int shift = 28; shift >= 0; shift -= 4)
        out.push_back(k_digits[(v >> shift) & 0xf]);
}

// seq / rtptime; returns false for anything else (which the caller validates and ignores).
Result<bool> apply_ri_parameter(RtpInfoEntry& entry, std::string_view name, std::string_view arg) {
    if (iequals(name, "seq")) {
        if (entry.seq) return fail("RTP-Info: duplicate seq");
        const auto seq = parse_uint<std::uint16_t>(arg);
        if (!seq) return fail("RTP-Info: bad seq");
        entry.seq = *seq;
        return true;
    }
    if (iequals(name, "rtptime")) {
        if (entry.rtptime) return fail("RTP-Info: duplicate rtptime");
        const auto rtptime = parse_uint<std::uint32_t>(arg);
        if (!rtptime) return fail("RTP-Info: bad rtptime");
        entry.rtptime = *rtptime;
        return true;
    }
    if (!is_token(name) || has_forbidden_control(arg)) return fail("RTP-Info: bad parameter");
    return false;
}

// Parses "name=value" (value optional for generic parameters) into the entry.
Result<bool> apply_parameter(RtpInfoEntry& entry, std::string_view param) {
    const auto eq = param.find('=');
    const std::string_view name = trim(param.substr(0, eq));
    const std::string_view arg =
        eq == std::string_view::npos ? std::string_view{} : trim(param.substr(eq + 1));
    return apply_ri_parameter(entry, name, arg);
}

Result<bool> parse_one_url(std::string_view spec, std::vector<RtpInfoEntry>& out) {
    auto params = split_unquoted(spec, ';', k_max_params_per_url);
    if (!params) return fail(params.error());
    std::string_view first = (*params)[0];
    const std::string_view name = trim(pop_token(first, '='));
    const std::string_view url_text = trim(first);
    if (!iequals(name, "url")) return fail("RTP-Info: entry does not start with url=");

    RtpInfoEntry entry;
    if (!url_text.empty() && url_text.front() == '"') {
        auto url = unquote(url_text);
        if (!url) return fail(url.error());
        entry.url = std::move(*url);
        entry.url_quoted = true;
    } else {
        entry.url = url_text;
    }
    if (!is_valid_url_text(entry.url) || entry.url.size() > k_max_url_length)
        return fail("RTP-Info: bad url");

    for (std::size_t i = 1; i < params->size(); ++i) {
        const std::string_view param = (*params)[i];
        std::string_view rest = param;
        const std::string_view pname = trim(pop_token(rest, '='));
        if (!iequals(pname, "ssrc")) {
            auto applied = apply_parameter(entry, param);
            if (!applied) return fail(applied.error());
            continue;
        }
        // RFC 7826: ssrc=<hex>[":" ri-parameter]; a second SSRC describes another source of this URL.
        const std::string_view hex = trim(pop_token(rest, ':'));
        const auto ssrc = parse_hex<std::uint32_t>(hex);
        if (!ssrc) return fail("RTP-Info: bad ssrc");
        if (entry.ssrc || entry.seq || entry.rtptime) {
            if (out.size() >= k_max_rtp_info_entries) return fail("RTP-Info: too many entries");
            RtpInfoEntry next;
            next.url = entry.url;
            next.url_quoted = entry.url_quoted;
            out.push_back(std::move(entry));
            entry = std::move(next);
        }
        entry.ssrc = *ssrc;
        if (!rest.empty()) {
            auto applied = apply_parameter(entry, rest);
            if (!applied) return fail(applied.error());
        }
    }
    if (out.size() >= k_max_rtp_info_entries) return fail("RTP-Info: too many entries");
    out.push_back(std::move(entry));
    return true;
}

}  // namespace

Result<std::vector<RtpInfoEntry>> parse_rtp_info(std::string_view value) {
    if (value.size() > k_max_rtp_info_length) return fail("RTP-Info: too long");
    auto specs = split_unquoted(value, ',', k_max_rtp_info_entries * 2);
    if (!specs) return fail(specs.error());
    std::vector<RtpInfoEntry> entries;
    for (const std::string_view spec : *specs) {
        if (spec.empty()) continue;  // null list elements are allowed
        auto parsed = parse_one_url(spec, entries);
        if (!parsed) return fail(parsed.error());
    }
    if (entries.empty()) return fail("RTP-Info: empty");
    // RFC 7826's "ssrc=a:...;ssrc=b:..." shares one URL between sources, but each entry is written with its
    // own URL: refuse what could not be written back within the limit it was read under (found by fuzzing).
    if (to_header_value(entries).size() > k_max_rtp_info_length)
        return fail("RTP-Info: too long written out");
    return entries;
}

std::string to_header_value(std::span<const RtpInfoEntry> entries) {
    std::string out;
    for (const auto& e : entries) {
        if (!out.empty()) out.push_back(',');
        out += "url=";
        out += (e.url_quoted || needs_quotes(e.url)) ? quote(e.url) : e.url;
        // In the RFC 7826 form the first parameter after ssrc follows a ':'.
        char sep = ';';
        if (e.ssrc) {
            out += ";ssrc=";
            append_hex8(out, *e.ssrc);
            sep = ':';
        }
        if (e.seq) {
            out.push_back(sep);
            out += "seq=";
            out += std::to_string(*e.seq);
            sep = ';';
        }
        if (e.rtptime) {
            out.push_back(sep);
            out += "rtptime=";
            out += std::to_string(*e.rtptime);
        }
    }
    return out;
}

}  // namespace sg::rtsp
