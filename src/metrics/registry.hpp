#pragma once
// A small metrics registry: counters and gauges with optional labels, callback series evaluated at scrape
// time, and the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/: "# HELP", "# TYPE", label-value and
// help-text escaping, +Inf/-Inf/NaN).
//
// Threading: updating a Counter or Gauge is a relaxed atomic operation, safe from any thread. Registering
// and expose() take the registry's mutex, so a scrape may run on another thread than the one that updates
// and registers. Callbacks run inside expose(), on the scraping thread, and must be safe there (read an
// atomic, say) and must not call back into the registry.
//
// Programming errors -- an invalid metric or label name, a duplicate label name, a name registered again
// with another type, or the same series registered again as another kind (plain vs. callback) -- are
// bugs in the caller, found by the first test that registers the metric. By default debug builds abort
// with a message (OnError::abort); release builds (OnError::record) hand out a detached metric that works
// but is never exposed and keep the first such error in registration_error(), so a bad metric never takes
// the gateway down.
//
// Label sets should be small and bounded (command, outcome, REP code): every distinct set is kept for the
// registry's lifetime. Callers on hot paths keep the returned reference instead of looking it up again.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sg::metrics {

struct Label {
    std::string name;
    std::string value;

    bool operator==(const Label&) const = default;
};
using Labels = std::vector<Label>;

// Monotonic count of events (Prometheus "counter"). Names conventionally end in "_total".
class Counter {
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (Prometheus "gauge").
class Gauge {
public:
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void inc(double n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    void dec(double n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

enum class MetricType : std::uint8_t { counter, gauge };

class Registry {
public:
    enum class OnError : std::uint8_t { abort, record };
#ifdef NDEBUG
    static constexpr OnError k_default_on_error = OnError::record;
#else
    static constexpr OnError k_default_on_error = OnError::abort;
#endif

    explicit Registry(OnError on_error = k_default_on_error) : on_error_(on_error) {}
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // The series `name{labels}`, created on first use. The same name and label set (in any order) returns
    // the same object; the reference stays valid for the registry's lifetime. `help` is taken from the
    // first registration of the name.
    Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
    Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});

    // Series whose value is computed at scrape time, for values owned elsewhere (active sessions, counts
    // kept in another module's atomics). Registering the same series again replaces the callback. The
    // callback must stay callable for as long as expose() may run.
    void gauge_callback(std::string_view name, std::string_view help, std::function<double()> callback,
                        const Labels& labels = {});
    void counter_callback(std::string_view name, std::string_view help, std::function<double()> callback,
                          const Labels& labels = {});

    // The text exposition format 0.0.4: families sorted by name, each with "# HELP" (when help is not
    // empty) and "# TYPE", then its series in registration order with labels in the order first given.
    std::string expose() const;

    // The first registration error (with OnError::record), or "".
    std::string registration_error() const;

    // Name rules of the data model: metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]* and not
    // starting with "__" (reserved for Prometheus itself).
    static bool valid_metric_name(std::string_view name) noexcept;
    static bool valid_label_name(std::string_view name) noexcept;

private:
    struct Series {
        Labels labels;         // as first given: the exposition order
        Labels sorted_labels;  // by name: the identity of the series
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::function<double()> callback;  // set for callback series
    };
    struct Family {
        MetricType type = MetricType::counter;
        std::string help;
        std::vector<Series> series;  // registration order
    };

    // The series, created when new; nullptr (after registration_failed) on a programming error.
    Series* find_or_add(std::string_view name, std::string_view help, MetricType type, const Labels& labels,
                        bool callback);
    void registration_failed(std::string_view name, std::string_view why);

    const OnError on_error_;
    mutable std::mutex mutex_;
    std::map<std::string, Family, std::less<>> families_;  // sorted by name, as expose() writes them
    std::string error_;
    // Handed out after a registration error (release builds): usable, never exposed.
    std::vector<std::unique_ptr<Counter>> orphan_counters_;
    std::vector<std::unique_ptr<Gauge>> orphan_gauges_;
};

// Prometheus text-format escaping: label values escape backslash, double quote and newline; help text
// escapes backslash and newline.
void append_escaped_label_value(std::string& out, std::string_view value);
void append_escaped_help(std::string& out, std::string_view help);
// Sample values: integers exactly, others in the shortest form that reads back the same, "+Inf", "-Inf",
// "NaN".
void append_value(std::string& out, double value);

}  // namespace sg::metrics
