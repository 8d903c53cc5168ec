// The answers read here are those tests/integration/slurm_cluster.bats checks on a real farm; each
// failure names slurmrestd's address, the call, and Slurm's own error number and text.
#include "slurm_client.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <hac/number.hpp>

namespace hac::slurm {

using nlohmann::json;

namespace {

constexpr const char *apiBase = "/slurm/v0.0.38";

// Slurm's error numbers the backend tells apart (slurm_errno.h).
constexpr int slurmctldUnreachable = 1800;     // SLURMCTLD_COMMUNICATIONS_CONNECTION_ERROR
constexpr int invalidJobId = 2017;             // ESLURM_INVALID_JOB_ID
constexpr int partitionNeverFits = 2015;       // ESLURM_REQUESTED_PART_CONFIG_UNAVAILABLE

std::int64_t number(const json &object, const char *key)
{
	auto it = object.find(key);
	return it != object.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

std::string text(const json &object, const char *key)
{
	auto it = object.find(key);
	return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Job parseJob(const json &j, const std::string &gres)
{
	Job job;
	job.id = number(j, "job_id");
	job.name = text(j, "name");
	job.state = text(j, "job_state");
	job.reason = text(j, "state_reason");
	job.comment = text(j, "comment");
	job.startTime = number(j, "start_time");
	job.endTime = number(j, "end_time");
	auto details = j.value("gres_detail", json::array());
	if (details.empty())
		return job;
	// gres_detail has one entry per node, in the order of job_resources.allocated_nodes.
	auto nodes = j.value("job_resources", json::object()).value("allocated_nodes", json::array());
	if (!details.is_array() || !nodes.is_array() || nodes.size() != details.size())
		throw SlurmError(Failure::BadAnswer, 0,
				 fmt::format("job {}: {} gres_detail entries for {} allocated nodes", job.id,
					     details.size(), nodes.size()));
	for (std::size_t i = 0; i < nodes.size(); ++i)
		job.placement.push_back({text(nodes[i], "nodename"),
					 parseGresIndexes(details[i].is_string() ? details[i].get<std::string>() : "", gres)});
	return job;
}

} // namespace

bool Job::live() const
{
	return state == "PENDING" || state == "RUNNING" || state == "CONFIGURING" || state == "SUSPENDED" ||
	       state == "COMPLETING" || state == "REQUEUED" || state == "RESIZING";
}

std::vector<int> parseGresIndexes(const std::string &detail, const std::string &gres)
{
	auto bad = [&](const std::string &why) {
		return SlurmError(Failure::BadAnswer, 0, fmt::format("gres_detail \"{}\": {}", detail, why));
	};
	if (detail.compare(0, gres.size(), gres) != 0 || detail.size() == gres.size() ||
	    (detail[gres.size()] != ':' && detail[gres.size()] != '('))
		throw bad(fmt::format("not the GRES {}", gres));
	auto open = detail.find("(IDX:");
	auto close = detail.find(')', open);
	if (open == std::string::npos || close == std::string::npos)
		throw bad("no GPU indexes: gres.conf needs File= lines for " + gres);
	std::vector<int> indexes;
	std::string list = detail.substr(open + 5, close - open - 5);
	std::size_t pos = 0;
	while (pos < list.size()) {
		auto comma = list.find(',', pos);
		std::string range = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
		pos = comma == std::string::npos ? list.size() : comma + 1;
		auto dash = range.find('-');
		auto first = parseInteger<int>(std::string_view(range).substr(0, dash));
		auto last = dash == std::string::npos ? first : parseInteger<int>(std::string_view(range).substr(dash + 1));
		if (!first || !last || *first < 0 || *last < *first || *last - *first > 4096)
			throw bad("bad index range \"" + range + "\"");
		for (int i = *first; i <= *last; ++i)
			indexes.push_back(i);
	}
	if (indexes.empty())
		throw bad("an empty index list");
	return indexes;
}

struct Client::Answer {
	std::string call;      // "GET /job/3", for messages
	long status = 0;
	json body;
	int code = 0;          // the first error's number, 0 when errors is empty
	std::string error;     // its text
};

Client::Client(Endpoint endpoint) : endpoint_(std::move(endpoint))
{
	const std::string &url = endpoint_.url;
	if (url.rfind("unix:", 0) == 0) {
		if (url.size() <= 5 || url[5] != '/')
			throw Error(Errc::Usage, fmt::format("slurmrestd address \"{}\": unix: needs an absolute socket path", url));
		http_ = std::make_unique<HttpClient>("http://slurm", endpoint_.timeouts);
		http_->setUnixSocket(url.substr(5));
	} else if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
		http_ = std::make_unique<HttpClient>(url, endpoint_.timeouts);
	} else {
		throw Error(Errc::Usage,
			    fmt::format("slurmrestd address \"{}\": use unix:/path/to/socket or an http:// or https:// URL", url));
	}
}

Client::~Client() = default;

Client::Answer Client::call(const std::string &method, const std::string &path, const std::string &body)
{
	Answer answer;
	answer.call = method + " " + path;
	std::map<std::string, std::string> headers;
	if (!endpoint_.token.empty()) {
		headers["X-SLURM-USER-NAME"] = endpoint_.userName;
		headers["X-SLURM-USER-TOKEN"] = endpoint_.token;
	}
	HttpResult result;
	try {
		result = http_->request(method, apiBase + path, body, headers);
	} catch (const Error &e) {
		throw SlurmError(Failure::Unreachable, 0,
				 fmt::format("slurmrestd at {}: {}: no answer within {} ms ({})", where(), answer.call,
					     endpoint_.timeouts.totalMs, e.what()));
	}
	answer.status = result.status;
	answer.body = json::parse(result.body, nullptr, false);
	if (answer.body.is_discarded() || !answer.body.is_object())
		throw SlurmError(Failure::BadAnswer, 0,
				 fmt::format("slurmrestd at {}: {}: HTTP {} with a body that is not a JSON object: {:.200}",
					     where(), answer.call, answer.status, result.body));
	auto errors = answer.body.value("errors", json::array());
	if (errors.is_array() && !errors.empty() && errors[0].is_object()) {
		const json &e = errors[0];
		answer.code = static_cast<int>(e.contains("error_number") ? number(e, "error_number") : number(e, "error_code"));
		answer.error = text(e, "description").empty() ? text(e, "error") : text(e, "description");
	}
	return answer;
}

void Client::fail(const std::string &what, const Answer &answer)
{
	std::string message = fmt::format("slurmrestd at {}: {}: HTTP {}, Slurm error {}: {}", where(), what,
					  answer.status, answer.code, answer.error.empty() ? "(none given)" : answer.error);
	// While slurmctld is down, slurmrestd says -1 ("Unable to find JobId=N" for a job that
	// exists): only 2017 comes from a controller that answered.
	if (answer.code == -1 || answer.code == slurmctldUnreachable)
		throw SlurmError(Failure::ControllerDown, answer.code, message + " (slurmctld does not answer)");
	if (answer.code == invalidJobId)
		throw SlurmError(Failure::UnknownJob, answer.code, message);
	if (answer.status >= 200 && answer.status < 300 && answer.code == 0)
		throw SlurmError(Failure::BadAnswer, 0, message);
	throw SlurmError(Failure::Refused, answer.code, message);
}

void Client::ping()
{
	Answer answer = call("GET", "/ping/");
	if (answer.status != 200 || answer.code != 0)
		fail("ping", answer);
	auto pings = answer.body.value("pings", json::array());
	if (pings.empty() || !pings[0].is_object() || text(pings[0], "ping") != "UP")
		throw SlurmError(Failure::ControllerDown, 0,
				 fmt::format("slurmrestd at {}: ping: slurmctld is not UP: {:.200}", where(), pings.dump()));
}

std::int64_t Client::submit(const HoldJob &hold)
{
	json body = {
		{"script", "#!/bin/sh\nexec sleep infinity\n"},
		{"job",
		 {{"name", hold.name},
		  {"partition", hold.partition},
		  {"gres", fmt::format("{}:{}", endpoint_.gres, hold.gpusPerNode)},
		  {"nodes", std::to_string(hold.nodes)},
		  {"ntasks", hold.nodes},
		  {"cpus_per_task", 1},
		  {"comment", hold.comment},
		  {"current_working_directory", "/tmp"},
		  {"environment", {{"PATH", "/bin:/usr/bin"}}},  // required, and must not be empty
		  {"standard_output", "/dev/null"},
		  {"standard_error", "/dev/null"}}}};
	if (hold.partition.empty())
		body["job"].erase("partition");
	std::string what = "submit of " + hold.name;
	Answer answer = call("POST", "/job/submit", body.dump());
	std::int64_t id = number(answer.body, "job_id");
	if (answer.status == 200 && id > 0 && answer.code == 0)
		return id;
	if (id > 0 && answer.code == partitionNeverFits) {
		// Accepted, but it would wait for ever: take it back so that nothing stays queued.
		cancel(id);
		throw SlurmError(Failure::Refused, answer.code,
				 fmt::format("slurmrestd at {}: {}: the partition can never hold {} nodes (Slurm error {}: {}); "
					     "job {} was cancelled",
					     where(), what, hold.nodes, answer.code, answer.error, id));
	}
	if (answer.status == 200 && answer.code == 0)
		throw SlurmError(Failure::BadAnswer, 0, fmt::format("slurmrestd at {}: {}: no job_id in the answer", where(), what));
	fail(what, answer);
}

std::vector<Job> Client::findByName(const std::string &name)
{
	Answer answer = call("GET", "/jobs/");
	if (answer.status != 200 || answer.code != 0)
		fail("list of jobs", answer);
	std::vector<Job> found;
	for (const json &j : answer.body.value("jobs", json::array()))
		if (j.is_object() && text(j, "name") == name)
			found.push_back(parseJob(j, endpoint_.gres));
	return found;
}

Job Client::job(std::int64_t id)
{
	Answer answer = call("GET", fmt::format("/job/{}", id));
	if (answer.status != 200 || answer.code != 0)
		fail(fmt::format("job {}", id), answer);
	auto jobs = answer.body.value("jobs", json::array());
	if (jobs.size() != 1 || !jobs[0].is_object() || number(jobs[0], "job_id") != id)
		throw SlurmError(Failure::BadAnswer, 0, fmt::format("slurmrestd at {}: job {}: no such job in the answer", where(), id));
	return parseJob(jobs[0], endpoint_.gres);
}

void Client::cancel(std::int64_t id)
{
	Answer answer = call("DELETE", fmt::format("/job/{}", id));
	if (answer.status != 200 || answer.code != 0)
		fail(fmt::format("cancel of job {}", id), answer);
}

} // namespace hac::slurm
