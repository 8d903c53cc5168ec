-- Schema version 4 of the job log.
-- Changelog: v4 (hac 0.1, issue 16): two end reasons of jobs whose command never ran, neither
-- billable (hac::billableEnd): not_started (the start missed its caller's deadline, or the
-- process ended before the start was answered) and exec_failed (the command could not be
-- executed). SQLite cannot change a CHECK in place, so the jobs table is rebuilt with the same
-- columns, rows and indexes; the outbox, whose rows reference jobs, is set aside meanwhile.
CREATE TABLE jobs_v4 (
	id TEXT PRIMARY KEY,                       -- UUID, also the allocator's idempotency key
	device INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	sku TEXT NOT NULL,
	gpus INTEGER NOT NULL,
	price_micro_per_gpu_minute INTEGER NOT NULL,
	currency TEXT NOT NULL,
	uid INTEGER NOT NULL,
	pid INTEGER NOT NULL,
	pid_start INTEGER NOT NULL,                -- the process's start time, so a reused pid is not mistaken for it
	command TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	-- starting: the UUID is stored before the allocator is first asked, so a retry reuses it
	state TEXT NOT NULL CHECK (state IN ('starting', 'running', 'ended')),
	started_at INTEGER NOT NULL,
	heartbeat_at INTEGER NOT NULL,             -- last durable sign of life; a reconstructed job ends here
	ended_at INTEGER,
	memory_used_mib INTEGER,
	exit_status INTEGER,
	end_reason TEXT CHECK (end_reason IN ('finished', 'process_died', 'reset', 'allocator_failure',
					      'not_started', 'exec_failed')),
	billable INTEGER NOT NULL DEFAULT 1,
	reconstructed INTEGER NOT NULL DEFAULT 0,
	gpu_minutes INTEGER,
	cost_micro INTEGER
);
INSERT INTO jobs_v4 SELECT * FROM jobs;
CREATE TEMP TABLE outbox_v3 AS SELECT * FROM outbox;
DROP TABLE outbox;
DROP TABLE jobs;
ALTER TABLE jobs_v4 RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state);
CREATE INDEX jobs_by_start ON jobs (started_at);
CREATE INDEX jobs_usage ON jobs (currency, started_at, uid, sku, billable, gpu_minutes, cost_micro);

-- Usage records owed to the allocator; a row leaves only when the allocator has acknowledged it.
CREATE TABLE outbox (
	job_id TEXT PRIMARY KEY REFERENCES jobs (id),
	body TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error TEXT
);
INSERT INTO outbox SELECT * FROM outbox_v3;
DROP TABLE outbox_v3;
