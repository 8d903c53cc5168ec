// "Did you mean ...?": the names nearest to one a user mistyped, for sizes, verbs and --query fields.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hac {

// The names of `known` closest to `typed` by edit distance (insertions, deletions, substitutions
// and swaps of neighbours, ignoring case), best first; none when even the closest differs in more
// than about a third of its letters, so a wild guess gets the full list instead of a wrong hint.
std::vector<std::string> nearestNames(std::string_view typed, const std::vector<std::string> &known);

// " (did you mean 'X'?)" or " (did you mean 'X' or 'Y'?)", or "" when nothing is near.
std::string didYouMean(std::string_view typed, const std::vector<std::string> &known);
// The same for names already chosen.
std::string didYouMean(const std::vector<std::string> &near);

} // namespace hac
