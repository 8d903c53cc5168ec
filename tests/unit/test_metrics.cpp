// Unit tests of service/metrics: the text format's lines, escapes, histograms and the names it refuses.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include <service/metrics.hpp>

using namespace hac::metrics;

TEST_CASE("a counter and a gauge render HELP, TYPE and one line per label set")
{
	Registry r;
	Counter &c = r.counter("hac_test_jobs_total", "Jobs.", {"reason"});
	Gauge &g = r.gauge("hac_test_free", "Free GPUs.");
	c.inc({"finished"});
	c.inc({"finished"}, 2);
	c.inc({"reset"});
	g.set(7.5);
	CHECK(r.render(false) ==
	      "# HELP hac_test_jobs_total Jobs.\n"
	      "# TYPE hac_test_jobs_total counter\n"
	      "hac_test_jobs_total{reason=\"finished\"} 3\n"
	      "hac_test_jobs_total{reason=\"reset\"} 1\n"
	      "# HELP hac_test_free Free GPUs.\n"
	      "# TYPE hac_test_free gauge\n"
	      "hac_test_free 7.5\n");
	CHECK(c.value({"finished"}) == 3);
	CHECK_THROWS_AS(c.inc({"finished"}, -1), std::invalid_argument);
	CHECK_THROWS_AS(c.inc({}), std::invalid_argument);       // one label, no value
	CHECK_THROWS_AS(g.set({"x"}, 1), std::invalid_argument); // no label, one value
}

TEST_CASE("a counter without labels is shown at 0 before its first event; touch() shows a labelled one")
{
	Registry r;
	r.counter("hac_test_farm_full_total", "Refusals.");
	Counter &c = r.counter("hac_test_ended_total", "Ended.", {"reason"});
	c.touch({"finished"});
	c.touch({"finished"});
	CHECK(r.render(false) ==
	      "# HELP hac_test_farm_full_total Refusals.\n# TYPE hac_test_farm_full_total counter\n"
	      "hac_test_farm_full_total 0\n"
	      "# HELP hac_test_ended_total Ended.\n# TYPE hac_test_ended_total counter\n"
	      "hac_test_ended_total{reason=\"finished\"} 0\n");
}

TEST_CASE("label values escape backslash, double quote and newline; help escapes backslash and newline")
{
	CHECK(escapeLabelValue("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
	CHECK(escapeHelp("a\\b\"c\nd") == "a\\\\b\"c\\nd");
	// Not UTF-8: each bad byte becomes U+FFFD; good multi-byte characters stay.
	CHECK(escapeLabelValue("x\xff" "y") == "x\xef\xbf\xbdy");
	CHECK(escapeLabelValue("\xc3\xa9t\xc3\xa9") == "\xc3\xa9t\xc3\xa9");
	CHECK(escapeLabelValue("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd"); // overlong '/'
	CHECK(escapeLabelValue("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd"); // cut short
	Registry r;
	r.gauge("hac_test_info", "Build.\nSecond line \\ here", {"version"}).set({"1\"2"}, 1);
	CHECK(r.render(false) == "# HELP hac_test_info Build.\\nSecond line \\\\ here\n# TYPE hac_test_info gauge\n"
				 "hac_test_info{version=\"1\\\"2\"} 1\n");
}

TEST_CASE("values print as Go reads them")
{
	CHECK(formatValue(0) == "0");
	CHECK(formatValue(42) == "42");
	CHECK(formatValue(0.005) == "0.005");
	CHECK(formatValue(1.5e-7) == "1.5e-07");
	CHECK(formatValue(12345678901234.0) == "12345678901234");
	CHECK(formatValue(std::numeric_limits<double>::infinity()) == "+Inf");
	CHECK(formatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
	CHECK(formatValue(std::nan("")) == "NaN");
}

TEST_CASE("a histogram's buckets are cumulative, with +Inf, _sum and _count")
{
	Registry r;
	Histogram &h = r.histogram("hac_test_seconds", "Latency.", {"route"}, {0.1, 1});
	h.observe({"/a"}, 0.05);
	h.observe({"/a"}, 0.1); // on a bound: counted in it (le is "less or equal")
	h.observe({"/a"}, 0.5);
	h.observe({"/a"}, 3);
	CHECK(h.count({"/a"}) == 4);
	CHECK(r.render(false) ==
	      "# HELP hac_test_seconds Latency.\n# TYPE hac_test_seconds histogram\n"
	      "hac_test_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
	      "hac_test_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
	      "hac_test_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
	      "hac_test_seconds_sum{route=\"/a\"} 3.65\n"
	      "hac_test_seconds_count{route=\"/a\"} 4\n");
}

TEST_CASE("names that break Prometheus's rules are refused, and so is a name given twice")
{
	Registry r;
	CHECK_THROWS_AS(r.counter("9lives_total", "x"), std::invalid_argument);
	CHECK_THROWS_AS(r.counter("hac-bad_total", "x"), std::invalid_argument);
	CHECK_THROWS_AS(r.gauge("hac_ok", "x", {"bad-label"}), std::invalid_argument);
	CHECK_THROWS_AS(r.gauge("hac_ok2", "x", {"__reserved"}), std::invalid_argument);
	CHECK_THROWS_AS(r.histogram("hac_h", "x", {"le"}), std::invalid_argument);
	CHECK_THROWS_AS(r.histogram("hac_h2", "x", {}, {1, 0.5}), std::invalid_argument);
	r.gauge("hac_once", "x");
	CHECK_THROWS_AS(r.gauge("hac_once", "x"), std::invalid_argument);
}

TEST_CASE("collectors run before each render, and a cleared gauge drops its old series")
{
	Registry r;
	Gauge &g = r.gauge("hac_test_devices", "Devices.", {"device"});
	int scrapes = 0;
	r.collectWith([&] {
		g.clear();
		if (++scrapes == 1)
			g.set({"0"}, 4);
		g.set({"1"}, 2);
	});
	CHECK(r.render(false).find("hac_test_devices{device=\"0\"} 4\n") != std::string::npos);
	std::string second = r.render(false);
	CHECK(second.find("device=\"0\"") == std::string::npos);
	CHECK(second.find("hac_test_devices{device=\"1\"} 2\n") != std::string::npos);
}

TEST_CASE("the process figures come from /proc/self")
{
	std::string out;
	renderProcessMetrics(out);
	for (const char *name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
				 "process_max_fds ", "process_start_time_seconds ", "process_virtual_memory_bytes ",
				 "process_threads "})
		CHECK_MESSAGE(out.find(std::string("\n") + name) != std::string::npos, name);
	CHECK(out.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
}
