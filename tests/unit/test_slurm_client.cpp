// hac::slurm::Client's parts that need no Slurm: gres_detail parsing, the address forms, and no
// slurmrestd at all. The rest runs against a real farm: tests/slurm/slurm_client_test.cpp.
#include <doctest/doctest.h>

#include <chrono>

#include "config.hpp"
#include "slurm_client.hpp"

using namespace hac::slurm;
using Clock = std::chrono::steady_clock;

namespace {

template <typename F>
SlurmError failure(F &&f)
{
	try {
		f();
	} catch (const SlurmError &e) {
		return e;
	}
	FAIL("no SlurmError was thrown");
	throw;
}

} // namespace

TEST_CASE("gres_detail entries give GPU indexes; anything else is a BadAnswer naming the entry")
{
	CHECK(parseGresIndexes("hacgpu:3(IDX:0-2)", "hacgpu") == std::vector<int>{0, 1, 2});
	CHECK(parseGresIndexes("hacgpu:5(IDX:3-7)", "hacgpu") == std::vector<int>{3, 4, 5, 6, 7});
	CHECK(parseGresIndexes("hacgpu:4(IDX:0,2-3,7)", "hacgpu") == std::vector<int>{0, 2, 3, 7});
	CHECK(parseGresIndexes("hacgpu:a100:1(IDX:6)", "hacgpu") == std::vector<int>{6});
	for (const char *bad : {"hacgpu(CNT:6)", "gpu:3(IDX:0-2)", "hacgpux:1(IDX:0)", "hacgpu:2(IDX:3-1)",
				"hacgpu:2(IDX:a-b)", "hacgpu:1(IDX:)", ""}) {
		auto e = failure([&] { parseGresIndexes(bad, "hacgpu"); });
		CHECK(e.failure() == Failure::BadAnswer);
		CHECK(std::string(e.what()).find(std::string("\"") + bad + "\"") != std::string::npos);
	}
	CHECK(std::string(failure([] { parseGresIndexes("hacgpu(CNT:6)", "hacgpu"); }).what()).find("File=") !=
	      std::string::npos);
}

TEST_CASE("an address that is neither unix:/PATH nor http(s):// is refused, naming the forms")
{
	for (const char *url : {"unix:", "unix:relative.sock", "slurm:6820", ""}) {
		Endpoint endpoint;
		endpoint.url = url;
		try {
			Client client(endpoint);
			FAIL("accepted ", url);
		} catch (const hac::Error &e) {
			CHECK(e.code() == hac::Errc::Usage);
			CHECK(std::string(e.what()).find("unix:") != std::string::npos);
		}
	}
}

TEST_CASE("no slurmrestd at the socket: Unreachable at once, naming the address")
{
	Endpoint endpoint;
	endpoint.url = "unix:/nonexistent/slurmrestd.sock";
	Client client(endpoint);
	auto start = Clock::now();
	auto e = failure([&] { client.ping(); });
	CHECK(e.failure() == Failure::Unreachable);
	CHECK(std::string(e.what()).find("unix:/nonexistent/slurmrestd.sock") != std::string::npos);
	CHECK(Clock::now() - start < std::chrono::seconds(5));
}


TEST_CASE("a SKU is split evenly over as few Slurm nodes as hold it, or not at all")
{
	using hac::allocator::splitOverNodes;
	CHECK(splitOverNodes(4, 8)->nodes == 1);
	CHECK(splitOverNodes(4, 8)->gpusPerNode == 4);
	CHECK(splitOverNodes(12, 8)->nodes == 2);
	CHECK(splitOverNodes(12, 8)->gpusPerNode == 6);
	CHECK(splitOverNodes(18, 8)->nodes == 3);
	CHECK(splitOverNodes(40, 8)->nodes == 5);
	CHECK(splitOverNodes(40, 8)->gpusPerNode == 8);
	CHECK_FALSE(splitOverNodes(9, 8));
	CHECK_FALSE(splitOverNodes(0, 8));
}
