// The command line as an operator uses it: check-config and hash-token.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::testing::BrokerProcess;
using bridgeline::testing::RunBridgeline;

}  // namespace

TEST_CASE("check-config summarizes a good config and lists every error of a bad one",
          "[e2e][cli]") {
  SECTION("a good config") {
    auto [status, output] = RunBridgeline("check-config " + BrokerProcess::ExampleConfig());
    CHECK(status == 0);
    CHECK_THAT(output, Catch::Contains(": OK"));
    CHECK_THAT(output, Catch::Contains("northwind-globex") && Catch::Contains("northwind-initech"));
  }
  SECTION("a bad config") {
    const std::string path = BrokerProcess::TempDir("cli") + "/bad.yaml";
    std::ofstream(path) << "organizations:\n"
                           "  - { name: bpo, side: outsourcer, colour: red }\n"
                           "contracts:\n"
                           "  - name: c\n"
                           "    outsourcer: bpo\n"
                           "    client: nobody\n";
    auto [status, output] = RunBridgeline("check-config " + path);
    CHECK(status == 2);
    CHECK_THAT(output, Catch::Contains("bad.yaml:2:36: unknown key 'colour'"));
    CHECK_THAT(output, Catch::Contains(
                           "bad.yaml:6:5: contract 'c' refers to client organization 'nobody'"));
    CHECK_THAT(output, Catch::Contains("has no catch-all route"));
    CHECK_THAT(output, Catch::Contains("error(s) in"));
  }
  SECTION("a file that does not exist") {
    auto [status, output] = RunBridgeline("check-config /nonexistent/bridgeline.yaml");
    CHECK(status == 2);
    CHECK_THAT(output, Catch::Contains("cannot read the config file"));
  }
}

TEST_CASE("hash-token prints the hash a config stores", "[e2e][cli]") {
  auto [status, output] = RunBridgeline("hash-token demo-ops-token");
  CHECK(status == 0);
  CHECK(output == "4db91eab0281403a94ae3ed61e1e1baf7528d2dc264eb786f64c43d7697d3177\n");
}
