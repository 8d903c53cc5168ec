// Unit tests of release versions and names: dotted comparison, PEP 503 names, wheel file names.
#include <doctest/doctest.h>

#include <stdexcept>

#include <release/version.hpp>

using namespace hac::release;

TEST_CASE("framework versions compare number by number")
{
	CHECK(compareVersions("24.5.0", "24.5.0") == 0);
	CHECK(compareVersions("24.5", "24.5.0") == 0);
	CHECK(compareVersions("24.5.0", "24.10.0") < 0);
	CHECK(compareVersions("25.0.0", "24.99.99") > 0);
	CHECK(compareVersions("0.1.0", "0.1.1") < 0);
	CHECK_THROWS_AS(compareVersions("24.5.0rc1", "24.5.0"), std::invalid_argument);
}

TEST_CASE("what is and is not a framework version")
{
	CHECK(isFrameworkVersion("24.5.0"));
	CHECK(isFrameworkVersion("1"));
	CHECK_FALSE(isFrameworkVersion(""));
	CHECK_FALSE(isFrameworkVersion("24..0"));
	CHECK_FALSE(isFrameworkVersion(".24"));
	CHECK_FALSE(isFrameworkVersion("24.5."));
	CHECK_FALSE(isFrameworkVersion("24.5.0-rc1"));
	CHECK_FALSE(isFrameworkVersion("-1.0"));
	CHECK_FALSE(isFrameworkVersion("1234567890.0"));
	CHECK_FALSE(isFrameworkVersion("1.2.3.4.5.6.7.8.9"));
	CHECK_FALSE(isFrameworkVersion("../24"));
}

TEST_CASE("the framework of a package version is its +hac local label")
{
	CHECK(frameworkOfVersion("2.1.0+hac24.5.0") == "24.5.0");
	CHECK(frameworkOfVersion("2.1.0") == "");
	CHECK(frameworkOfVersion("2.1.0+cu118") == "");
	CHECK(frameworkOfVersion("2.1.0+hac") == "");
	CHECK(frameworkOfVersion("2.1.0+hacx.y") == "");
}

TEST_CASE("names are normalized as pip does (PEP 503)")
{
	CHECK(normalizeName("Torch") == "torch");
	CHECK(normalizeName("hac_torch.Plugin") == "hac-torch-plugin");
	CHECK(normalizeName("a--_.b") == "a-b");
	CHECK(isPackageName("torch"));
	CHECK(isPackageName("hac_plugin-2"));
	CHECK_FALSE(isPackageName("-torch"));
	CHECK_FALSE(isPackageName("torch/../x"));
	CHECK_FALSE(isPackageName(""));
	CHECK(isPackageVersion("2.1.0+hac24.5.0"));
	CHECK(isPackageVersion("1!2.0.post1"));
	CHECK_FALSE(isPackageVersion("2.1 0"));
	CHECK_FALSE(isPackageVersion("+hac"));
}

TEST_CASE("wheel file names give the package and its version")
{
	auto w = parseWheelFilename("torch-2.1.0+hac24.5.0-py3-none-any.whl");
	REQUIRE(w);
	CHECK(w->name == "torch");
	CHECK(w->version == "2.1.0+hac24.5.0");
	auto b = parseWheelFilename("hac_plugin-1.0-1-cp311-cp311-linux_x86_64.whl");
	REQUIRE(b);
	CHECK(b->name == "hac_plugin");
	CHECK_FALSE(parseWheelFilename("torch-2.1.0.tar.gz"));
	CHECK_FALSE(parseWheelFilename("torch-2.1.0-py3-none.whl"));
	CHECK_FALSE(parseWheelFilename("../torch-2.1.0-py3-none-any.whl"));
	CHECK_FALSE(parseWheelFilename(".torch-2.1.0-py3-none-any.whl"));
	CHECK_FALSE(parseWheelFilename("torch--py3-none-any.whl"));
	CHECK(isPlainFileName("a.whl"));
	CHECK_FALSE(isPlainFileName("a/b.whl"));
	CHECK_FALSE(isPlainFileName(".."));
	CHECK_FALSE(isPlainFileName(std::string_view("a\0b", 3)));
}
