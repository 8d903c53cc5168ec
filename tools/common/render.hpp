// Output for people and scripts: boxed tables, CSV, nvidia-smi style --query/--format, and JSON lines.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hac/json.hpp>

namespace hac {

enum class Align { Left, Right };

// Terminal columns `text` takes: code points, East Asian wide ones counting two, combining ones none.
std::size_t displayWidth(std::string_view text);

// `text` fit into `width` columns; a longer text is cut and ends in "...".
std::string truncateText(std::string_view text, std::size_t width);

// `text` made safe for one table cell: control characters and invalid UTF-8 become visible stand-ins.
std::string sanitizeCell(std::string_view text);

struct Column {
	std::string header;
	Align align = Align::Left;
	std::size_t maxWidth = 0; // 0: as wide as its widest cell; else longer cells are truncated
};

// A boxed table for people. Columns grow to fit their cells; only a column given a maxWidth truncates.
class Table {
public:
	explicit Table(std::vector<Column> columns);

	// Throws std::invalid_argument when the row does not have one cell per column.
	void addRow(std::vector<std::string> cells);

	std::size_t rowCount() const { return rows_.size(); }
	// The width of every line render() writes, so other boxes can line up with the table.
	std::size_t width() const;
	std::string render() const;

private:
	std::vector<std::size_t> columnWidths() const;

	std::vector<Column> columns_;
	std::vector<std::vector<std::string>> rows_;
};

// Lines in a one-column box at least `width` wide, e.g. a header above a Table.
std::string renderBox(const std::vector<std::string> &lines, std::size_t width, Align align);

// RFC 4180 quoting: a field with the separator, a quote, a line break or edge spaces is quoted.
std::string csvField(std::string_view value);
// One CSV record, ending in "\n".
std::string csvRow(const std::vector<std::string> &fields, std::string_view separator = ",");

// A field a tool offers to --query: its name, the unit its values carry ("MiB", "%" or none) and
// what --help-query says of it.
struct QueryField {
	std::string name;
	std::string unit;
	std::string help;
};

// What --query prints for a value that does not exist (e.g. memory.used while no job runs), as nvidia-smi.
constexpr const char *kNotAvailable = "[N/A]";

// --format as nvidia-smi spells it: "csv", then any of "noheader" and "nounits".
struct CsvFormat {
	bool header = true;
	bool units = true;
};
// Throws hac::Error(Usage) for anything else.
CsvFormat parseCsvFormat(std::string_view spec);

// --query FIELD,... checked against the fields a tool offers, and the CSV it prints.
class Query {
public:
	// Throws hac::Error(Usage) naming an unknown field and listing the valid ones.
	Query(std::string_view fieldList, const std::vector<QueryField> &offered, CsvFormat format);

	// Indexes into `offered` in the order asked for; a field may be asked for twice.
	const std::vector<std::size_t> &selected() const { return selected_; }
	bool wantsHeader() const { return format_.header; }
	// "index, memory.total [MiB]\n": the unit stays in the header with nounits, as in nvidia-smi.
	std::string header() const;
	// One value per selected field; an empty one prints as kNotAvailable. Throws std::invalid_argument
	// when the count does not match.
	std::string row(const std::vector<std::optional<std::string>> &values) const;

private:
	std::vector<QueryField> fields_; // the selected ones
	std::vector<std::size_t> selected_;
	CsvFormat format_;
};

// The text of --help-query: every field with its unit and help.
std::string queryHelp(const std::vector<QueryField> &offered);

enum class JsonStyle {
	Pretty, // indented, for one document
	Line,   // one compact line, for a stream of documents
};
// The document followed by "\n". Invalid UTF-8 in strings (a process name, say) becomes U+FFFD
// instead of an exception.
std::string renderJson(const Json &document, JsonStyle style);

} // namespace hac
