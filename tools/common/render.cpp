// Rendering of tables, CSV, --query output and JSON. Widths are terminal columns, not bytes, so
// names in any script line up; text from other users' processes is sanitised before it reaches a
// terminal, so a command line cannot carry escape sequences into it.
#include "render.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/core.h>

#include <hac/error.hpp>
#include "suggest.hpp"

namespace hac {

namespace {

struct CodePoint {
	char32_t value = 0;
	std::size_t length = 1; // bytes taken, 1 for an invalid byte
	bool valid = false;
};

// Strict UTF-8: overlong forms, surrogates and values past U+10FFFF are invalid.
CodePoint decodeUtf8(std::string_view s, std::size_t pos)
{
	const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
	unsigned char lead = byte(pos);
	if (lead < 0x80)
		return {lead, 1, true};
	std::size_t length;
	char32_t value;
	char32_t min;
	if ((lead & 0xE0) == 0xC0) {
		length = 2, value = lead & 0x1F, min = 0x80;
	} else if ((lead & 0xF0) == 0xE0) {
		length = 3, value = lead & 0x0F, min = 0x800;
	} else if ((lead & 0xF8) == 0xF0) {
		length = 4, value = lead & 0x07, min = 0x10000;
	} else {
		return {};
	}
	if (pos + length > s.size())
		return {};
	for (std::size_t i = 1; i < length; ++i) {
		unsigned char c = byte(pos + i);
		if ((c & 0xC0) != 0x80)
			return {};
		value = (value << 6) | (c & 0x3F);
	}
	if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
		return {};
	return {value, length, true};
}

bool inRange(char32_t c, char32_t first, char32_t last)
{
	return c >= first && c <= last;
}

// A small wcwidth(): wcwidth() itself depends on the locale, and tools do not call setlocale().
std::size_t codePointWidth(char32_t c)
{
	if (inRange(c, 0x0300, 0x036F) || inRange(c, 0x1AB0, 0x1AFF) || inRange(c, 0x1DC0, 0x1DFF) ||
	    inRange(c, 0x200B, 0x200F) || inRange(c, 0x20D0, 0x20FF) || inRange(c, 0xFE00, 0xFE0F) ||
	    inRange(c, 0xFE20, 0xFE2F))
		return 0;
	if (inRange(c, 0x1100, 0x115F) || inRange(c, 0x2E80, 0x303E) || inRange(c, 0x3041, 0x33FF) ||
	    inRange(c, 0x3400, 0x4DBF) || inRange(c, 0x4E00, 0x9FFF) || inRange(c, 0xA000, 0xA4CF) ||
	    inRange(c, 0xAC00, 0xD7A3) || inRange(c, 0xF900, 0xFAFF) || inRange(c, 0xFE30, 0xFE4F) ||
	    inRange(c, 0xFF00, 0xFF60) || inRange(c, 0xFFE0, 0xFFE6) || inRange(c, 0x1F300, 0x1F64F) ||
	    inRange(c, 0x1F900, 0x1F9FF) || inRange(c, 0x20000, 0x3FFFD))
		return 2;
	return 1;
}

std::string pad(std::string_view text, std::size_t width, Align align)
{
	std::size_t used = displayWidth(text);
	std::string fill(width > used ? width - used : 0, ' ');
	return align == Align::Left ? std::string(text) + fill : fill + std::string(text);
}

std::string rule(const std::vector<std::size_t> &widths, char line)
{
	std::string out = "+";
	for (std::size_t w : widths) {
		out.append(w + 2, line);
		out += '+';
	}
	return out + "\n";
}

std::string_view trim(std::string_view s)
{
	while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
		s.remove_prefix(1);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
		s.remove_suffix(1);
	return s;
}

std::vector<std::string_view> splitCommas(std::string_view s)
{
	std::vector<std::string_view> parts;
	for (;;) {
		std::size_t comma = s.find(',');
		parts.push_back(trim(s.substr(0, comma)));
		if (comma == std::string_view::npos)
			return parts;
		s.remove_prefix(comma + 1);
	}
}

std::string fieldNames(const std::vector<QueryField> &fields)
{
	std::string names;
	for (const QueryField &f : fields)
		names += (names.empty() ? "" : ", ") + f.name;
	return names;
}

} // namespace

std::size_t displayWidth(std::string_view text)
{
	std::size_t width = 0;
	for (std::size_t pos = 0; pos < text.size();) {
		CodePoint cp = decodeUtf8(text, pos);
		width += cp.valid ? codePointWidth(cp.value) : 1;
		pos += cp.length;
	}
	return width;
}

std::string truncateText(std::string_view text, std::size_t width)
{
	if (displayWidth(text) <= width)
		return std::string(text);
	const std::string_view ellipsis = "...";
	std::size_t room = width > ellipsis.size() ? width - ellipsis.size() : width;
	std::string out;
	std::size_t used = 0;
	for (std::size_t pos = 0; pos < text.size();) {
		CodePoint cp = decodeUtf8(text, pos);
		std::size_t w = cp.valid ? codePointWidth(cp.value) : 1;
		if (used + w > room)
			break;
		out.append(text.substr(pos, cp.length));
		used += w;
		pos += cp.length;
	}
	if (width > ellipsis.size())
		out += ellipsis;
	return out;
}

std::string sanitizeCell(std::string_view text)
{
	std::string out;
	out.reserve(text.size());
	for (std::size_t pos = 0; pos < text.size();) {
		CodePoint cp = decodeUtf8(text, pos);
		if (!cp.valid)
			out += '?';
		else if (cp.value == '\t' || cp.value == '\n' || cp.value == '\r')
			out += ' ';
		else if (cp.value < 0x20 || inRange(cp.value, 0x7F, 0x9F))
			out += '?';
		else
			out.append(text.substr(pos, cp.length));
		pos += cp.length;
	}
	return out;
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns))
{
	for (Column &c : columns_)
		c.header = sanitizeCell(c.header);
}

void Table::addRow(std::vector<std::string> cells)
{
	if (cells.size() != columns_.size())
		throw std::invalid_argument(fmt::format("table row has {} cells for {} columns", cells.size(),
							columns_.size()));
	for (std::string &cell : cells)
		cell = sanitizeCell(cell);
	rows_.push_back(std::move(cells));
}

std::vector<std::size_t> Table::columnWidths() const
{
	std::vector<std::size_t> widths;
	for (std::size_t i = 0; i < columns_.size(); ++i) {
		std::size_t widest = 0;
		for (const auto &row : rows_)
			widest = std::max(widest, displayWidth(row[i]));
		if (columns_[i].maxWidth > 0)
			widest = std::min(widest, columns_[i].maxWidth);
		widths.push_back(std::max(widest, displayWidth(columns_[i].header)));
	}
	return widths;
}

std::size_t Table::width() const
{
	std::size_t width = 1;
	for (std::size_t w : columnWidths())
		width += w + 3;
	return width;
}

std::string Table::render() const
{
	std::vector<std::size_t> widths = columnWidths();
	const auto line = [&](const auto &cellText, const auto &alignOf) {
		std::string out = "|";
		for (std::size_t i = 0; i < widths.size(); ++i)
			out += " " + pad(truncateText(cellText(i), widths[i]), widths[i], alignOf(i)) + " |";
		return out + "\n";
	};
	const auto columnAlign = [&](std::size_t i) { return columns_[i].align; };

	std::string out = rule(widths, '-');
	out += line([&](std::size_t i) -> const std::string & { return columns_[i].header; }, columnAlign);
	if (rows_.empty())
		return out + rule(widths, '-');
	out += rule(widths, '=');
	for (const auto &row : rows_)
		out += line([&](std::size_t i) -> const std::string & { return row[i]; }, columnAlign);
	return out + rule(widths, '-');
}

std::string renderBox(const std::vector<std::string> &lines, std::size_t width, Align align)
{
	std::vector<std::string> clean;
	std::size_t inner = width > 4 ? width - 4 : 0;
	for (const std::string &l : lines) {
		clean.push_back(sanitizeCell(l));
		inner = std::max(inner, displayWidth(clean.back()));
	}
	std::string border = "+" + std::string(inner + 2, '-') + "+\n";
	std::string out = border;
	for (const std::string &l : clean)
		out += "| " + pad(l, inner, align) + " |\n";
	return out + border;
}

std::string csvField(std::string_view value)
{
	bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos ||
		     (!value.empty() && (value.front() == ' ' || value.front() == '\t' ||
					 value.back() == ' ' || value.back() == '\t'));
	if (!quote)
		return std::string(value);
	std::string out = "\"";
	for (char c : value) {
		if (c == '"')
			out += '"';
		out += c;
	}
	return out + "\"";
}

std::string csvRow(const std::vector<std::string> &fields, std::string_view separator)
{
	std::string out;
	for (std::size_t i = 0; i < fields.size(); ++i) {
		if (i > 0)
			out += separator;
		out += csvField(fields[i]);
	}
	return out + "\n";
}

CsvFormat parseCsvFormat(std::string_view spec)
{
	CsvFormat format;
	bool csv = false;
	for (std::string_view part : splitCommas(spec)) {
		if (part == "csv")
			csv = true;
		else if (part == "noheader")
			format.header = false;
		else if (part == "nounits")
			format.units = false;
		else
			throw Error(Errc::Usage,
				    fmt::format("unknown --format '{}': use csv, optionally with noheader and nounits "
						"(e.g. --format csv,noheader,nounits)", part));
	}
	if (!csv)
		throw Error(Errc::Usage, fmt::format("--format '{}' lacks 'csv': use csv, optionally with noheader "
							 "and nounits (e.g. --format csv,noheader)", spec));
	return format;
}

Query::Query(std::string_view fieldList, const std::vector<QueryField> &offered, CsvFormat format)
	: format_(format)
{
	for (std::string_view name : splitCommas(fieldList)) {
		if (name.empty())
			throw Error(Errc::Usage, fmt::format("--query '{}' has an empty field name; valid fields: {}",
								 fieldList, fieldNames(offered)));
		auto it = std::find_if(offered.begin(), offered.end(),
				       [&](const QueryField &f) { return f.name == name; });
		if (it == offered.end()) {
			std::vector<std::string> names;
			for (const QueryField &f : offered)
				names.push_back(f.name);
			throw Error(Errc::Usage, fmt::format("unknown --query field '{}'{}; valid fields: {} "
								 "(see --help-query)", name, didYouMean(name, names),
								 fieldNames(offered)));
		}
		selected_.push_back(static_cast<std::size_t>(it - offered.begin()));
		fields_.push_back(*it);
	}
}

std::string Query::header() const
{
	std::vector<std::string> names;
	for (const QueryField &f : fields_)
		names.push_back(f.unit.empty() ? f.name : fmt::format("{} [{}]", f.name, f.unit));
	return csvRow(names, ", ");
}

std::string Query::row(const std::vector<std::optional<std::string>> &values) const
{
	if (values.size() != fields_.size())
		throw std::invalid_argument(fmt::format("query row has {} values for {} fields", values.size(),
							fields_.size()));
	std::vector<std::string> cells;
	for (std::size_t i = 0; i < values.size(); ++i) {
		if (!values[i])
			cells.push_back(kNotAvailable);
		else if (format_.units && !fields_[i].unit.empty())
			cells.push_back(fmt::format("{} {}", *values[i], fields_[i].unit));
		else
			cells.push_back(*values[i]);
	}
	return csvRow(cells, ", ");
}

std::string queryHelp(const std::vector<QueryField> &offered)
{
	std::vector<std::string> names;
	std::size_t widest = 0;
	for (const QueryField &f : offered) {
		names.push_back(f.unit.empty() ? f.name : fmt::format("{} [{}]", f.name, f.unit));
		widest = std::max(widest, names.back().size());
	}
	std::string out;
	for (std::size_t i = 0; i < offered.size(); ++i)
		out += fmt::format("  {:<{}}  {}\n", names[i], widest, offered[i].help);
	return out;
}

std::string renderJson(const Json &document, JsonStyle style)
{
	return document.dump(style == JsonStyle::Pretty ? 2 : -1, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace hac
