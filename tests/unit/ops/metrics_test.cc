#include "broker/ops/metrics.h"

#include <catch2/catch.hpp>

using namespace bridgeline;

TEST_CASE("metrics are written in Prometheus' text format") {
  ops::Exposition out;
  SECTION("a family has its help and type, then its samples with escaped labels") {
    out.Family("bridgeline_things_total", "counter", "Things,\nper line.");
    out.Sample("bridgeline_things_total", {{"name", "a \"quoted\\\" name\nnext"}}, 3);
    CHECK(out.text() ==
          "# HELP bridgeline_things_total Things,\\nper line.\n"
          "# TYPE bridgeline_things_total counter\n"
          "bridgeline_things_total{name=\"a \\\"quoted\\\\\\\" name\\nnext\"} 3\n");
  }
  SECTION("values: integers plain, fractions exact enough, infinities as +Inf") {
    out.Sample("a", {}, 1e6);
    out.Sample("b", {}, 0.25);
    out.Sample("c", {}, 1.0 / 0.0);
    CHECK(out.text() == "a 1000000\nb 0.25\nc +Inf\n");
  }
}

TEST_CASE("a histogram counts cumulatively up to +Inf") {
  ops::Histogram histogram({0.1, 1});
  histogram.Observe(0.05);
  histogram.Observe(0.1);  // on the bound: counted in it (le is "less or equal")
  histogram.Observe(0.5);
  histogram.Observe(7);
  ops::Exposition out;
  histogram.WriteTo(&out, "latency_seconds", {{"route", "/x"}});
  CHECK(out.text() ==
        "latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
        "latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
        "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
        "latency_seconds_sum{route=\"/x\"} 7.65\n"
        "latency_seconds_count{route=\"/x\"} 4\n");
}

TEST_CASE("labelled counters add up per label set") {
  ops::CounterMap events({"contract", "type"});
  events.Add({"globex", "escalated"});
  events.Add({"globex", "escalated"});
  events.Add({"initech", "resolve"}, 5);
  CHECK(events.Get({"globex", "escalated"}) == 2);
  CHECK(events.Get({"nobody", "escalated"}) == 0);
  ops::Exposition out;
  events.WriteTo(&out, "events_total");
  CHECK(out.text() ==
        "events_total{contract=\"globex\",type=\"escalated\"} 2\n"
        "events_total{contract=\"initech\",type=\"resolve\"} 5\n");
}
