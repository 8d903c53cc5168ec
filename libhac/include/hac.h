/* hac.h: the stable C API of hac-agent, for programs that use the accelerator themselves (a
 * framework plugin through ctypes, say): register this process as a job, report the device memory
 * it uses, end the job. Link with -lhac (libhac.so.1). Every call is synchronous and bounded: it
 * answers within 2 seconds, except hac_job_begin, which waits while the device or the farm is busy
 * unless HAC_NO_WAIT is given.
 *
 * Errors: each call returns HAC_OK (0) or one of the codes below, which are the hac tools' exit
 * codes; hac_last_error() then says what failed and what to do. A client is used by one thread at
 * a time; separate clients may be used from separate threads.
 */
#ifndef HAC_H
#define HAC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HAC_API_VERSION 1

enum hac_status {
	HAC_OK = 0,
	HAC_FAILURE = 1,
	HAC_USAGE = 2,                /* a bad argument */
	HAC_AGENT_UNREACHABLE = 3,
	HAC_ALLOCATOR_UNREACHABLE = 4,
	HAC_PERMISSION_DENIED = 5,
	HAC_CONFLICT = 6,             /* the device is busy and HAC_NO_WAIT was given */
	HAC_NOT_FOUND = 7,            /* no such device, or the job has already ended */
	HAC_TIMED_OUT = 9,
	HAC_BUDGET_EXHAUSTED = 11     /* the month's budget is spent: the agent refuses new jobs */
};

/* Flags of hac_job_begin. */
#define HAC_NO_WAIT 1u  /* fail with HAC_CONFLICT at once when another job holds the device */
#define HAC_QUIET 2u    /* do not print why the call waits (by default one line on stderr) */

typedef struct hac_client hac_client;
typedef struct hac_job hac_job;

/* The version of this library's API, HAC_API_VERSION when the header and library agree. */
int hac_api_version(void);

/* Connects lazily to the agent at socket_path; NULL or "" means $HAC_SOCKET, else
 * /run/hac/agent.sock. Fails only for lack of memory. Free with hac_close(). */
int hac_open(const char *socket_path, hac_client **client);
void hac_close(hac_client *client);

/* Registers the calling process as a job on `device` (-1: $HAC_VISIBLE_DEVICE, else the agent's
 * current device), named `name` (NULL or "": none). The agent ends the job by itself when the
 * process exits. Free *job with hac_job_free(), which does not end the job. */
int hac_job_begin(hac_client *client, int device, const char *name, unsigned flags, hac_job **job);

/* As hac_job_begin, with a time limit (since HAC_1.1): the agent ends the job time_limit_seconds
 * after it starts (SIGTERM to its processes, SIGKILL after the agent's kill grace, end reason
 * time_limit). 0 means the agent's default ([jobs] default_time_limit, none unless set); a limit
 * above the agent's [jobs] max_time_limit is refused with HAC_USAGE. */
int hac_job_begin_with_limit(hac_client *client, int device, const char *name, unsigned flags,
			     int64_t time_limit_seconds, hac_job **job);

/* The job's UUID (valid until hac_job_free) and the device it runs on. */
const char *hac_job_id(const hac_job *job);
int hac_job_device(const hac_job *job);
/* When the agent ends the job for its time limit, in Unix milliseconds; 0 when it has none
 * (since HAC_1.1). */
int64_t hac_job_deadline_ms(const hac_job *job);

/* Reports the device memory the job uses now, in MiB. */
int hac_job_report_memory(hac_job *job, int64_t memory_used_mib);

/* Ends the job with the program's exit status (0-255, or 128+signal) and releases its GPUs. */
int hac_job_end(hac_job *job, int exit_status);
void hac_job_free(hac_job *job);

/* What the last failing call of this thread said: what failed and what to do. "" when none. */
const char *hac_last_error(void);
/* A short constant description of a status code. */
const char *hac_strerror(int status);

#ifdef __cplusplus
}
#endif

#endif /* HAC_H */
