// Unit tests of the "did you mean" suggestions (tools/common/suggest.cpp).
#include <doctest/doctest.h>

#include "common/suggest.hpp"

using namespace hac;

namespace {

const std::vector<std::string> kSkus = {"Small.16GB", "Medium.32GB", "Large.48GB", "Large.64GB",
					"xLarge.96GB", "2xLarge.192GB", "3xLarge.288GB"};

} // namespace

TEST_CASE("a typo gets the nearest name, whatever its case")
{
	CHECK(nearestNames("2xlrage.192gb", kSkus) == std::vector<std::string>{"2xLarge.192GB"});
	CHECK(nearestNames("Small.64GB", kSkus) == std::vector<std::string>{"Small.16GB"});
	CHECK(nearestNames("LARGE.64GB", kSkus) == std::vector<std::string>{"Large.64GB"});
	CHECK(nearestNames("memory.totl", {"index", "memory.total", "memory.used"}) ==
	      std::vector<std::string>{"memory.total"});
}

TEST_CASE("names as near as each other are all offered; a wild guess gets none")
{
	CHECK(nearestNames("Large.58GB", kSkus) == std::vector<std::string>{"Large.48GB"});
	CHECK(nearestNames("Large.4GB", kSkus) == std::vector<std::string>{"Large.48GB", "Large.64GB"});
	CHECK(nearestNames("banana", kSkus).empty());
	CHECK(nearestNames("", kSkus).empty());
	CHECK(didYouMean("banana", kSkus).empty());
}

TEST_CASE("didYouMean quotes the names")
{
	CHECK(didYouMean("swich", {"list", "add", "rm", "switch"}) == " (did you mean 'switch'?)");
	CHECK(didYouMean("Large.4GB", kSkus) == " (did you mean 'Large.48GB' or 'Large.64GB'?)");
}
