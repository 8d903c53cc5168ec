// TOML configuration through toml++, with messages of the form "FILE:LINE: KEY: what is wrong".
#include "config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/core.h>
#include <toml++/toml.h>

#include <hac/error.hpp>

namespace hac {

namespace {

const char *typeName(toml::node_type t)
{
	switch (t) {
	case toml::node_type::string: return "a string";
	case toml::node_type::integer: return "an integer";
	case toml::node_type::floating_point: return "a number";
	case toml::node_type::boolean: return "a boolean";
	case toml::node_type::table: return "a table";
	case toml::node_type::array: return "an array";
	default: return "a date or time";
	}
}

} // namespace

ConfigSection::ConfigSection(std::shared_ptr<const toml::table> root, const toml::table *table,
			     std::string file, std::string path)
	: root_(std::move(root)), table_(table), file_(std::move(file)), path_(std::move(path))
{
}

std::string ConfigSection::keyPath(std::string_view key) const
{
	if (path_.empty())
		return std::string(key);
	if (key.empty())
		return path_;
	return path_ + "." + std::string(key);
}

std::string ConfigSection::where(std::string_view key) const
{
	const toml::node *node = key.empty() ? table_ : table_->get(key);
	std::string at = file_;
	if (node && node->source().begin.line > 0)
		at += fmt::format(":{}", node->source().begin.line);
	std::string name = keyPath(key);
	return name.empty() ? at : at + ": " + name;
}

void ConfigSection::fail(std::string_view key, const std::string &message) const
{
	throw Error(Errc::Failure, where(key) + ": " + message);
}

std::optional<std::string> ConfigSection::string(std::string_view key) const
{
	read_.emplace(key);
	const toml::node *node = table_->get(key);
	if (!node)
		return std::nullopt;
	if (!node->is_string())
		fail(key, fmt::format("expected a string, found {}", typeName(node->type())));
	return node->as_string()->get();
}

std::string ConfigSection::string(std::string_view key, const std::string &fallback) const
{
	return string(key).value_or(fallback);
}

std::optional<std::int64_t> ConfigSection::integer(std::string_view key, std::int64_t min, std::int64_t max) const
{
	read_.emplace(key);
	const toml::node *node = table_->get(key);
	if (!node)
		return std::nullopt;
	if (!node->is_integer())
		fail(key, fmt::format("expected an integer, found {}", typeName(node->type())));
	std::int64_t v = node->as_integer()->get();
	if (v < min || v > max)
		fail(key, fmt::format("{} is out of range; use {} to {}", v, min, max));
	return v;
}

std::int64_t ConfigSection::integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const
{
	return integer(key, min, max).value_or(fallback);
}

bool ConfigSection::boolean(std::string_view key, bool fallback) const
{
	read_.emplace(key);
	const toml::node *node = table_->get(key);
	if (!node)
		return fallback;
	if (!node->is_boolean())
		fail(key, fmt::format("expected true or false, found {}", typeName(node->type())));
	return node->as_boolean()->get();
}

const toml::array *ConfigSection::array(std::string_view key, std::string_view expected) const
{
	read_.emplace(key);
	const toml::node *node = table_->get(key);
	if (!node)
		return nullptr;
	const toml::array *arr = node->as_array();
	if (!arr)
		fail(key, fmt::format("expected {}, found {}", expected, typeName(node->type())));
	return arr;
}

std::optional<std::vector<std::string>> ConfigSection::strings(std::string_view key) const
{
	const toml::array *arr = array(key, "an array of strings");
	if (!arr)
		return std::nullopt;
	std::vector<std::string> out;
	for (const toml::node &item : *arr) {
		if (!item.is_string())
			fail(key, fmt::format("expected an array of strings, found {} in it", typeName(item.type())));
		out.push_back(item.as_string()->get());
	}
	return out;
}

std::optional<std::vector<std::int64_t>> ConfigSection::integers(std::string_view key, std::int64_t min,
								   std::int64_t max) const
{
	const toml::array *arr = array(key, "an array of integers");
	if (!arr)
		return std::nullopt;
	std::vector<std::int64_t> out;
	for (const toml::node &item : *arr) {
		if (!item.is_integer())
			fail(key, fmt::format("expected an array of integers, found {} in it", typeName(item.type())));
		std::int64_t v = item.as_integer()->get();
		if (v < min || v > max)
			fail(key, fmt::format("{} is out of range; use {} to {}", v, min, max));
		out.push_back(v);
	}
	return out;
}

std::optional<ConfigSection> ConfigSection::table(std::string_view key) const
{
	read_.emplace(key);
	const toml::node *node = table_->get(key);
	if (!node)
		return std::nullopt;
	if (!node->is_table())
		fail(key, fmt::format("expected a table [{}], found {}", keyPath(key), typeName(node->type())));
	return ConfigSection(root_, node->as_table(), file_, keyPath(key));
}

std::vector<ConfigSection> ConfigSection::tables(std::string_view key) const
{
	read_.emplace(key);
	std::vector<ConfigSection> out;
	const toml::node *node = table_->get(key);
	if (!node)
		return out;
	const toml::array *arr = node->as_array();
	if (!arr || !arr->is_array_of_tables())
		fail(key, fmt::format("expected tables [[{}]]", keyPath(key)));
	std::size_t i = 0;
	for (const toml::node &item : *arr)
		out.push_back(ConfigSection(root_, item.as_table(), file_, fmt::format("{}[{}]", keyPath(key), i++)));
	return out;
}

void ConfigSection::finish() const
{
	for (const auto &[key, node] : *table_) {
		if (!read_.count(key.str()))
			fail(key.str(), "unknown key; check its spelling against the documentation");
	}
}

ConfigFile ConfigFile::parse(std::string_view text, const std::string &file)
{
	try {
		auto root = std::make_shared<const toml::table>(toml::parse(text, file));
		const toml::table *table = root.get();
		return ConfigFile(ConfigSection(std::move(root), table, file, ""));
	} catch (const toml::parse_error &e) {
		throw Error(Errc::Failure, fmt::format("{}:{}:{}: {}", file, e.source().begin.line,
							   e.source().begin.column, e.description()));
	}
}

ConfigFile ConfigFile::load(const std::string &file)
{
	std::ifstream in(file, std::ios::binary);
	if (!in)
		throw Error(Errc::Failure, fmt::format("{}: cannot read the config file: {}", file,
							   std::strerror(errno)));
	std::ostringstream text;
	text << in.rdbuf();
	return parse(text.str(), file);
}

} // namespace hac
