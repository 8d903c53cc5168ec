-- Schema version 2 of the job log (/var/lib/hac/jobs.db).
-- Changelog: v2 (hac 0.1, hac-usage): the index jobs_usage, which holds every column a usage report
-- sums, in start order, so that a year of jobs is summed from the index alone (tests/bench/usage.sh);
-- it replaces jobs_by_start, whose column leads it.
CREATE INDEX jobs_usage ON jobs (started_at, uid, state, sku, currency, gpus, price_micro_per_gpu_minute,
	billable, ended_at);
DROP INDEX jobs_by_start;
