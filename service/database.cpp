// SQLite through Database and Statement: every error names the database file and what SQLite said.
#include "database.hpp"

#include <fmt/core.h>
#include <sqlite3.h>

#include <hac/error.hpp>

namespace hac {

namespace {

[[noreturn]] void fail(sqlite3 *db, const std::string &path, std::string_view doing)
{
	throw Error(Errc::Failure, fmt::format("{}: {}: {}", path, doing, db ? sqlite3_errmsg(db) : "out of memory"));
}

} // namespace

Statement::Statement(sqlite3 *db, std::string_view sql, const std::string &dbPath)
	: stmt_(nullptr), dbPath_(&dbPath)
{
	if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
		fail(db, dbPath, fmt::format("cannot prepare '{}'", sql.substr(0, 60)));
}

Statement::~Statement()
{
	sqlite3_finalize(stmt_);
}

Statement::Statement(Statement &&other) noexcept
	: stmt_(other.stmt_), dbPath_(other.dbPath_)
{
	other.stmt_ = nullptr;
}

Statement &Statement::bind(int index, std::int64_t value)
{
	sqlite3_bind_int64(stmt_, index, value);
	return *this;
}

Statement &Statement::bind(int index, std::string_view value)
{
	sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
	return *this;
}

Statement &Statement::bind(int index, std::nullopt_t)
{
	sqlite3_bind_null(stmt_, index);
	return *this;
}

int Statement::parameter(const char *name) const
{
	int index = sqlite3_bind_parameter_index(stmt_, name);
	if (index == 0)
		throw Error(Errc::Failure, fmt::format("{}: the statement has no parameter {}", *dbPath_, name));
	return index;
}

bool Statement::step()
{
	int rc = sqlite3_step(stmt_);
	if (rc == SQLITE_ROW)
		return true;
	if (rc == SQLITE_DONE)
		return false;
	sqlite3 *db = sqlite3_db_handle(stmt_);
	std::string sql = sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "";
	sqlite3_reset(stmt_);
	fail(db, *dbPath_, fmt::format("'{}' failed", sql.substr(0, 60)));
}

void Statement::run()
{
	while (step()) {
	}
	sqlite3_reset(stmt_);
}

void Statement::reset()
{
	sqlite3_reset(stmt_);
	sqlite3_clear_bindings(stmt_);
}

bool Statement::isNull(int column) const
{
	return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::integer(int column) const
{
	return sqlite3_column_int64(stmt_, column);
}

std::string Statement::text(int column) const
{
	const unsigned char *p = sqlite3_column_text(stmt_, column);
	return p ? std::string(reinterpret_cast<const char *>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::optional<std::int64_t> Statement::optInteger(int column) const
{
	if (isNull(column))
		return std::nullopt;
	return integer(column);
}

Database::Database(const std::string &path, bool create)
	: path_(path)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
		std::string message = fmt::format("{}: cannot open the database: {}", path, db_ ? sqlite3_errmsg(db_) : "out of memory");
		sqlite3_close(db_);
		throw Error(Errc::Failure, message);
	}
	sqlite3_extended_result_codes(db_, 1);
	sqlite3_busy_timeout(db_, 5000);
	exec("PRAGMA journal_mode=WAL");
	exec("PRAGMA synchronous=FULL");
	exec("PRAGMA foreign_keys=ON");
}

Database::~Database()
{
	sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql)
{
	std::string text(sql);
	char *message = nullptr;
	if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
		std::string why = message ? message : sqlite3_errmsg(db_);
		sqlite3_free(message);
		throw Error(Errc::Failure, fmt::format("{}: '{}' failed: {}", path_, text.substr(0, 60), why));
	}
}

Statement Database::prepare(std::string_view sql)
{
	return Statement(db_, sql, path_);
}

std::int64_t Database::lastInsertRowid() const
{
	return sqlite3_last_insert_rowid(db_);
}

int Database::changes() const
{
	return sqlite3_changes(db_);
}

void Database::transaction(const std::function<void()> &work)
{
	exec("BEGIN IMMEDIATE");
	try {
		work();
		exec("COMMIT");
	} catch (...) {
		// A failed COMMIT may already have rolled back; ROLLBACK then reports an error we ignore.
		sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
		throw;
	}
}

int Database::userVersion()
{
	Statement s = prepare("PRAGMA user_version");
	s.step();
	return static_cast<int>(s.integer(0));
}

void Database::migrate(const std::vector<std::string_view> &steps, std::string_view what)
{
	int current = userVersion();
	int target = static_cast<int>(steps.size());
	if (current > target)
		throw Error(Errc::Failure,
			    fmt::format("{}: the {} has schema version {}, newer than the {} this program knows: "
					"run a newer version; the database was left untouched",
					path_, what, current, target));
	for (int v = current; v < target; ++v) {
		transaction([&] {
			exec(steps[static_cast<std::size_t>(v)]);
			exec(fmt::format("PRAGMA user_version = {}", v + 1));
		});
	}
}

} // namespace hac
