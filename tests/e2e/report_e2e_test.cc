// KPI reports as ops get them: from the running broker's API, from `bridgeline report` online
// and offline, and `bridgeline simulate`'s page opened in a real headless Chromium.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bridgeline/v1/report.pb.h"
#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

namespace v1 = bridgeline::v1;
using bridgeline::http::HttpClient;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::ParseJson;
using bridgeline::testing::ProblemField;
using bridgeline::testing::RunBridgeline;

const std::map<std::string, std::string> kOutsourcer = {
    {"Authorization", "Bearer demo-outsourcer-token"}};
const std::map<std::string, std::string> kGlobex = {{"Authorization", "Bearer demo-globex-token"},
                                                    {"Content-Type", "application/json"}};
const std::map<std::string, std::string> kOps = {{"Authorization", "Bearer demo-ops-token"}};

std::string Escalation(const std::string& ticket) {
  return bridgeline::testing::EscalationJson(ticket, "SEV3", "report");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// Runs a command; its standard output and error go to files beside `stem`.
int Run(const std::string& command, const std::string& stem) {
  return std::system((command + " >" + stem + ".out 2>" + stem + ".err").c_str());
}

// Headless Chromium on a local file: the DOM after load, a screenshot, and every console line.
struct BrowserView {
  int status = -1;
  std::string dom, console;
  std::uintmax_t screenshot_bytes = 0;
};

BrowserView OpenInChromium(const std::string& html_path, const std::string& work_dir) {
  const std::string flags =
      "--headless=new --no-sandbox --disable-gpu --no-first-run --enable-logging=stderr --v=0 ";
  BrowserView view;
  view.status =
      Run("timeout 120 chromium " + flags + "--dump-dom file://" + html_path, work_dir + "/dom");
  view.dom = ReadFile(work_dir + "/dom.out");
  for (std::istringstream lines(ReadFile(work_dir + "/dom.err")); !lines.eof();) {
    std::string line;
    std::getline(lines, line);
    if (line.find(":CONSOLE") != std::string::npos) view.console += line + "\n";
  }
  const std::string shot = work_dir + "/page.png";
  Run("timeout 120 chromium " + flags + "--window-size=1200,2400 --screenshot=" + shot +
          " file://" + html_path,
      work_dir + "/shot");
  if (std::filesystem::exists(shot)) view.screenshot_bytes = std::filesystem::file_size(shot);
  return view;
}

}  // namespace

TEST_CASE("the simulator's report renders in a real browser with its charts and no console error",
          "[e2e][report][browser]") {
  const std::string dir = BrokerProcess::TempDir("report-browser");
  auto [status, output] =
      RunBridgeline("simulate --config " + BrokerProcess::ExampleConfig() + " --scenario " +
                    std::string(BRIDGELINE_SOURCE_DIR) + "/config/example-scenario.yaml --out " +
                    dir + "/out --seed 42");
  INFO(output);
  REQUIRE(status == 0);
  CHECK_THAT(output, Catch::Contains("simulated") && Catch::Contains("(seed 42)"));
  for (const char* name : {"report.html", "report.json", "report.csv"}) {
    CHECK(std::filesystem::file_size(dir + "/out/" + name) > 500);
  }
  v1::KpiReport report;
  REQUIRE(ParseJson(ReadFile(dir + "/out/report.json"), &report));
  CHECK(report.source() == "simulation");
  CHECK(report.cases_escalated() > 1000);

  BrowserView view = OpenInChromium(dir + "/out/report.html", dir);
  INFO("chromium console:\n" << view.console);
  REQUIRE(view.status == 0);
  CHECK_THAT(view.dom, Catch::Contains("<title>Bridgeline KPI report</title>"));
  CHECK(Count(view.dom, "<svg class=\"chart\"") == 6);
  CHECK(Count(view.dom, "<rect class=\"bar\"") > 20);
  CHECK_THAT(view.dom, Catch::Contains("SLA adherence, both ways"));
  CHECK(view.console.empty());
  CHECK(view.screenshot_bytes > 20'000);  // a rendered page, not a blank one

  SECTION("the same check catches a page that logs an error") {
    std::ofstream(dir + "/broken.html")
        << "<!DOCTYPE html><html><body><p>x</p>"
           "<script>console.error('broken'); missingFunction();</script></body></html>";
    BrowserView broken = OpenInChromium(dir + "/broken.html", dir);
    CHECK_THAT(broken.console, Catch::Contains("broken") && Catch::Contains("missingFunction"));
  }
}

TEST_CASE("ops read KPIs from the running broker, online and offline", "[e2e][report]") {
  const std::string root = BrokerProcess::TempDir("report-store");
  const std::string data = root + "/data";
  const std::string from = "--from 2020-01-01T00:00:00Z --to 2100-01-01T00:00:00Z";
  {
    BrokerProcess broker(BrokerProcess::ExampleConfig(), data);
    HttpClient client("127.0.0.1", broker.port());
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      auto created = client.Request("POST", "/v1/escalations", Escalation("R-" + std::to_string(i)),
                                    {{"Authorization", "Bearer demo-outsourcer-token"},
                                     {"Content-Type", "application/json"}});
      REQUIRE(created.status == 201);
      v1::CaseView view;
      REQUIRE(ParseJson(created.body, &view));
      ids.push_back(view.id());
    }
    // Globex acknowledges the first case once its desk has it.
    int acknowledged = 0;
    for (int attempt = 0; attempt < 100 && acknowledged != 200; ++attempt) {
      acknowledged = client
                         .Request("POST", "/v1/escalations/" + ids[0] + "/events",
                                  R"({"type":"acknowledge","note":"on it"})", kGlobex)
                         .status;
      if (acknowledged != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(acknowledged == 200);

    SECTION("GET /v1/reports/kpis") {
      auto answer = client.Request("GET", "/v1/reports/kpis?from=2020-01-01T00:00:00Z", "", kOps);
      REQUIRE(answer.status == 200);
      v1::KpiReport report;
      REQUIRE(ParseJson(answer.body, &report));
      CHECK(report.source() == "store");
      CHECK(report.cases_escalated() == 3);
      REQUIRE(report.time_to_acknowledge_size() >= 1);
      INFO(answer.body);
      CHECK(report.time_to_acknowledge(0).count() == 1);

      auto csv =
          client.Request("GET", "/v1/reports/kpis?from=2020-01-01T00:00:00Z&format=csv", "", kOps);
      CHECK(csv.status == 200);
      CHECK_THAT(csv.body, Catch::Contains("cases,,,,escalated,3\n"));
      auto only_initech = client.Request(
          "GET", "/v1/reports/kpis?from=2020-01-01T00:00:00Z&contract=northwind-initech", "", kOps);
      REQUIRE(only_initech.status == 200);
      v1::KpiReport initech;
      REQUIRE(ParseJson(only_initech.body, &initech));
      CHECK(initech.cases_escalated() == 0);
    }
    SECTION("only ops may read it, and bad parameters are named") {
      CHECK(client.Request("GET", "/v1/reports/kpis", "", kOutsourcer).status == 403);
      CHECK(client
                .Request("GET", "/v1/reports/kpis", "",
                         {{"Authorization", "Bearer demo-globex-token"}})
                .status == 403);
      CHECK(client.Request("GET", "/v1/reports/kpis", "", {}).status == 401);
      auto bad_time = client.Request("GET", "/v1/reports/kpis?from=yesterday", "", kOps);
      CHECK(bad_time.status == 400);
      CHECK(ProblemField(bad_time, "field") == "from");
      auto twice = client.Request("GET", "/v1/reports/kpis?format=csv&format=json", "", kOps);
      CHECK(twice.status == 400);
      CHECK(ProblemField(twice, "field") == "format");
      auto backwards = client.Request(
          "GET", "/v1/reports/kpis?from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z", "", kOps);
      CHECK(backwards.status == 400);
      auto unknown = client.Request("GET", "/v1/reports/kpis?contract=nobody", "", kOps);
      CHECK(unknown.status == 400);
      CHECK(ProblemField(unknown, "field") == "contract");
      CHECK(client.Request("GET", "/v1/reports/kpis?format=pdf", "", kOps).status == 400);
      CHECK(client.Request("POST", "/v1/reports/kpis", "{}", kOps).status == 405);
    }
    SECTION("bridgeline report --url asks the running broker") {
      auto [status, output] =
          RunBridgeline("report --config " + BrokerProcess::ExampleConfig() + " " + from +
                        " --url http://127.0.0.1:" + std::to_string(broker.port()) +
                        " --token demo-ops-token --out " + root + "/online");
      INFO(output);
      REQUIRE(status == 0);
      v1::KpiReport report;
      REQUIRE(ParseJson(ReadFile(root + "/online/report.json"), &report));
      CHECK(report.cases_escalated() == 3);
      CHECK_THAT(ReadFile(root + "/online/report.html"), Catch::Contains("<svg class=\"chart\""));
      // The data directory is the running broker's: reading it directly is refused, saying why.
      auto [refused, refusal] =
          RunBridgeline("report --config " + BrokerProcess::ExampleConfig() + " --data-dir " +
                        data + " --out " + root + "/refused");
      CHECK(refused != 0);
      CHECK_THAT(refusal, Catch::Contains("--url"));
    }
  }
  // Offline, from the stopped broker's store: the same figures.
  auto [status, output] =
      RunBridgeline("report --config " + BrokerProcess::ExampleConfig() + " " + from +
                    " --data-dir " + data + " --out " + root + "/offline");
  INFO(output);
  REQUIRE(status == 0);
  v1::KpiReport report;
  REQUIRE(ParseJson(ReadFile(root + "/offline/report.json"), &report));
  CHECK(report.cases_escalated() == 3);
  CHECK(report.time_to_acknowledge(0).count() == 1);
  auto [bad, complaint] =
      RunBridgeline("report --config " + BrokerProcess::ExampleConfig() +
                    " --from not-a-time --data-dir " + data + " --out " + root + "/x");
  CHECK(bad == 2);
  CHECK_THAT(complaint, Catch::Contains("--from must be a time in RFC 3339"));
}
