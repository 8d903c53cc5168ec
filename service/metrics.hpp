// Prometheus metrics for both daemons: counters, gauges and histograms with label sets, and their
// rendering in Prometheus's text exposition format 0.0.4 (GET /metrics), plus the process_*
// figures read from /proc/self. Written here rather than taken from prometheus-cpp: README's
// "Metrics" says why.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hac::metrics {

// The Content-Type of the text format.
constexpr const char *kContentType = "text/plain; version=0.0.4; charset=utf-8";

// A sample's label values, in the order of its family's label names.
using LabelValues = std::vector<std::string>;

// Latency buckets in seconds, from half a millisecond (a local read) to a minute (a job start that
// waits for its device).
const std::vector<double> &latencyBuckets();

// An HTTP method as a label value: one of the methods the daemons' routes use, else "other", so
// that a client's made-up methods do not make a label value each.
std::string methodLabel(std::string_view method);

// One metric family: a name, its help, its label names and its samples. Families are made by a
// Registry, which owns them; their methods are thread-safe.
class Family {
public:
	enum class Type { Counter, Gauge, Histogram };
	virtual ~Family() = default;
	Family(const Family &) = delete;
	Family &operator=(const Family &) = delete;

	const std::string &name() const { return name_; }
	// Appends "# HELP", "# TYPE" and every sample.
	void render(std::string &out) const;

protected:
	Family(std::string name, std::string help, std::vector<std::string> labels, Type type);
	// Throws std::invalid_argument unless `values` has one value per label name.
	void checkArity(const LabelValues &values) const;
	virtual void renderSamples(std::string &out) const = 0;

	std::string name_;
	std::string help_;
	std::vector<std::string> labels_;
	Type type_;
	mutable std::mutex mutex_;
};

// Goes only up (a restart starts it again at 0, which rate() understands).
class Counter : public Family {
public:
	Counter(std::string name, std::string help, std::vector<std::string> labels);
	// Adds `by` (0 or more) to the sample of `values`, made at 0 first.
	void inc(const LabelValues &values = {}, double by = 1);
	// Makes the sample at 0 if absent, so a series is shown before its first event.
	void touch(const LabelValues &values = {});
	// For a count kept elsewhere (a server's refused connections): the sample becomes `total`,
	// which must never be below what it was.
	void setTotal(const LabelValues &values, double total);
	double value(const LabelValues &values = {}) const;

private:
	void renderSamples(std::string &out) const override;
	std::map<LabelValues, double> samples_;
};

// A figure of now, up or down.
class Gauge : public Family {
public:
	Gauge(std::string name, std::string help, std::vector<std::string> labels);
	void set(const LabelValues &values, double value);
	void set(double value) { set({}, value); }
	void add(const LabelValues &values, double by);
	// Drops every sample: for gauges a collector sets afresh at each scrape (a device removed
	// since the last one is then no longer shown).
	void clear();
	double value(const LabelValues &values = {}) const;

private:
	void renderSamples(std::string &out) const override;
	std::map<LabelValues, double> samples_;
};

// Observations counted into cumulative buckets ("le"), with their sum and count.
class Histogram : public Family {
public:
	// `buckets`: upper bounds, ascending; +Inf is added.
	Histogram(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> buckets);
	void observe(const LabelValues &values, double value);
	std::uint64_t count(const LabelValues &values = {}) const;

private:
	struct Data {
		std::vector<std::uint64_t> buckets; // not cumulative; rendered cumulative
		std::uint64_t count = 0;
		double sum = 0;
	};
	void renderSamples(std::string &out) const override;
	std::vector<double> bounds_;
	std::map<LabelValues, Data> samples_;
};

// A daemon's metrics: families made once at its start, rendered in the order they were made.
// Names must follow Prometheus's rules ([a-zA-Z_:][a-zA-Z0-9_:]*, labels [a-zA-Z_][a-zA-Z0-9_]*
// not starting "__", no "le" on a histogram); a bad one throws std::invalid_argument.
class Registry {
public:
	Counter &counter(std::string name, std::string help, std::vector<std::string> labels = {});
	Gauge &gauge(std::string name, std::string help, std::vector<std::string> labels = {});
	Histogram &histogram(std::string name, std::string help, std::vector<std::string> labels,
			     std::vector<double> buckets = latencyBuckets());
	// Called at the start of each render(), one render at a time: sets the gauges read from
	// the daemon's state at scrape time.
	void collectWith(std::function<void()> collector);
	// The whole exposition: each family, then the process_* figures when `processMetrics`.
	std::string render(bool processMetrics = true);

private:
	template <class F, class... Args>
	F &add(Args &&...args);

	std::mutex renderMutex_;
	std::vector<std::function<void()>> collectors_;
	std::vector<std::unique_ptr<Family>> families_;
};

// The usual process_* figures of the calling process, from /proc/self (as Prometheus's client
// libraries export them): process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds,
// process_threads. A figure /proc does not give is left out.
void renderProcessMetrics(std::string &out);

// The text format's escapes: a label value's backslash, double quote and newline; a help text's
// backslash and newline. Bytes that are not UTF-8 become U+FFFD, as the format is UTF-8.
std::string escapeLabelValue(std::string_view value);
std::string escapeHelp(std::string_view help);
// A sample value as Go's ParseFloat reads it: shortest round-trip, +Inf, -Inf, NaN.
std::string formatValue(double value);

} // namespace hac::metrics
