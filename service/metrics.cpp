// The text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// "# HELP name text", "# TYPE name type", then one line per sample, `name{label="value"} value`,
// a family's lines together. Histograms add _bucket{le="..."} (cumulative, +Inf last), _sum and
// _count.
#include "metrics.hpp"

#include <cmath>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/core.h>

namespace hac::metrics {

namespace {

bool nameChar(char c, bool first, bool colon)
{
	bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
	return alpha || (!first && c >= '0' && c <= '9');
}

bool validName(std::string_view name, bool colon)
{
	if (name.empty())
		return false;
	for (std::size_t i = 0; i < name.size(); ++i)
		if (!nameChar(name[i], i == 0, colon))
			return false;
	return true;
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points above U+10FFFF included).
std::size_t utf8Length(std::string_view s, std::size_t i)
{
	auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
	unsigned char c = byte(i);
	if (c < 0x80)
		return 1;
	std::size_t n;
	std::uint32_t cp;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (i + n > s.size())
		return 0;
	for (std::size_t k = 1; k < n; ++k) {
		if ((byte(i + k) & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (byte(i + k) & 0x3f);
	}
	static const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

std::string escape(std::string_view text, bool quote)
{
	std::string out;
	out.reserve(text.size());
	for (std::size_t i = 0; i < text.size();) {
		std::size_t n = utf8Length(text, i);
		if (n == 0) {
			out += "\xef\xbf\xbd";
			++i;
			continue;
		}
		char c = text[i];
		if (c == '\\')
			out += "\\\\";
		else if (c == '\n')
			out += "\\n";
		else if (quote && c == '"')
			out += "\\\"";
		else
			out.append(text.substr(i, n));
		i += n;
	}
	return out;
}

// name{a="x",b="y"} value, with `extra` (a histogram's le) after the family's labels.
void sampleLine(std::string &out, std::string_view name, const std::vector<std::string> &labels,
		const LabelValues &values, double value, std::string_view extraLabel = {}, std::string_view extraValue = {})
{
	out += name;
	if (!labels.empty() || !extraLabel.empty()) {
		out += '{';
		bool first = true;
		for (std::size_t i = 0; i < labels.size(); ++i) {
			out += first ? "" : ",";
			first = false;
			out += labels[i];
			out += "=\"";
			out += escapeLabelValue(values[i]);
			out += '"';
		}
		if (!extraLabel.empty()) {
			out += first ? "" : ",";
			out += extraLabel;
			out += "=\"";
			out += extraValue;
			out += '"';
		}
		out += '}';
	}
	out += ' ';
	out += formatValue(value);
	out += '\n';
}

const char *typeName(Family::Type t)
{
	switch (t) {
	case Family::Type::Counter: return "counter";
	case Family::Type::Gauge: return "gauge";
	case Family::Type::Histogram: return "histogram";
	}
	return "untyped";
}

} // namespace

const std::vector<double> &latencyBuckets()
{
	static const std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
						    0.25,   0.5,   1,      2.5,   5,    10,    30,    60};
	return buckets;
}

std::string methodLabel(std::string_view method)
{
	static constexpr std::string_view known[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"};
	for (std::string_view k : known)
		if (method == k)
			return std::string(k);
	return "other";
}

std::string escapeLabelValue(std::string_view value)
{
	return escape(value, true);
}

std::string escapeHelp(std::string_view help)
{
	return escape(help, false);
}

std::string formatValue(double value)
{
	if (std::isnan(value))
		return "NaN";
	if (std::isinf(value))
		return value > 0 ? "+Inf" : "-Inf";
	return fmt::format("{}", value);
}

Family::Family(std::string name, std::string help, std::vector<std::string> labels, Type type)
	: name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), type_(type)
{
	if (!validName(name_, true))
		throw std::invalid_argument(fmt::format("'{}' is not a valid metric name", name_));
	for (const std::string &label : labels_) {
		if (!validName(label, false) || label.rfind("__", 0) == 0)
			throw std::invalid_argument(fmt::format("'{}' is not a valid label name (metric {})", label, name_));
		if (type_ == Type::Histogram && label == "le")
			throw std::invalid_argument(fmt::format("histogram {} may not have a label 'le'", name_));
	}
}

void Family::checkArity(const LabelValues &values) const
{
	if (values.size() != labels_.size())
		throw std::invalid_argument(fmt::format("metric {} has {} label(s), given {} value(s)", name_,
							labels_.size(), values.size()));
}

void Family::render(std::string &out) const
{
	out += "# HELP ";
	out += name_;
	out += ' ';
	out += escapeHelp(help_);
	out += "\n# TYPE ";
	out += name_;
	out += ' ';
	out += typeName(type_);
	out += '\n';
	std::lock_guard lock(mutex_);
	renderSamples(out);
}

Counter::Counter(std::string name, std::string help, std::vector<std::string> labels)
	: Family(std::move(name), std::move(help), std::move(labels), Type::Counter)
{
	if (labels_.empty())
		samples_[{}] = 0;
}

void Counter::inc(const LabelValues &values, double by)
{
	checkArity(values);
	if (!(by >= 0))
		throw std::invalid_argument(fmt::format("counter {} cannot go down (by {})", name_, by));
	std::lock_guard lock(mutex_);
	samples_[values] += by;
}

void Counter::touch(const LabelValues &values)
{
	checkArity(values);
	std::lock_guard lock(mutex_);
	samples_.try_emplace(values, 0.0);
}

void Counter::setTotal(const LabelValues &values, double total)
{
	checkArity(values);
	std::lock_guard lock(mutex_);
	samples_[values] = total;
}

double Counter::value(const LabelValues &values) const
{
	std::lock_guard lock(mutex_);
	auto it = samples_.find(values);
	return it == samples_.end() ? 0 : it->second;
}

void Counter::renderSamples(std::string &out) const
{
	for (const auto &[values, value] : samples_)
		sampleLine(out, name_, labels_, values, value);
}

Gauge::Gauge(std::string name, std::string help, std::vector<std::string> labels)
	: Family(std::move(name), std::move(help), std::move(labels), Type::Gauge)
{
}

void Gauge::set(const LabelValues &values, double value)
{
	checkArity(values);
	std::lock_guard lock(mutex_);
	samples_[values] = value;
}

void Gauge::add(const LabelValues &values, double by)
{
	checkArity(values);
	std::lock_guard lock(mutex_);
	samples_[values] += by;
}

void Gauge::clear()
{
	std::lock_guard lock(mutex_);
	samples_.clear();
}

double Gauge::value(const LabelValues &values) const
{
	std::lock_guard lock(mutex_);
	auto it = samples_.find(values);
	return it == samples_.end() ? 0 : it->second;
}

void Gauge::renderSamples(std::string &out) const
{
	for (const auto &[values, value] : samples_)
		sampleLine(out, name_, labels_, values, value);
}

Histogram::Histogram(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> buckets)
	: Family(std::move(name), std::move(help), std::move(labels), Type::Histogram), bounds_(std::move(buckets))
{
	for (std::size_t i = 0; i < bounds_.size(); ++i)
		if (std::isnan(bounds_[i]) || (i > 0 && !(bounds_[i] > bounds_[i - 1])))
			throw std::invalid_argument(fmt::format("histogram {}: buckets must ascend", name_));
	if (!bounds_.empty() && std::isinf(bounds_.back()))
		bounds_.pop_back();
}

void Histogram::observe(const LabelValues &values, double value)
{
	checkArity(values);
	std::lock_guard lock(mutex_);
	Data &d = samples_[values];
	if (d.buckets.empty())
		d.buckets.assign(bounds_.size() + 1, 0);
	std::size_t i = 0;
	while (i < bounds_.size() && value > bounds_[i])
		++i;
	++d.buckets[i];
	++d.count;
	d.sum += value;
}

std::uint64_t Histogram::count(const LabelValues &values) const
{
	std::lock_guard lock(mutex_);
	auto it = samples_.find(values);
	return it == samples_.end() ? 0 : it->second.count;
}

void Histogram::renderSamples(std::string &out) const
{
	std::string bucket = name_ + "_bucket";
	for (const auto &[values, d] : samples_) {
		std::uint64_t cumulative = 0;
		for (std::size_t i = 0; i < bounds_.size(); ++i) {
			cumulative += d.buckets[i];
			sampleLine(out, bucket, labels_, values, static_cast<double>(cumulative), "le", formatValue(bounds_[i]));
		}
		sampleLine(out, bucket, labels_, values, static_cast<double>(d.count), "le", "+Inf");
		sampleLine(out, name_ + "_sum", labels_, values, d.sum);
		sampleLine(out, name_ + "_count", labels_, values, static_cast<double>(d.count));
	}
}

template <class F, class... Args>
F &Registry::add(Args &&...args)
{
	auto family = std::make_unique<F>(std::forward<Args>(args)...);
	for (const auto &f : families_)
		if (f->name() == family->name())
			throw std::invalid_argument(fmt::format("metric {} is registered twice", family->name()));
	F &ref = *family;
	families_.push_back(std::move(family));
	return ref;
}

Counter &Registry::counter(std::string name, std::string help, std::vector<std::string> labels)
{
	return add<Counter>(std::move(name), std::move(help), std::move(labels));
}

Gauge &Registry::gauge(std::string name, std::string help, std::vector<std::string> labels)
{
	return add<Gauge>(std::move(name), std::move(help), std::move(labels));
}

Histogram &Registry::histogram(std::string name, std::string help, std::vector<std::string> labels,
			       std::vector<double> buckets)
{
	return add<Histogram>(std::move(name), std::move(help), std::move(labels), std::move(buckets));
}

void Registry::collectWith(std::function<void()> collector)
{
	collectors_.push_back(std::move(collector));
}

std::string Registry::render(bool processMetrics)
{
	std::lock_guard lock(renderMutex_);
	for (const auto &collect : collectors_)
		collect();
	std::string out;
	out.reserve(16384);
	for (const auto &family : families_)
		family->render(out);
	if (processMetrics)
		renderProcessMetrics(out);
	return out;
}

namespace {

void processFigure(std::string &out, const char *name, const char *type, const char *help, double value)
{
	out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, formatValue(value));
}

std::string readFile(const char *path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	return s.str();
}

} // namespace

void renderProcessMetrics(std::string &out)
{
	const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
	const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
	// /proc/self/stat: "pid (comm) state ppid ...": the fields after the last ')' start at 3.
	std::string stat = readFile("/proc/self/stat");
	std::size_t close = stat.rfind(')');
	std::vector<std::string> fields;
	if (close != std::string::npos) {
		std::istringstream rest(stat.substr(close + 1));
		for (std::string f; rest >> f;)
			fields.push_back(f);
	}
	// fields[0] is field 3 (state): field N is fields[N - 3].
	auto field = [&](std::size_t n) -> std::optional<double> {
		if (n < 3 || n - 3 >= fields.size())
			return std::nullopt;
		try {
			return std::stod(fields[n - 3]);
		} catch (const std::exception &) {
			return std::nullopt;
		}
	};
	auto utime = field(14), stime = field(15), threads = field(20), start = field(22), vsize = field(23), rss = field(24);
	if (utime && stime && ticks > 0)
		processFigure(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
			      (*utime + *stime) / ticks);
	if (rss && page > 0)
		processFigure(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", *rss * page);
	if (vsize)
		processFigure(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", *vsize);
	// The start: the boot time (btime of /proc/stat) plus the process's start in ticks after boot.
	std::istringstream procStat(readFile("/proc/stat"));
	for (std::string line; std::getline(procStat, line);) {
		if (line.rfind("btime ", 0) != 0)
			continue;
		try {
			double boot = std::stod(line.substr(6));
			if (start && ticks > 0)
				processFigure(out, "process_start_time_seconds", "gauge",
					      "Start time of the process since unix epoch in seconds.", boot + *start / ticks);
		} catch (const std::exception &) {
		}
		break;
	}
	if (DIR *dir = opendir("/proc/self/fd")) {
		int own = dirfd(dir);
		double open = 0;
		while (dirent *entry = readdir(dir)) {
			if (entry->d_name[0] == '.')
				continue;
			if (std::atoi(entry->d_name) != own)
				++open;
		}
		closedir(dir);
		processFigure(out, "process_open_fds", "gauge", "Number of open file descriptors.", open);
	}
	rlimit limit{};
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
		processFigure(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
			      limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
							      : static_cast<double>(limit.rlim_cur));
	if (threads)
		processFigure(out, "process_threads", "gauge", "Number of OS threads in the process.", *threads);
}

} // namespace hac::metrics
