-- Schema version 5 of the job log (/var/lib/hac/jobs.db).
-- Changelog: v5 (hac 0.1, cost guard, issue 19): each job's time limit and deadline, so a restarted agent
-- still ends a job at its limit; and the end reasons time_limit (the agent ended the job at its
-- limit) and budget (the month's budget was spent, with [budget] on_exhausted = "stop").
--   time_limit_seconds: what the job was given (asked for, or [jobs] default_time_limit); NULL: none
--   deadline_at: started_at + the limit, Unix milliseconds UTC; NULL: none
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt: the outbox rows that
-- reference jobs are set aside first, so no foreign key is broken at any step (the migration runs
-- in one transaction, where PRAGMA foreign_keys cannot be turned off). v4's end reasons are kept.
CREATE TEMP TABLE outbox_v5 AS SELECT * FROM outbox;
DELETE FROM outbox;

CREATE TABLE jobs_v5 (
	id TEXT PRIMARY KEY,
	device INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	sku TEXT NOT NULL,
	gpus INTEGER NOT NULL,
	price_micro_per_gpu_minute INTEGER NOT NULL,
	currency TEXT NOT NULL,
	uid INTEGER NOT NULL,
	pid INTEGER NOT NULL,
	pid_start INTEGER NOT NULL,
	command TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL CHECK (state IN ('starting', 'running', 'ended')),
	started_at INTEGER NOT NULL,
	heartbeat_at INTEGER NOT NULL,
	ended_at INTEGER,
	memory_used_mib INTEGER,
	exit_status INTEGER,
	end_reason TEXT CHECK (end_reason IN ('finished', 'process_died', 'reset', 'allocator_failure',
					     'not_started', 'exec_failed', 'time_limit', 'budget')),
	billable INTEGER NOT NULL DEFAULT 1,
	reconstructed INTEGER NOT NULL DEFAULT 0,
	gpu_minutes INTEGER,
	cost_micro INTEGER,
	time_limit_seconds INTEGER,
	deadline_at INTEGER
);
INSERT INTO jobs_v5 (id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, pid, pid_start,
		     command, name, state, started_at, heartbeat_at, ended_at, memory_used_mib, exit_status,
		     end_reason, billable, reconstructed, gpu_minutes, cost_micro)
	SELECT id, device, device_id, sku, gpus, price_micro_per_gpu_minute, currency, uid, pid, pid_start,
	       command, name, state, started_at, heartbeat_at, ended_at, memory_used_mib, exit_status,
	       end_reason, billable, reconstructed, gpu_minutes, cost_micro FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v5 RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state);
CREATE INDEX jobs_by_start ON jobs (started_at);
CREATE INDEX jobs_usage ON jobs (currency, started_at, uid, sku, billable, gpu_minutes, cost_micro);

INSERT INTO outbox SELECT * FROM outbox_v5;
DROP TABLE outbox_v5;
