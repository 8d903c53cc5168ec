// A thin RAII layer over SQLite with the settings every hac database uses, and versioned migrations.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace hac {

class Statement {
public:
	Statement(sqlite3 *db, std::string_view sql, const std::string &dbPath);
	~Statement();
	Statement(Statement &&other) noexcept;
	Statement(const Statement &) = delete;
	Statement &operator=(const Statement &) = delete;
	Statement &operator=(Statement &&) = delete;

	// Parameters are numbered from 1, as in SQLite.
	Statement &bind(int index, std::int64_t value);
	Statement &bind(int index, int value) { return bind(index, std::int64_t(value)); }
	Statement &bind(int index, std::string_view value);
	Statement &bind(int index, const char *value) { return bind(index, std::string_view(value)); }
	Statement &bind(int index, const std::string &value) { return bind(index, std::string_view(value)); }
	Statement &bind(int index, std::nullopt_t);
	template <typename T>
	Statement &bind(int index, const std::optional<T> &value)
	{
		return value ? bind(index, *value) : bind(index, std::nullopt);
	}

	// The number of a named parameter (":now"), for bind(); throws when the statement has none
	// of that name.
	int parameter(const char *name) const;

	// Advances to the next row; false when done. Throws on error.
	bool step();
	// Runs a statement that returns no rows.
	void run();
	void reset();

	// Columns are numbered from 0, as in SQLite.
	bool isNull(int column) const;
	std::int64_t integer(int column) const;
	std::string text(int column) const;
	std::optional<std::int64_t> optInteger(int column) const;

private:
	sqlite3_stmt *stmt_;
	const std::string *dbPath_;
};

class Database {
public:
	// Opens (creating if asked) with WAL, synchronous=FULL, foreign keys and a busy timeout:
	// a committed write survives power loss, and concurrent writers wait instead of failing.
	Database(const std::string &path, bool create);
	~Database();
	Database(const Database &) = delete;
	Database &operator=(const Database &) = delete;

	void exec(std::string_view sql);
	Statement prepare(std::string_view sql);
	std::int64_t lastInsertRowid() const;
	int changes() const;

	// Runs `work` inside BEGIN IMMEDIATE ... COMMIT; rolls back and rethrows on an exception.
	void transaction(const std::function<void()> &work);

	int userVersion();
	// Brings the schema to steps.size(): step i (0-based) takes version i to i + 1, each in one
	// transaction with its version bump. A database newer than `steps` is refused, never touched.
	void migrate(const std::vector<std::string_view> &steps, std::string_view what);

	const std::string &path() const { return path_; }
	sqlite3 *handle() const { return db_; }

private:
	sqlite3 *db_ = nullptr;
	std::string path_;
};

} // namespace hac
