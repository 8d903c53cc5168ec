// Unit tests of table, CSV, --query/--format and JSON rendering (tools/common/render.cpp).
#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <stdexcept>

#include <hac/error.hpp>

#include "common/render.hpp"

using namespace hac;

namespace {

std::vector<std::string> lines(const std::string &text)
{
	std::vector<std::string> out;
	std::size_t start = 0;
	for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
		out.push_back(text.substr(start, nl - start));
	CHECK(start == text.size()); // every line ends in "\n"
	return out;
}

std::optional<Errc> codeOf(const std::function<void()> &f)
{
	try {
		f();
	} catch (const Error &e) {
		return e.code();
	}
	return std::nullopt;
}

std::string messageOf(const std::function<void()> &f)
{
	try {
		f();
	} catch (const Error &e) {
		return e.what();
	}
	return {};
}

const std::vector<QueryField> kFields = {
	{"index", "", "the index"},
	{"name", "", "the name"},
	{"memory.total", "MiB", "total memory"},
	{"utilization", "%", "utilization"},
};

} // namespace

TEST_CASE("displayWidth counts terminal columns, not bytes")
{
	CHECK(displayWidth("") == 0);
	CHECK(displayWidth("Large.64GB") == 10);
	CHECK(displayWidth("caf\xc3\xa9") == 4);             // é: 2 bytes, 1 column
	CHECK(displayWidth("\xe6\xb7\xb1\xe5\xba\xa6") == 4); // 深度: wide, 2 columns each
	CHECK(displayWidth("e\xcc\x81") == 1);               // e + combining acute accent
	CHECK(displayWidth("\xff\xfe") == 2);                // invalid bytes count one each
}

TEST_CASE("truncateText cuts by columns and ends in an ellipsis")
{
	CHECK(truncateText("short", 10) == "short");
	CHECK(truncateText("exactly10!", 10) == "exactly10!");
	CHECK(truncateText("python3 train.py --epochs 3", 12) == "python3 t...");
	CHECK(displayWidth(truncateText("\xe6\xb7\xb1\xe5\xba\xa6\xe5\xad\xa6\xe4\xb9\xa0", 6)) <= 6);
	CHECK(truncateText("abcdef", 2) == "ab"); // no room for "..."
	// Never splits a UTF-8 sequence.
	CHECK(truncateText("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4) == "\xc3\xa9...");
}

TEST_CASE("sanitizeCell keeps text printable")
{
	CHECK(sanitizeCell("plain text") == "plain text");
	CHECK(sanitizeCell("a\tb\nc\rd") == "a b c d");
	CHECK(sanitizeCell("\x1b[31mred") == "?[31mred"); // no escape sequences reach the terminal
	CHECK(sanitizeCell("bad\xffutf8") == "bad?utf8");
	CHECK(sanitizeCell("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("Table renders a box with aligned columns")
{
	Table t({{"Device", Align::Left}, {"Memory", Align::Right}});
	t.addRow({"* 0", "65536 MiB"});
	t.addRow({"  1", "-"});
	std::string out = t.render();
	CHECK(out ==
	      "+--------+-----------+\n"
	      "| Device |    Memory |\n"
	      "+========+===========+\n"
	      "| * 0    | 65536 MiB |\n"
	      "|   1    |         - |\n"
	      "+--------+-----------+\n");
	CHECK(t.width() == 22);
	CHECK(t.rowCount() == 2);
}

TEST_CASE("Table columns grow with wide values and every line has the same width")
{
	Table t({{"Name"}, {"Model"}});
	std::string wide(120, 'x');
	t.addRow({wide, "Large.64GB"});
	t.addRow({"\xe6\xb7\xb1\xe5\xba\xa6", ""}); // wide characters and an empty value
	std::string out = t.render();
	CHECK(out.find(wide) != std::string::npos); // not truncated: no maxWidth
	for (const std::string &l : lines(out))
		CHECK(displayWidth(l) == t.width());
}

TEST_CASE("Table truncates only columns given a maxWidth")
{
	Table t({{"PID", Align::Right}, {"Process", Align::Left, 20}});
	t.addRow({"42", "python3 tutorial/train.py --config configs/very-long.yaml"});
	std::string out = t.render();
	CHECK(out.find("| python3 tutorial/... |") != std::string::npos);
	for (const std::string &l : lines(out))
		CHECK(displayWidth(l) == t.width());
}

TEST_CASE("a column is never narrower than its header, even with a smaller maxWidth")
{
	Table t({{"Process", Align::Left, 4}});
	t.addRow({"python3 train.py"});
	CHECK(t.render().find("| pyth... |") != std::string::npos);
}

TEST_CASE("an empty table has its header and no body")
{
	Table t({{"Device"}, {"Name"}});
	CHECK(t.render() ==
	      "+--------+------+\n"
	      "| Device | Name |\n"
	      "+--------+------+\n");
	CHECK(t.rowCount() == 0);
}

TEST_CASE("Table rejects a row with the wrong number of cells")
{
	Table t({{"a"}, {"b"}});
	CHECK_THROWS_AS(t.addRow({"1"}), std::invalid_argument);
	CHECK_THROWS_AS(t.addRow({"1", "2", "3"}), std::invalid_argument);
}

TEST_CASE("Table sanitises cells so a command cannot break the layout")
{
	Table t({{"Process"}});
	t.addRow({"evil\ncommand\x1b[2J"});
	std::vector<std::string> ls = lines(t.render());
	REQUIRE(ls.size() == 5);
	CHECK(ls[3] == "| evil command?[2J |");
}

TEST_CASE("renderBox lines up with a table and grows for long text")
{
	CHECK(renderBox({"v1"}, 12, Align::Right) ==
	      "+----------+\n"
	      "|       v1 |\n"
	      "+----------+\n");
	std::string box = renderBox({"a much longer line"}, 10, Align::Left);
	CHECK(box.find("| a much longer line |") != std::string::npos);
}

TEST_CASE("csvField quotes what RFC 4180 requires")
{
	CHECK(csvField("plain") == "plain");
	CHECK(csvField("") == "");
	CHECK(csvField("two words") == "two words");
	CHECK(csvField("a,b") == "\"a,b\"");
	CHECK(csvField("say \"hi\"") == "\"say \"\"hi\"\"\"");
	CHECK(csvField("line\nbreak") == "\"line\nbreak\"");
	CHECK(csvField("cr\rhere") == "\"cr\rhere\"");
	CHECK(csvField(" padded") == "\" padded\"");
	CHECK(csvField("padded ") == "\"padded \"");
}

TEST_CASE("csvRow joins fields and ends the record")
{
	CHECK(csvRow({"0", "Large.64GB", "65536"}) == "0,Large.64GB,65536\n");
	CHECK(csvRow({"0", "a, b"}, ", ") == "0, \"a, b\"\n");
	CHECK(csvRow({}) == "\n");
}

TEST_CASE("parseCsvFormat reads nvidia-smi's --format flags")
{
	CsvFormat plain = parseCsvFormat("csv");
	CHECK(plain.header);
	CHECK(plain.units);
	CsvFormat both = parseCsvFormat("csv,noheader,nounits");
	CHECK_FALSE(both.header);
	CHECK_FALSE(both.units);
	CsvFormat spaced = parseCsvFormat("csv, nounits");
	CHECK(spaced.header);
	CHECK_FALSE(spaced.units);
	CHECK(codeOf([] { parseCsvFormat("xml"); }) == Errc::Usage);
	CHECK(codeOf([] { parseCsvFormat("noheader"); }) == Errc::Usage); // csv is required
	CHECK(codeOf([] { parseCsvFormat("csv,noheaders"); }) == Errc::Usage);
	CHECK(messageOf([] { parseCsvFormat("csv,bogus"); }).find("'bogus'") != std::string::npos);
}

TEST_CASE("Query selects fields in the order asked for")
{
	Query q("memory.total,index, name,index", kFields, {});
	CHECK(q.selected() == std::vector<std::size_t>{2, 0, 1, 0});
}

TEST_CASE("Query rejects an unknown field, naming it and the valid ones")
{
	std::string message = messageOf([] { Query("index,bogus", kFields, {}); });
	CHECK(message.find("'bogus'") != std::string::npos);
	CHECK(message.find("index, name, memory.total, utilization") != std::string::npos);
	CHECK(codeOf([] { Query("index,bogus", kFields, {}); }) == Errc::Usage);
	CHECK(codeOf([] { Query("", kFields, {}); }) == Errc::Usage);
	CHECK(codeOf([] { Query("index,,name", kFields, {}); }) == Errc::Usage);
	CHECK(codeOf([] { Query("Index", kFields, {}); }) == Errc::Usage); // names are exact
}

TEST_CASE("Query prints nvidia-smi style CSV with units")
{
	Query q("index,memory.total,utilization", kFields, parseCsvFormat("csv"));
	CHECK(q.wantsHeader());
	CHECK(q.header() == "index, memory.total [MiB], utilization [%]\n");
	CHECK(q.row({"0", "65536", "87"}) == "0, 65536 MiB, 87 %\n");
	CHECK(q.row({"1", "65536", std::nullopt}) == "1, 65536 MiB, [N/A]\n");
}

TEST_CASE("nounits drops units from values but the header keeps them")
{
	Query q("index,memory.total", kFields, parseCsvFormat("csv,noheader,nounits"));
	CHECK_FALSE(q.wantsHeader());
	CHECK(q.header() == "index, memory.total [MiB]\n");
	CHECK(q.row({"0", "65536"}) == "0, 65536\n");
	CHECK(q.row({"0", std::nullopt}) == "0, [N/A]\n");
}

TEST_CASE("Query quotes values with commas and quotes")
{
	Query q("index,name", kFields, {});
	CHECK(q.row({"1", "Accelerator, \"big\""}) == "1, \"Accelerator, \"\"big\"\"\"\n");
	CHECK_THROWS_AS(q.row({"1"}), std::invalid_argument);
}

TEST_CASE("queryHelp lists every field with its unit")
{
	std::string help = queryHelp(kFields);
	CHECK(help.find("memory.total [MiB]") != std::string::npos);
	CHECK(help.find("total memory") != std::string::npos);
	CHECK(lines(help).size() == kFields.size());
}

TEST_CASE("renderJson writes one line or an indented document, and survives invalid UTF-8")
{
	Json doc = {{"schema_version", 1}, {"name", "a"}};
	CHECK(renderJson(doc, JsonStyle::Line) == "{\"name\":\"a\",\"schema_version\":1}\n");
	CHECK(renderJson(doc, JsonStyle::Pretty) == "{\n  \"name\": \"a\",\n  \"schema_version\": 1\n}\n");
	Json bad = {{"command", std::string("bad\xff")}};
	CHECK(renderJson(bad, JsonStyle::Line) == "{\"command\":\"bad\xef\xbf\xbd\"}\n");
}
