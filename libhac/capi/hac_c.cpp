// The C API of hac.h over libhac's job client. No C++ exception crosses it: each call catches and
// turns the error into its status code and this thread's last error message.
#include <hac.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <unistd.h>

#include <hac/agent_client.hpp>
#include <hac/error.hpp>
#include <hac/exit_code.hpp>
#include <hac/job_client.hpp>

struct hac_client {
	std::string socketPath;
};

// Each job keeps its own socket path, so it outlives the client that began it.
struct hac_job {
	std::string socketPath;
	std::string id;
	int device = 0;
	int64_t deadlineMs = 0;
};

namespace {

thread_local std::string lastError;

template <typename F>
int guarded(F &&body)
{
	try {
		body();
		lastError.clear();
		return HAC_OK;
	} catch (const hac::Error &e) {
		lastError = e.what();
		return hac::toInt(hac::exitCode(e.code()));
	} catch (const std::bad_alloc &) {
		lastError = "out of memory";
		return HAC_FAILURE;
	} catch (const std::exception &e) {
		lastError = e.what();
		return HAC_FAILURE;
	}
}

void require(bool ok, const char *what)
{
	if (!ok)
		throw hac::Error(hac::Errc::Usage, what);
}

} // namespace

extern "C" {

int hac_api_version(void)
{
	return HAC_API_VERSION;
}

int hac_open(const char *socket_path, hac_client **client)
{
	return guarded([&] {
		require(client != nullptr, "hac_open: the client pointer is NULL");
		*client = new hac_client{hac::resolveSocketPath(socket_path ? socket_path : "")};
	});
}

void hac_close(hac_client *client)
{
	delete client;
}

int hac_job_begin(hac_client *client, int device, const char *name, unsigned flags, hac_job **job)
{
	return hac_job_begin_with_limit(client, device, name, flags, 0, job);
}

int hac_job_begin_with_limit(hac_client *client, int device, const char *name, unsigned flags,
			     int64_t time_limit_seconds, hac_job **job)
{
	return guarded([&] {
		require(client != nullptr && job != nullptr, "hac_job_begin: the client or job pointer is NULL");
		require(device >= -1, "hac_job_begin: the device must be an index (0, 1, ...) or -1 for the default");
		require(time_limit_seconds >= 0, "hac_job_begin_with_limit: the time limit must be 0 (the agent's default) "
						 "or a number of seconds");
		*job = nullptr;
		hac::AgentClient agent(client->socketPath);
		hac::JobRequest request;
		request.pid = static_cast<int>(getpid());
		if (device >= 0)
			request.device = device;
		request.name = name ? name : "";
		request.noWait = (flags & HAC_NO_WAIT) != 0;
		if (time_limit_seconds > 0)
			request.timeLimitSeconds = time_limit_seconds;
		hac::Job begun = hac::beginJob(agent, request, [flags](const std::string &notice) {
			if (!(flags & HAC_QUIET))
				std::fprintf(stderr, "hac: %s\n", notice.c_str());
		});
		*job = new hac_job{client->socketPath, begun.id, begun.device, begun.deadline.value_or(0)};
	});
}

const char *hac_job_id(const hac_job *job)
{
	return job ? job->id.c_str() : "";
}

int hac_job_device(const hac_job *job)
{
	return job ? job->device : -1;
}

int64_t hac_job_deadline_ms(const hac_job *job)
{
	return job ? job->deadlineMs : 0;
}

int hac_job_report_memory(hac_job *job, int64_t memory_used_mib)
{
	return guarded([&] {
		require(job != nullptr, "hac_job_report_memory: the job pointer is NULL");
		require(memory_used_mib >= 0, "hac_job_report_memory: memory_used_mib must not be negative");
		hac::AgentClient agent(job->socketPath);
		hac::reportMemory(agent, job->id, memory_used_mib);
	});
}

int hac_job_end(hac_job *job, int exit_status)
{
	return guarded([&] {
		require(job != nullptr, "hac_job_end: the job pointer is NULL");
		require(exit_status >= 0 && exit_status <= 255, "hac_job_end: the exit status must be 0-255 (128+signal when killed)");
		hac::AgentClient agent(job->socketPath);
		hac::endJob(agent, job->id, exit_status);
	});
}

void hac_job_free(hac_job *job)
{
	delete job;
}

const char *hac_last_error(void)
{
	return lastError.c_str();
}

const char *hac_strerror(int status)
{
	switch (status) {
	case HAC_OK: return "ok";
	case HAC_FAILURE: return "failure";
	case HAC_USAGE: return "bad argument";
	case HAC_AGENT_UNREACHABLE: return "hac-agent unreachable";
	case HAC_ALLOCATOR_UNREACHABLE: return "allocator unreachable";
	case HAC_PERMISSION_DENIED: return "permission denied";
	case HAC_CONFLICT: return "conflict: the device is in use";
	case HAC_NOT_FOUND: return "not found";
	case HAC_TIMED_OUT: return "timed out";
	case HAC_BUDGET_EXHAUSTED: return "budget exhausted";
	default: return "unknown status";
	}
}

} // extern "C"
