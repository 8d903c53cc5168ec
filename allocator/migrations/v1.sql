-- Schema version 1 of the allocator's database (`database` in allocator.toml, /var/lib/hac/allocator.db).
-- Changelog: v1 (hac 0.1): accounts, devices, allocations with their GPU leases, usage records, and
-- the agents seen.
-- Times are Unix milliseconds, UTC.
-- A released step's statements are never edited: SQLite keeps each CREATE statement's text in
-- sqlite_master, and the databases in use were made by them; these are, to the byte, the ones
-- store.cpp held as raw strings before the steps became files.

CREATE TABLE accounts (
	name TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL
);
-- A removed device keeps its row (removed_at set) so usage that arrives late still finds it.
CREATE TABLE devices (
	id TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(name),
	idx INTEGER NOT NULL,
	sku TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	removed_at INTEGER
);
CREATE UNIQUE INDEX devices_account_idx ON devices(account, idx) WHERE removed_at IS NULL;
CREATE TABLE allocations (
	job_id TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(name),
	device_id TEXT NOT NULL REFERENCES devices(id),
	sku TEXT NOT NULL,
	gpus INTEGER NOT NULL,
	placement TEXT NOT NULL,
	allocated_at INTEGER NOT NULL,
	released_at INTEGER
);
CREATE UNIQUE INDEX allocations_held ON allocations(device_id) WHERE released_at IS NULL;
-- The GPUs lent right now; a row leaves when its allocation is released.
CREATE TABLE leases (
	node INTEGER NOT NULL,
	gpu INTEGER NOT NULL,
	job_id TEXT NOT NULL REFERENCES allocations(job_id),
	PRIMARY KEY (node, gpu)
);
CREATE INDEX leases_job ON leases(job_id);
CREATE TABLE usage (
	job_id TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(name),
	device_id TEXT NOT NULL,
	sku TEXT NOT NULL,
	gpus INTEGER NOT NULL,
	started_at INTEGER NOT NULL,
	ended_at INTEGER NOT NULL,
	billable INTEGER NOT NULL,
	end_reason TEXT NOT NULL,
	reconstructed INTEGER NOT NULL,
	price_micro_per_gpu_minute INTEGER NOT NULL,
	cost_micro INTEGER NOT NULL,
	recorded_at INTEGER NOT NULL
);
CREATE INDEX usage_account_ended ON usage(account, ended_at);
CREATE TABLE agents (
	account TEXT NOT NULL REFERENCES accounts(name),
	hostname TEXT NOT NULL,
	agent_version TEXT NOT NULL,
	last_seen INTEGER NOT NULL,
	PRIMARY KEY (account, hostname)
);
