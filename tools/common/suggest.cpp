// Optimal string alignment distance: the Damerau-Levenshtein distance without moves across
// edited letters, enough for typos such as "2xlrage".
#include "suggest.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "text_case.hpp"

namespace hac {

namespace {

std::size_t distance(const std::string &a, const std::string &b)
{
	const std::size_t n = a.size(), m = b.size();
	std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
	for (std::size_t i = 0; i <= n; ++i)
		d[i][0] = i;
	for (std::size_t j = 0; j <= m; ++j)
		d[0][j] = j;
	for (std::size_t i = 1; i <= n; ++i)
		for (std::size_t j = 1; j <= m; ++j) {
			std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
		}
	return d[n][m];
}

} // namespace

std::vector<std::string> nearestNames(std::string_view typed, const std::vector<std::string> &known)
{
	const std::string want = tools::lower(typed);
	if (want.empty())
		return {};
	std::size_t best = std::max<std::size_t>(1, (want.size() + 2) / 3);
	std::vector<std::string> out;
	for (const std::string &name : known) {
		std::size_t d = distance(want, tools::lower(name));
		if (d > best)
			continue;
		if (d < best) {
			best = d;
			out.clear();
		}
		if (std::find(out.begin(), out.end(), name) == out.end())
			out.push_back(name);
	}
	return out;
}

std::string didYouMean(std::string_view typed, const std::vector<std::string> &known)
{
	return didYouMean(nearestNames(typed, known));
}

std::string didYouMean(const std::vector<std::string> &near)
{
	if (near.empty())
		return {};
	std::string list;
	for (std::size_t i = 0; i < near.size(); ++i)
		list += fmt::format("{}'{}'", i == 0 ? "" : i + 1 == near.size() ? " or " : ", ", near[i]);
	return fmt::format(" (did you mean {}?)", list);
}

} // namespace hac
