// stdout for every tool. The writes are checked once, in finishOutput: stdio keeps a write error
// on the stream until then, so a check after each write would only repeat it.
#include "output.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <hac/exit_code.hpp>

#include "render.hpp"

namespace hac::tools {

void print(std::string_view text)
{
	std::fwrite(text.data(), 1, text.size(), stdout);
}

void printJson(const Json &doc)
{
	print(renderJson(doc, JsonStyle::Pretty));
}

void report(bool json, const Json &doc, std::string_view text)
{
	if (json)
		printJson(doc);
	else
		print(text);
}

int finishOutput(const std::string &tool, int code)
{
	if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
		std::fprintf(stderr, "%s: cannot write the output: %s\n", tool.c_str(), std::strerror(errno));
		return code == 0 ? toInt(ExitCode::Failure) : code;
	}
	return code;
}

} // namespace hac::tools
