#include "metrics/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sg::metrics {
namespace {

constexpr bool is_alpha_or_underscore(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

std::string_view type_name(MetricType type) noexcept {
    return type == MetricType::counter ? "counter" : "gauge";
}

Labels sorted_by_name(const Labels& labels) {
    Labels sorted = labels;
    std::sort(sorted.begin(), sorted.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
    return sorted;
}

void append_uint(std::string& out, std::uint64_t value) {
    char buffer[24];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, end);
}

}  // namespace

bool Registry::valid_metric_name(std::string_view name) noexcept {
    const auto is_first = [](char c) { return is_alpha_or_underscore(c) || c == ':'; };
    if (name.empty() || !is_first(name.front())) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) { return is_first(c) || is_digit(c); });
}

bool Registry::valid_label_name(std::string_view name) noexcept {
    if (name.empty() || !is_alpha_or_underscore(name.front()) || name.substr(0, 2) == "__") return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alpha_or_underscore(c) || is_digit(c); });
}

void Registry::registration_failed(std::string_view name, std::string_view why) {
    if (on_error_ == OnError::abort) {
        std::fprintf(stderr, "metrics registry: %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
                     static_cast<int>(why.size()), why.data());
        std::abort();
    }
    if (error_.empty()) {
        error_.append(name);
        error_.append(": ");
        error_.append(why);
    }
}

Registry::Series* Registry::find_or_add(std::string_view name, std::string_view help, MetricType type,
                                        const Labels& labels, bool callback) {
    if (!valid_metric_name(name)) {
        registration_failed(name, "invalid metric name");
        return nullptr;
    }
    Labels sorted = sorted_by_name(labels);
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (!valid_label_name(sorted[i].name)) {
            registration_failed(name, "invalid label name");
            return nullptr;
        }
        if (i > 0 && sorted[i - 1].name == sorted[i].name) {
            registration_failed(name, "duplicate label name");
            return nullptr;
        }
    }

    auto it = families_.find(name);
    if (it == families_.end()) {
        Family family;
        family.type = type;
        family.help = std::string(help);
        it = families_.emplace(std::string(name), std::move(family)).first;
    } else if (it->second.type != type) {
        registration_failed(name, "already registered with another type");
        return nullptr;
    }
    Family& family = it->second;
    for (auto& series : family.series) {
        if (series.sorted_labels != sorted) continue;
        if (static_cast<bool>(series.callback) != callback) {
            registration_failed(name, "series already registered as another kind (plain or callback)");
            return nullptr;
        }
        return &series;
    }
    Series& series = family.series.emplace_back();
    series.labels = labels;
    series.sorted_labels = std::move(sorted);
    if (!callback) {
        if (type == MetricType::counter) {
            series.counter = std::make_unique<Counter>();
        } else {
            series.gauge = std::make_unique<Gauge>();
        }
    }
    return &series;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
    const std::lock_guard lock(mutex_);
    if (Series* series = find_or_add(name, help, MetricType::counter, labels, false)) return *series->counter;
    return *orphan_counters_.emplace_back(std::make_unique<Counter>());
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
    const std::lock_guard lock(mutex_);
    if (Series* series = find_or_add(name, help, MetricType::gauge, labels, false)) return *series->gauge;
    return *orphan_gauges_.emplace_back(std::make_unique<Gauge>());
}

void Registry::gauge_callback(std::string_view name, std::string_view help, std::function<double()> callback,
                              const Labels& labels) {
    if (!callback) return;
    const std::lock_guard lock(mutex_);
    if (Series* series = find_or_add(name, help, MetricType::gauge, labels, true))
        series->callback = std::move(callback);
}

void Registry::counter_callback(std::string_view name, std::string_view help,
                                std::function<double()> callback, const Labels& labels) {
    if (!callback) return;
    const std::lock_guard lock(mutex_);
    if (Series* series = find_or_add(name, help, MetricType::counter, labels, true))
        series->callback = std::move(callback);
}

std::string Registry::registration_error() const {
    const std::lock_guard lock(mutex_);
    return error_;
}

std::string Registry::expose() const {
    const std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, family] : families_) {
        if (!family.help.empty()) {
            out += "# HELP ";
            out += name;
            out.push_back(' ');
            append_escaped_help(out, family.help);
            out.push_back('\n');
        }
        out += "# TYPE ";
        out += name;
        out.push_back(' ');
        out += type_name(family.type);
        out.push_back('\n');
        for (const auto& series : family.series) {
            out += name;
            if (!series.labels.empty()) {
                out.push_back('{');
                for (std::size_t i = 0; i < series.labels.size(); ++i) {
                    if (i > 0) out.push_back(',');
                    out += series.labels[i].name;
                    out += "=\"";
                    append_escaped_label_value(out, series.labels[i].value);
                    out.push_back('"');
                }
                out.push_back('}');
            }
            out.push_back(' ');
            if (series.callback) {
                append_value(out, series.callback());
            } else if (series.counter) {
                // Exact even past 2^53, where a double would round.
                append_uint(out, series.counter->value());
            } else {
                append_value(out, series.gauge->value());
            }
            out.push_back('\n');
        }
    }
    return out;
}

void append_escaped_label_value(std::string& out, std::string_view value) {
    for (const char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out.push_back(c);
        }
    }
}

void append_escaped_help(std::string& out, std::string_view help) {
    for (const char c : help) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out.push_back(c);
        }
    }
}

void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    // Whole numbers as integers ("1000000", not the shorter "1e+06"), while the conversion is exact.
    constexpr double k_exact_limit = 9007199254740992.0;  // 2^53
    if (value == std::trunc(value) && std::fabs(value) < k_exact_limit) {
        char buffer[24];
        const auto [end, ec] =
            std::to_chars(buffer, buffer + sizeof buffer, static_cast<std::int64_t>(value));
        out.append(buffer, end);
        return;
    }
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, end);
}

}  // namespace sg::metrics
