// Reading TOML configuration files; every error names the file, the line and the key.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace toml { inline namespace v3 { class array; class table; } }

namespace hac {

class ConfigFile;

// A table of a config file. Reading a key marks it known; finish() then rejects the rest, so a
// misspelt key is an error and not a silently ignored setting.
class ConfigSection {
public:
	std::optional<std::string> string(std::string_view key) const;
	std::string string(std::string_view key, const std::string &fallback) const;
	std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
	std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
	bool boolean(std::string_view key, bool fallback) const;
	std::optional<std::vector<std::string>> strings(std::string_view key) const;
	std::optional<std::vector<std::int64_t>> integers(std::string_view key, std::int64_t min, std::int64_t max) const;
	std::optional<ConfigSection> table(std::string_view key) const;
	std::vector<ConfigSection> tables(std::string_view key) const; // an array of tables, [[key]]

	// Throws for the first key that no reader asked for.
	void finish() const;

	// "FILE:LINE: KEY" for the given key (or the table itself), for messages of the caller's own.
	std::string where(std::string_view key = {}) const;
	[[noreturn]] void fail(std::string_view key, const std::string &message) const;

private:
	friend class ConfigFile;
	ConfigSection(std::shared_ptr<const toml::table> root, const toml::table *table,
		      std::string file, std::string path);
	std::string keyPath(std::string_view key) const;
	// The array at `key` (marked read), null when the key is absent; any other type fails,
	// naming what was expected ("an array of strings").
	const toml::array *array(std::string_view key, std::string_view expected) const;

	std::shared_ptr<const toml::table> root_; // keeps table_ alive
	const toml::table *table_;
	std::string file_;
	std::string path_;                        // dotted path of this table, empty for the root
	mutable std::set<std::string, std::less<>> read_;
};

class ConfigFile {
public:
	// Throws hac::Error(Failure) naming the file and line when it cannot be read or parsed.
	static ConfigFile load(const std::string &file);
	static ConfigFile parse(std::string_view text, const std::string &file);

	ConfigSection &root() { return root_; }

private:
	explicit ConfigFile(ConfigSection root) : root_(std::move(root)) {}
	ConfigSection root_;
};

} // namespace hac
