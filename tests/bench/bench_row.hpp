// The one JSON line a benchmark program prints per figure: the format scripts/bench tabulates.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <hac/json.hpp>

namespace hac::bench {

using Clock = std::chrono::steady_clock;

inline double msSince(Clock::time_point start)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The q-quantile by nearest rank below; 0 for no values.
inline double quantile(std::vector<double> v, double q)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

// What a row may say beyond its figures: a target (in the row's unit, or as a ratio against the
// baseline; "met" is at or below it, or at or above it when higher is better) and extra fields.
struct RowExtras {
	std::optional<double> targetValue;
	std::optional<double> targetRatio;
	Json fields = Json::object();
};

// Prints {"bench","unit","median","p10","p90","n","baseline","baseline_median","ratio",
// "higher_is_better"} and the extras, on one line of stdout.
inline void row(const std::string &bench, const std::string &unit, const std::vector<double> &values,
		const std::string &baseline, const std::vector<double> &baselineValues, bool higherIsBetter = false,
		const RowExtras &extras = {})
{
	double median = quantile(values, 0.5), base = quantile(baselineValues, 0.5);
	Json out{{"bench", bench}, {"unit", unit}, {"median", median}, {"p10", quantile(values, 0.1)},
		 {"p90", quantile(values, 0.9)}, {"n", values.size()}, {"baseline", baseline},
		 {"baseline_median", base}, {"ratio", base > 0 ? Json(median / base) : Json(nullptr)},
		 {"higher_is_better", higherIsBetter}};
	if (extras.targetValue)
		out["target_value"] = *extras.targetValue;
	if (extras.targetRatio)
		out["target_ratio"] = *extras.targetRatio;
	out.update(extras.fields);
	std::puts(out.dump().c_str());
	std::fflush(stdout);
}

} // namespace hac::bench
