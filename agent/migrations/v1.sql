-- Schema version 1 of the job log (/var/lib/hac/jobs.db).
-- Changelog: v1 (hac 0.1): settings, the allocator's devices and rate card as last known, jobs,
-- and the outbox of usage records not yet delivered to the allocator.
-- Times are Unix milliseconds, UTC.

-- Local settings, e.g. the current device.
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- The devices as the allocator last described them, so reads answer while it is unreachable.
CREATE TABLE devices (
	idx INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	sku TEXT NOT NULL,
	gpus INTEGER NOT NULL,
	memory_total_mib INTEGER NOT NULL
);

-- The rate card as last fetched; jobs copy the price in force when they start.
CREATE TABLE skus (
	name TEXT PRIMARY KEY,
	gpus INTEGER NOT NULL,
	gpu_memory_gib INTEGER NOT NULL,
	price_micro_per_gpu_minute INTEGER NOT NULL,
	currency TEXT NOT NULL
);

CREATE TABLE jobs (
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
	end_reason TEXT CHECK (end_reason IN ('finished', 'process_died', 'reset', 'allocator_failure')),
	billable INTEGER NOT NULL DEFAULT 1,
	reconstructed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_state ON jobs (state);
CREATE INDEX jobs_by_start ON jobs (started_at);

-- Usage records owed to the allocator; a row leaves only when the allocator has acknowledged it.
CREATE TABLE outbox (
	job_id TEXT PRIMARY KEY REFERENCES jobs (id),
	body TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error TEXT
);
