-- Schema version 2 of the allocator's database.
-- Changelog: v2 (hac 0.1, the device verbs): device_changes, when each device was added, resized and
-- removed, and its SKUs; the devices of version 1 get theirs from their created_at and removed_at.

-- Devices change size and come and go: this says which SKU a device had when, and so what a job
-- on it was lent. `sku` is the SKU after the change (a removed device's last one); `previous_sku`
-- is set for a resize only.
CREATE TABLE device_changes (
	id INTEGER PRIMARY KEY,
	device_id TEXT NOT NULL REFERENCES devices(id),
	at INTEGER NOT NULL,
	change TEXT NOT NULL CHECK (change IN ('added', 'resized', 'removed')),
	sku TEXT NOT NULL,
	previous_sku TEXT
);
CREATE INDEX device_changes_device ON device_changes(device_id, at);
-- Version 1 could not resize, so a device's SKU now is the one it was added with.
INSERT INTO device_changes(device_id, at, change, sku) SELECT id, created_at, 'added', sku FROM devices;
INSERT INTO device_changes(device_id, at, change, sku)
	SELECT id, removed_at, 'removed', sku FROM devices WHERE removed_at IS NOT NULL;
