-- Schema version 3 of the job log (/var/lib/hac/jobs.db).
-- Changelog: v3 (hac 0.1, hac-usage): each job's bill, stored when it ends, and an index that holds
-- what a usage report sums, so that a year of jobs is summed from the index alone.
--   gpu_minutes: the minutes the job held GPUs, each started minute counted whole, x its GPUs;
--   cost_micro: gpu_minutes x its price per GPU-minute, 0 when it is not billable.
-- Both are NULL until the job ends; the agent writes them with hac::chargeFor()
-- (libhac/include/hac/billing.hpp). The jobs that ended before this version are billed below by
-- the same rule in SQL (tests/unit/test_billing.cpp checks that the two agree).
ALTER TABLE jobs ADD COLUMN gpu_minutes INTEGER;
ALTER TABLE jobs ADD COLUMN cost_micro INTEGER;
UPDATE jobs SET gpu_minutes = CASE WHEN ended_at > started_at AND gpus > 0
		THEN gpus * ((ended_at - started_at + 59999) / 60000) ELSE 0 END
	WHERE state = 'ended';
UPDATE jobs SET cost_micro = CASE WHEN billable AND price_micro_per_gpu_minute > 0
		THEN gpu_minutes * price_micro_per_gpu_minute ELSE 0 END
	WHERE state = 'ended';
-- Per currency, then in start order: a report sums one currency's range of it (agent/usage_log.cpp).
CREATE INDEX jobs_usage ON jobs (currency, started_at, uid, sku, billable, gpu_minutes, cost_micro);
