-- Schema version 2 of the job log.
-- Changelog: v2 (hac 0.1): device_changes, every size change, addition, removal and switch of a
-- device, with its time and who made it, so each job is billed at the size it ran at and a bill
-- can be explained.

CREATE TABLE device_changes (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,                       -- Unix milliseconds, UTC
	device INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	change TEXT NOT NULL CHECK (change IN ('resize', 'add', 'remove', 'switch')),
	old_sku TEXT,                              -- NULL for add
	new_sku TEXT,                              -- NULL for remove
	uid INTEGER NOT NULL                       -- who asked for it
);
CREATE INDEX device_changes_by_time ON device_changes (at);
