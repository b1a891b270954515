#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace nt::metrics {
namespace {

TEST(Metrics, CounterAndGaugeRender) {
  Registry r;
  auto& c = r.counter("neutrino_things_total", "Things.");
  auto& g = r.gauge("neutrino_level", "Level.");
  c.inc();
  c.inc(41);
  g.set(2.5);
  EXPECT_EQ(r.render(),
            "# HELP neutrino_things_total Things.\n# TYPE neutrino_things_total counter\nneutrino_things_total 42\n"
            "# HELP neutrino_level Level.\n# TYPE neutrino_level gauge\nneutrino_level 2.5\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeAndEndWithTheCount) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0}) h.observe(v);
  auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 3, 4, 6}));  // le is inclusive
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 52.65);
}

TEST(Metrics, HistogramRendersBucketsSumAndCount) {
  Registry r;
  auto& h = r.histogram("neutrino_pass_seconds", "Pass time.", {0.5, 1});
  h.observe(0.25);
  h.observe(3);
  EXPECT_EQ(r.render(),
            "# HELP neutrino_pass_seconds Pass time.\n# TYPE neutrino_pass_seconds histogram\n"
            "neutrino_pass_seconds_bucket{le=\"0.5\"} 1\nneutrino_pass_seconds_bucket{le=\"1\"} 1\n"
            "neutrino_pass_seconds_bucket{le=\"+Inf\"} 2\nneutrino_pass_seconds_sum 3.25\nneutrino_pass_seconds_count 2\n");
}

TEST(Metrics, FamiliesKeepOneChildPerLabelValues) {
  Registry r;
  auto& f = r.histograms("neutrino_req_seconds", "Requests.", {"resource", "status"}, {1});
  f.with({"networks", "201"}).observe(0.5);
  f.with({"networks", "201"}).observe(2);
  f.with({"ports", "404"}).observe(0.5);
  EXPECT_EQ(&f.with({"networks", "201"}), &f.with({std::string_view("networks"), std::string_view("201")}));
  auto text = r.render();
  EXPECT_NE(text.find("neutrino_req_seconds_bucket{resource=\"networks\",status=\"201\",le=\"+Inf\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("neutrino_req_seconds_count{resource=\"ports\",status=\"404\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  Registry r;
  auto& f = r.counters("neutrino_odd_total", "Back\\slash\nnew line.", {"name"});
  f.with({"a\"b\\c\nd"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP neutrino_odd_total Back\\\\slash\\nnew line.\n# TYPE neutrino_odd_total counter\n"
            "neutrino_odd_total{name=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Metrics, CollectorsAreReadAtEachScrape) {
  Registry r;
  int hosts = 1;
  r.collect("neutrino_hosts", "Hosts.", Type::gauge, [&](Samples& s) {
    for (int i = 0; i < hosts; ++i) s.value(i, {{"host", i == 0 ? "a" : "b"}});
  });
  EXPECT_NE(r.render().find("neutrino_hosts{host=\"a\"} 0\n"), std::string::npos);
  hosts = 2;
  EXPECT_NE(r.render().find("neutrino_hosts{host=\"b\"} 1\n"), std::string::npos);
}

TEST(Metrics, NumbersRenderAsPrometheusReadsThem) {
  Registry r;
  auto& g = r.gauge("g", "");
  g.set(1.0 / 0.0);
  EXPECT_NE(r.render().find("g +Inf\n"), std::string::npos);
  g.set(123456789);
  EXPECT_NE(r.render().find("g 123456789\n"), std::string::npos);
}

TEST(Metrics, ConcurrentRecordingLosesNothing) {
  Registry r;
  auto& f = r.histograms("h", "", {"k"}, latency_buckets());
  auto& c = r.counter("c_total", "");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        f.with({t % 2 ? "odd" : "even"}).observe(0.001 * (i % 7));
        c.inc();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(f.with({"odd"}).snapshot().count, 20000u);
  EXPECT_EQ(f.with({"even"}).snapshot().cumulative.back(), 20000u);
}

}  // namespace
}  // namespace nt::metrics
