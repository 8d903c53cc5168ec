/* A C program that uses hac.h the way a framework plugin would: it registers itself as a job,
 * reports its memory, and ends the job. Driven by tests/integration/capi.bats.
 *
 * usage: capi-job NAME MEMORY_MIB EXIT_STATUS [no-wait]
 * prints "JOB_ID DEVICE" once the job runs, waits for a line on stdin, then ends the job and
 * exits 0; on a failing call it prints "CALL STATUS STRERROR: LAST_ERROR" and exits with STATUS.
 */
#include <hac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *call, int status)
{
	printf("%s %d %s: %s\n", call, status, hac_strerror(status), hac_last_error());
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: capi-job NAME MEMORY_MIB EXIT_STATUS [no-wait]\n");
		return 2;
	}
	if (hac_api_version() != HAC_API_VERSION)
		return fail("hac_api_version", HAC_FAILURE);

	hac_client *client = NULL;
	int rc = hac_open(NULL, &client);
	if (rc != HAC_OK)
		return fail("hac_open", rc);

	unsigned flags = argc > 4 && strcmp(argv[4], "no-wait") == 0 ? HAC_NO_WAIT : 0;
	hac_job *job = NULL;
	rc = hac_job_begin(client, -1, argv[1], flags, &job);
	if (rc != HAC_OK)
		return fail("hac_job_begin", rc);
	printf("%s %d\n", hac_job_id(job), hac_job_device(job));
	fflush(stdout);

	rc = hac_job_report_memory(job, atoll(argv[2]));
	if (rc != HAC_OK)
		return fail("hac_job_report_memory", rc);
	rc = hac_job_report_memory(job, -1);
	if (rc != HAC_USAGE)
		return fail("hac_job_report_memory(-1) did not refuse", rc);

	char line[16];
	if (!fgets(line, sizeof line, stdin))
		line[0] = '\0';

	rc = hac_job_end(job, atoi(argv[3]));
	if (rc != HAC_OK)
		return fail("hac_job_end", rc);
	hac_job_free(job);
	hac_close(client);
	return 0;
}
