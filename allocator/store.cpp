// SQLite behind hac-allocator: WAL, synchronous=FULL, every write in BEGIN IMMEDIATE and committed
// before the caller answers, the schema migrated one version per transaction. This file opens and
// migrates the database; the verbs live beside their tables: store_accounts.cpp (accounts, agents),
// store_devices.cpp (devices, device_changes), store_allocations.cpp (allocations, leases) and
// store_usage.cpp (usage).
#include "store.hpp"

#include <iterator>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <hac/error.hpp>

namespace hac::allocator {

namespace {

// One entry per schema version, applied in order: migrations/vN.sql, embedded at build time (each
// file's header is its changelog entry).
constexpr std::string_view kMigrations[] = {
#include "migrations_v1.inc"
#include "migrations_v2.inc"
#include "migrations_v3.inc"
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion, "one migration step per schema version");

// What SQLite says when it cannot open or create the file rarely names the cause; it is nearly always
// the folder.
Database openDatabase(const std::string &path)
{
	try {
		return Database(path, true);
	} catch (const Error &e) {
		throw Error(e.code(), fmt::format("{}; check that its folder exists and is writable", e.what()));
	}
}

} // namespace

Store::Store(const std::string &path) : db_(openDatabase(path))
{
	{
		// Database asks for WAL, and SQLite quietly keeps the old journal where it cannot have it
		// (":memory:", a VFS without shared memory); the durability this store promises needs it.
		Statement mode = db_.prepare("PRAGMA journal_mode");
		if (!mode.step() || mode.text(0) != "wal")
			throw Error(Errc::Failure, fmt::format("database {}: cannot switch it to WAL mode", path));
	}
	migrate();
}

std::vector<std::string_view> Store::migrations()
{
	return {std::begin(kMigrations), std::end(kMigrations)};
}

void Store::migrate()
{
	int from = db_.userVersion();
	db_.migrate(migrations(), "allocator database");
	// Each step has committed by now, so each one is logged as done.
	for (int v = from + 1; v <= kSchemaVersion; ++v)
		spdlog::info("database {}: migrated to schema version {}", db_.path(), v);
}

} // namespace hac::allocator
