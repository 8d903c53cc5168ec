// What a tool prints on stdout, in one place: the text as it is, or with --json the document
// instead, and the check at the end that every byte was written.
#pragma once

#include <string>
#include <string_view>

#include <hac/json.hpp>

namespace hac::tools {

// Writes `text` to stdout as it is (a table may hold braces, so it is no format string). A failed
// write marks stdout; finishOutput reports it, so a call here needs no check of its own.
void print(std::string_view text);
// The JSON document every tool prints with --json: pretty, one value, a newline at the end.
void printJson(const Json &doc);
// With --json the document, else the text a person reads. A caller that cannot build both (the
// text needs fields a JSON reply may lack) chooses itself between printJson and print.
void report(bool json, const Json &doc, std::string_view text);

// Flushes stdout and returns `code`, or, when some output could not be written (a full disk, say),
// says so on stderr as "TOOL: cannot write the output: REASON" and returns 1 instead of a 0. The
// flush is done here and not at exit, where a write error would go unnoticed.
int finishOutput(const std::string &tool, int code);

} // namespace hac::tools
