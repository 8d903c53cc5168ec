-- Schema version 3 of the allocator's database.
-- Changelog: v3 (hac 0.2, the Slurm placement backend): slurm_holds, the Slurm job that holds or
-- queues for each hac job, allocations.slurm_job_id, and slurm_cancels, the Slurm jobs to cancel, kept until Slurm confirms.
-- The simulated backend writes neither.

-- The Slurm job that held an allocation's GPUs (null on the simulated farm), for reconcile.
ALTER TABLE allocations ADD COLUMN slurm_job_id INTEGER;

-- One row per hac job that has a Slurm job (named by the hac job id) queued or holding its GPUs.
-- A queued one has no allocations row yet; `asked_at` is when the agent last asked for it, so one
-- nobody asks about again is cancelled. `slurm_job_id` is 0 from just before the submit until its
-- answer: a lost answer leaves the row, and the job is then found by its name. The row leaves when
-- its Slurm job is to be cancelled.
CREATE TABLE slurm_holds (
	job_id TEXT PRIMARY KEY,
	slurm_job_id INTEGER NOT NULL,
	account TEXT NOT NULL REFERENCES accounts(name),
	device_id TEXT NOT NULL,
	submitted_at INTEGER NOT NULL,
	asked_at INTEGER NOT NULL
);
CREATE INDEX slurm_holds_asked ON slurm_holds(asked_at);
-- A release, a recorded usage or a queue given up writes the row in the same transaction; it
-- leaves only when Slurm has cancelled the job (or says it has ended), so a Slurm that is down
-- when a job ends, or a restart of the allocator, leaks no GPU.
-- slurm_job_id 0: every live Slurm job named job_id (a submit whose answer never came).
CREATE TABLE slurm_cancels (
	id INTEGER PRIMARY KEY,
	slurm_job_id INTEGER NOT NULL,
	job_id TEXT NOT NULL,
	reason TEXT NOT NULL,
	queued_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error TEXT,
	UNIQUE (slurm_job_id, job_id)
);
