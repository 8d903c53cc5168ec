// Both sides are keyed by the hac job id: the Slurm job's name. Slurm's times have a second's
// resolution, so every comparison allows a second more than the gap.
#include "reconcile.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <hac/error.hpp>
#include <hac/number.hpp>
#include <hac/uuid.hpp>

namespace hac::allocator {

namespace {

// "2026-12-02T05:19:49", local time; "Unknown" or "None" for a job that never started.
std::optional<TimeMs> localTime(const std::string &text)
{
	std::tm tm{};
	const char *end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || *end != '\0')
		return std::nullopt;
	tm.tm_isdst = -1;
	std::time_t t = std::mktime(&tm);
	if (t == -1)
		return std::nullopt;
	return static_cast<TimeMs>(t) * 1000;
}

std::string seconds(TimeMs ms)
{
	return fmt::format("{:.0f} s", static_cast<double>(ms) / 1000.0);
}

} // namespace

std::vector<SlurmRecord> readJobComp(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		throw Error(Errc::Failure, fmt::format("cannot read Slurm's job record {}: {}; check [slurm] jobcomp_file "
							   "and slurm.conf's JobCompLoc", path, std::strerror(errno)));
	std::vector<SlurmRecord> out;
	std::string line;
	for (int number = 1; std::getline(in, line); ++number) {
		if (line.find_first_not_of(" \t") == std::string::npos)
			continue;
		std::map<std::string, std::string> fields;
		std::istringstream words(line);
		for (std::string word; words >> word;)
			if (auto eq = word.find('='); eq != std::string::npos)
				fields[word.substr(0, eq)] = word.substr(eq + 1);
		auto bad = [&](const std::string &why) {
			return Error(Errc::Failure, fmt::format("{}:{}: {}; is this a jobcomp/filetxt file?", path, number, why));
		};
		SlurmRecord r;
		auto id = parseInteger<std::int64_t>(fields["JobId"], 1, INT64_MAX);
		if (!id)
			throw bad(fmt::format("JobId '{}' is not a job id", fields["JobId"]));
		r.id = *id;
		r.name = fields["Name"];
		r.state = fields["JobState"];
		r.nodes = parseInteger<int>(fields["NodeCnt"], 0, 1 << 20).value_or(0);
		auto end = localTime(fields["EndTime"]);
		if (!end)
			throw bad(fmt::format("EndTime '{}' is not a time", fields["EndTime"]));
		r.end = *end;
		r.start = r.nodes > 0 ? localTime(fields["StartTime"]).value_or(0) : 0;
		out.push_back(std::move(r));
	}
	return out;
}

ReconcileReport reconcile(const std::vector<HeldJob> &held, const std::vector<SlurmRecord> &slurm,
			  const ReconcileOptions &options)
{
	auto inWindow = [&](TimeMs t) { return t >= options.since && t < options.until; };
	const TimeMs slack = options.allowedGapMs + 1000;
	// Slurm's record of each hold job that ran, by its id. One that was queued and cancelled before
	// it started held nothing.
	std::map<std::int64_t, const SlurmRecord *> ran;
	for (const SlurmRecord &r : slurm)
		if (r.start > 0 && isUuid(r.name))
			ran[r.id] = &r;

	ReconcileReport report;
	std::set<std::int64_t> known;
	for (const HeldJob &h : held) {
		known.insert(h.slurmJobId);
		TimeMs end = h.endedAt ? *h.endedAt : h.releasedAt.value_or(0);
		if (end == 0 || !inWindow(end))
			continue;   // still held, or outside the window
		++report.compared;
		auto it = ran.find(h.slurmJobId);
		if (it == ran.end()) {
			report.differences.push_back({h.jobId, h.slurmJobId, "missing_in_slurm",
				fmt::format("the allocator lent {} GPUs of {} from {} as Slurm job {}, of which Slurm has no record",
					    h.gpus, h.sku, formatTime(h.allocatedAt), h.slurmJobId)});
			continue;
		}
		const SlurmRecord &s = *it->second;
		if (s.nodes != h.nodes)
			report.differences.push_back({h.jobId, s.id, "nodes",
				fmt::format("{} is {} GPUs on {} node(s); Slurm held {} node(s)", h.sku, h.gpus, h.nodes, s.nodes)});
		if (!h.startedAt) {
			report.differences.push_back({h.jobId, s.id, "missing_in_allocator",
				fmt::format("Slurm held {} node(s) for {} ({} to {}) and no usage record bills it (released "
					    "without one)", s.nodes, seconds(s.end - s.start), formatTime(s.start), formatTime(s.end))});
			continue;
		}
		if (*h.startedAt + slack < s.start || *h.startedAt > s.start + slack)
			report.differences.push_back({h.jobId, s.id, "start",
				fmt::format("the job started at {}, Slurm's hold at {}: {} apart, more than the {} allowed",
					    formatTime(*h.startedAt), formatTime(s.start),
					    seconds(std::llabs(*h.startedAt - s.start)), seconds(options.allowedGapMs))});
		if (*h.endedAt > s.end + slack || *h.endedAt + slack < s.end)
			report.differences.push_back({h.jobId, s.id, "end",
				fmt::format("the job ended at {}, Slurm's hold at {}: {} apart, more than the {} allowed",
					    formatTime(*h.endedAt), formatTime(s.end),
					    seconds(std::llabs(*h.endedAt - s.end)), seconds(options.allowedGapMs))});
	}
	for (const auto &[id, r] : ran)
		if (!known.contains(id) && inWindow(r->end)) {
			++report.compared;
			report.differences.push_back({r->name, id, "missing_in_allocator",
				fmt::format("Slurm held {} node(s) for {} ({} to {}) for a job the allocator never lent",
					    r->nodes, seconds(r->end - r->start), formatTime(r->start), formatTime(r->end))});
		}
	return report;
}

} // namespace hac::allocator
