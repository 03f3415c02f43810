// Online backup while the broker runs, then restore into an empty directory: the restored
// broker has exactly what was committed when the backup was taken.
#include <catch2/catch.hpp>
#include <filesystem>

#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::RunBridgeline;

const std::map<std::string, std::string> kOutsourcer = {
    {"Authorization", "Bearer demo-outsourcer-token"}};
const std::map<std::string, std::string> kOps = {{"Authorization", "Bearer demo-ops-token"}};

std::string Escalation(const std::string& ticket) {
  return bridgeline::testing::EscalationJson(ticket, "SEV3", "backup");
}

}  // namespace

TEST_CASE("an online backup restores to exactly what was committed when it was taken",
          "[e2e][backup]") {
  const std::string root = BrokerProcess::TempDir("backup");
  // Online backups go inside storage.backup_dir: "backups" under the data directory.
  const std::string backup = root + "/live/backups/nightly-1";
  {
    BrokerProcess broker(BrokerProcess::ExampleConfig(), root + "/live");
    HttpClient client("127.0.0.1", broker.port());
    for (int i = 0; i < 5; ++i) {
      REQUIRE(client
                  .Request("POST", "/v1/escalations", Escalation("before-" + std::to_string(i)),
                           kOutsourcer)
                  .status == 201);
    }
    const std::string url = "--url http://127.0.0.1:" + std::to_string(broker.port());
    // Only an ops token may take one.
    auto [refused, refusal] =
        RunBridgeline("backup --to nightly-1 " + url + " --token demo-outsourcer-token");
    CHECK(refused != 0);
    CHECK_THAT(refusal, Catch::Contains("403"));
    CHECK_FALSE(std::filesystem::exists(backup));

    // Nowhere but inside storage.backup_dir: not by an absolute path elsewhere, not by "..",
    // not through a symbolic link inside it that points out.
    std::filesystem::create_directories(root + "/live/backups");
    std::filesystem::create_directories(root + "/elsewhere");
    std::filesystem::create_directory_symlink(root + "/elsewhere", root + "/live/backups/out");
    for (const std::string& to :
         {root + "/outside", std::string("../db-copy"), std::string("out/copy"), std::string("."),
          root + "/live/backups"}) {
      INFO(to);
      auto [outside, said] =
          RunBridgeline("backup --to " + to + " " + url + " --token demo-ops-token");
      CHECK(outside != 0);
      CHECK_THAT(said, Catch::Contains("400") && Catch::Contains("inside storage.backup_dir"));
    }
    CHECK_FALSE(std::filesystem::exists(root + "/outside"));
    CHECK_FALSE(std::filesystem::exists(root + "/live/db-copy"));
    CHECK(std::filesystem::is_empty(root + "/elsewhere"));

    auto [status, output] =
        RunBridgeline("backup --to nightly-1 " + url + " --token demo-ops-token");
    INFO(output);
    REQUIRE(status == 0);
    CHECK_THAT(output, Catch::Contains(backup));
    // Writes go on while and after the backup is taken.
    REQUIRE(client.Request("POST", "/v1/escalations", Escalation("after"), kOutsourcer).status ==
            201);
    // A second backup into the same place is refused rather than mixed.
    CHECK(RunBridgeline("backup --to " + backup + " " + url + " --token demo-ops-token").first !=
          0);
    // A name may hold folders of its own, made as needed.
    CHECK(RunBridgeline("backup --to 2026/12/nightly-2 " + url + " --token demo-ops-token").first ==
          0);
    CHECK(std::filesystem::exists(root + "/live/backups/2026/12/nightly-2/CURRENT"));
    // The offline commands cannot open a data directory the running broker holds, and say
    // what to do instead.
    auto [offline, offline_said] =
        RunBridgeline("backup --to " + root + "/offline --data-dir " + root + "/live");
    CHECK(offline != 0);
    CHECK_THAT(offline_said, Catch::Contains("a running broker holds this data directory: take "
                                             "the backup online, with --url"));
    auto [report, report_said] =
        RunBridgeline("report --config " + BrokerProcess::ExampleConfig() + " --data-dir " + root +
                      "/live --out " + root + "/report");
    CHECK(report != 0);
    CHECK_THAT(report_said, Catch::Contains("ask it with --url instead"));
    // Nor do they make an empty store where there is none: a mistyped directory is not backed
    // up, or reported on, as if it held nothing.
    auto [typo, typo_said] =
        RunBridgeline("backup --to " + root + "/typo-backup --data-dir " + root + "/liev");
    CHECK(typo != 0);
    CHECK_THAT(typo_said, Catch::Contains("no Bridgeline store in '" + root + "/liev/db'"));
    CHECK_FALSE(std::filesystem::exists(root + "/liev"));
    CHECK_FALSE(std::filesystem::exists(root + "/typo-backup"));
    auto [typo_report, typo_report_said] =
        RunBridgeline("report --config " + BrokerProcess::ExampleConfig() + " --data-dir " + root +
                      "/liev --out " + root + "/report");
    CHECK(typo_report != 0);
    CHECK_THAT(typo_report_said, Catch::Contains("no Bridgeline store"));
    CHECK_FALSE(std::filesystem::exists(root + "/liev"));
    // An absolute path inside it is taken as well.
    CHECK(RunBridgeline("backup --to " + root + "/live/backups/nightly-3 " + url +
                        " --token demo-ops-token")
              .first == 0);
    CHECK(std::filesystem::exists(root + "/live/backups/nightly-3/CURRENT"));
  }

  SECTION("restore refuses a directory that is not empty") {
    auto [status, output] =
        RunBridgeline("restore --from " + backup + " --data-dir " + root + "/live");
    CHECK(status != 0);
    CHECK_THAT(output, Catch::Contains("not empty"));
  }
  SECTION("restore into an empty directory brings back the backed-up cases only") {
    auto [status, output] =
        RunBridgeline("restore --from " + backup + " --data-dir " + root + "/restored");
    INFO(output);
    REQUIRE(status == 0);
    BrokerProcess broker(BrokerProcess::ExampleConfig(), root + "/restored");
    HttpClient client("127.0.0.1", broker.port());
    for (int i = 1; i <= 5; ++i) {
      CHECK(client.Request("GET", "/v1/escalations/BL-" + std::to_string(i), {}, kOps).status ==
            200);
    }
    CHECK(client.Request("GET", "/v1/escalations/BL-6", {}, kOps).status == 404);
    // The restored broker goes on numbering from where the backup stood.
    auto next = client.Request("POST", "/v1/escalations", Escalation("restored"), kOutsourcer);
    REQUIRE(next.status == 201);
    CHECK_THAT(next.body, Catch::Contains("\"id\":\"BL-6\""));
  }
  std::filesystem::remove_all(root);
}
