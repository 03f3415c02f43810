// Connector throughput: lines/s into a JSON-lines file, deliveries/s from the outbox to a local
// webhook receiver, and tickets/s into a real Request Tracker 5 against RT's own serial create
// rate over REST.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "broker/common/encoding.h"
#include "broker/engine/engine.h"
#include "broker/http/client.h"
#include "connectors/registry/registry.h"
#include "tests/bench/bench.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/webhook_sink.h"

namespace bridgeline::bench {

namespace {

using Clock = std::chrono::steady_clock;
using testing::BrokerProcess;

const std::map<std::string, std::string> kOutsourcer = {
    {"Authorization", "Bearer demo-outsourcer-token"}};

// Escalates `count` cases from `threads` connections; how many were refused.
int EscalateMany(unsigned short port, int count, int threads, const std::string& prefix) {
  std::atomic<int> next{0}, refused{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      http::HttpClient client("127.0.0.1", port);
      for (int i = next++; i < count; i = next++) {
        auto response = client.Request(
            "POST", "/v1/escalations",
            testing::EscalationJson(prefix + std::to_string(i), "SEV3", "Refund stuck"),
            kOutsourcer);
        refused += response.status != 201;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return refused;
}

// Posts one comment on each of cases BL-1..BL-`count`; how many were refused.
int CommentOnEach(unsigned short port, int count, int threads) {
  std::atomic<int> next{1}, refused{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      http::HttpClient client("127.0.0.1", port);
      for (int i = next++; i <= count; i = next++) {
        auto response = client.Request("POST", fmt::format("/v1/escalations/BL-{}/events", i),
                                       R"({"type":"comment","note":"still waiting"})", kOutsourcer);
        refused += response.status != 200;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return refused;
}

double Metric(unsigned short port, const std::string& series) {
  return testing::MetricValue(port, series);
}

// Waits until `series` reads `value`; false after `limit`.
bool AwaitMetric(unsigned short port, const std::string& series, double value,
                 std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (Metric(port, series) == value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

void JsonlBenchmark() {
  // Realistic lines: the escalated event and its case, as the engine makes them.
  constexpr int kLines = 20000;
  engine::Engine engine(ExampleRules());
  const v1::Actor agent = Party("northwind-bpo", v1::OUTSOURCER);
  std::vector<v1::OutboxItem> items(kLines);
  for (int i = 0; i < kLines; ++i) {
    const auto request = EscalationRequest("northwind-globex", i, v1::SEV2);
    auto outcome = engine.Escalate(request, agent, 1'790'000'000'000 + i);
    if (!outcome.ok()) throw std::runtime_error("jsonl bench: " + outcome.status().ToString());
    items[i].set_connector("globex-desk");
    items[i].set_sequence(static_cast<std::uint64_t>(i + 1));
    *items[i].mutable_event() = outcome->events.front();
    *items[i].mutable_case_state() = outcome->state;
  }
  const auto* factory = connectors::Registry::Global().Find("jsonl");
  // One item a call from 1, 4 or 16 threads; then 4 threads taking max_batch() a call, as the
  // lanes do when entries wait.
  for (auto [concurrency, batched] : {std::pair{1, false}, {4, false}, {16, false}, {4, true}}) {
    const std::string dir = BrokerProcess::TempDir("jsonl-bench");
    v1::ConnectorConfig config;
    config.set_name("globex-desk");
    config.set_type("jsonl");
    auto settings = factory->NewSettings();
    settings->GetReflection()->SetString(
        settings.get(), settings->GetDescriptor()->FindFieldByName("path"), "desk.jsonl");
    config.mutable_settings()->PackFrom(*settings);
    connectors::ConnectorContext context;
    context.data_dir = dir;
    auto connector = factory->Create(config, context);
    if (!connector.ok()) throw std::runtime_error(connector.status().ToString());
    const int batch = batched ? static_cast<int>((*connector)->max_batch()) : 1;
    std::atomic<int> next{0}, failed{0};
    const auto started = Clock::now();
    const std::clock_t cpu_started = std::clock();
    std::vector<std::thread> lanes;
    for (int t = 0; t < concurrency; ++t) {
      lanes.emplace_back([&] {
        for (int first = next.fetch_add(batch); first < kLines; first = next.fetch_add(batch)) {
          std::vector<const v1::OutboxItem*> taken;
          for (int i = first; i < std::min(kLines, first + batch); ++i) taken.push_back(&items[i]);
          for (const auto& result : (*connector)->DeliverBatch(taken))
            failed += result.kind != connectors::DeliveryResult::Kind::kDelivered;
        }
      });
    }
    for (auto& lane : lanes) lane.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    const double cpu = double(std::clock() - cpu_started) / CLOCKS_PER_SEC;
    std::cout << fmt::format(
        "| JSON lines: {} escalation lines written and synced, {} at once{} | {:.0f} lines/s, "
        "{:.0f} us CPU a line{} |\n",
        kLines, concurrency, batched ? fmt::format(", {} lines a call", batch) : "",
        kLines / seconds, cpu / kLines * 1e6,
        failed ? fmt::format(" ({} FAILED)", failed.load()) : "");
    std::filesystem::remove_all(dir);
  }
}

namespace {

// The webhook's figures over plain HTTP, or over https to a receiver whose certificate a test
// authority signed (the connector trusting that authority through tls.ca_file).
void WebhookRun(bool https) {
  constexpr int kCases = 20000;
  constexpr int kConcurrency = 8;
  const std::string dir = BrokerProcess::TempDir("connector-bench");
  std::optional<testing::TestAuthority> authority;
  std::unique_ptr<testing::WebhookSink> receiver;
  if (https) {
    authority.emplace(dir);
    receiver = std::make_unique<testing::WebhookSink>(authority->Issue("hook", "IP:127.0.0.1"));
  } else {
    receiver = std::make_unique<testing::WebhookSink>();
  }
  testing::WebhookSink& sink = *receiver;
  sink.KeepRequests(false);
  std::atomic<bool> down{true};
  std::atomic<int> accepted{0};
  unsigned short broker_port = 0;
  sink.SetScript([&](const testing::SinkRequest&, std::size_t) {
    testing::SinkAnswer answer;
    if (down) {
      answer.status = 503;
    } else {
      ++accepted;
    }
    return answer;
  });
  // Waits in-process for the receiver to have accepted `count` deliveries (polling the
  // broker's /metrics meanwhile would cost it CPU), then checks the broker's own account.
  auto drain = [&](int count, double delivered_total) {
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    while (accepted < count && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto done = Clock::now();
    const bool complete =
        accepted >= count &&
        AwaitMetric(broker_port,
                    "bridgeline_deliveries_total{connector=\"globex-hook\","
                    "result=\"delivered\"}",
                    delivered_total, std::chrono::seconds(10)) &&
        AwaitMetric(broker_port, "bridgeline_outbox_depth{connector=\"globex-hook\"}", 0,
                    std::chrono::seconds(10));
    return std::make_pair(done, complete);
  };
  const std::string hook =
      "  - name: globex-hook\n    type: webhook\n    settings:\n      url: " +
      std::string(https ? "https" : "http") + "://127.0.0.1:" + std::to_string(sink.port()) +
      "/hook\n      secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n" +
      (https ? "      tls: { ca_file: " + authority->certificate_file() + " }\n" : "") +
      "    delivery: { concurrency: " + std::to_string(kConcurrency) +
      ", first_backoff: 20ms, max_backoff: 50ms, max_attempts: 100000,"
      " breaker: { failures: 1000000 } }\n";
  const std::string config =
      BrokerProcess::ConfigVariant(BrokerProcess::ExampleConfig(), dir,
                                   {{"rate_limit: { requests_per_second: 1000, burst: 2000 }",
                                     "rate_limit: { requests_per_second: 0 }"},
                                    {"  # Breach notices for the duty managers",
                                     hook + "  # Breach notices for the duty managers"},
                                    {"connectors: [globex-desk]", "connectors: [globex-hook]"}});
  BrokerProcess broker(config, dir + "/data");
  broker_port = broker.port();
  // The receiver is down while the backlog builds, so the figure is the outbox draining.
  if (int refused = EscalateMany(broker.port(), kCases, 16, "W"); refused > 0)
    std::cerr << "connector bench: " << refused << " escalations refused\n";
  const std::string depth = "bridgeline_outbox_depth{connector=\"globex-hook\"}";
  // Each escalation waits for the webhook. (Its forwarding is not sent back to the connector
  // that forwarded it.)
  const double backlog = Metric(broker.port(), depth);
  auto started = Clock::now();
  down = false;
  auto [escalations_done, escalations_drained] = drain(kCases, kCases);
  double seconds = std::chrono::duration<double>(escalations_done - started).count();
  std::cout << fmt::format(
      "| Webhook ({}): an outbox of {:.0f} escalations delivered to a local receiver, {} at once "
      "| {:.0f} deliveries/s ({:.2f} s{}) |\n",
      https ? "https" : "http", backlog, kConcurrency, kCases / seconds, seconds,
      escalations_drained ? "" : ", NOT drained");

  // The same with plain events (a comment on each case): no forwarding to commit.
  down = true;
  if (int refused = CommentOnEach(broker.port(), kCases, 16); refused > 0)
    std::cerr << "connector bench: " << refused << " comments refused\n";
  const double comments = Metric(broker.port(), depth);
  accepted = 0;
  started = Clock::now();
  down = false;
  auto [comments_done, comments_drained] = drain(kCases, 2 * kCases);
  seconds = std::chrono::duration<double>(comments_done - started).count();
  std::cout << fmt::format(
      "| Webhook ({}): an outbox of {:.0f} comments delivered to a local receiver, {} at once | "
      "{:.0f} deliveries/s ({:.2f} s{}) |\n",
      https ? "https" : "http", comments, kConcurrency, kCases / seconds, seconds,
      comments_drained ? "" : ", NOT drained");
}

}  // namespace

void WebhookBenchmark() {
  WebhookRun(false);
  WebhookRun(true);
}

namespace {

class RtServer {
 public:
  RtServer(std::string dir, unsigned short port) : dir_(std::move(dir)), port_(port) {
    ok_ = Script("start " + dir_ + " " + std::to_string(port_)) == 0;
  }
  ~RtServer() { Script("stop " + dir_); }
  bool ok() const { return ok_; }

 private:
  static int Script(const std::string& arguments) {
    return std::system((std::string(BRIDGELINE_SOURCE_DIR) + "/scripts/rt5/test-server.sh " +
                        arguments + " >/dev/null")
                           .c_str());
  }
  std::string dir_;
  unsigned short port_;
  bool ok_ = false;
};

}  // namespace

void RtBenchmark() {
  constexpr int kSerial = 30, kCases = 60;
  const unsigned short rt_port = 18000 + static_cast<unsigned short>(std::rand() % 1000);
  const std::string dir = BrokerProcess::TempDir("rt-bench");
  RtServer rt(dir + "/rt", rt_port);
  if (!rt.ok()) {
    std::cout << "| RT: Request Tracker did not start (scripts/rt5/test-server.sh) | - |\n";
    return;
  }
  // RT's own serial rate: one client creating tickets one after another over REST.
  http::HttpClient client("127.0.0.1", rt_port, std::chrono::seconds(60));
  const std::map<std::string, std::string> auth = {
      {"Authorization", "Basic " + Base64Encode("bridgeline:bridgeline-test-password")}};
  auto started = Clock::now();
  int created = 0;
  for (int i = 0; i < kSerial; ++i) {
    auto response = client.Request(
        "POST", "/REST/2.0/ticket",
        R"({"Queue":"General","Subject":"serial )" + std::to_string(i) + R"(","Content":"x"})",
        auth);
    created += response.status == 201;
  }
  const double serial_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const double serial_rate = created / serial_seconds;

  for (int concurrency : {1, 4}) {
    const std::string run = fmt::format("{}/broker-{}", dir, concurrency);
    std::filesystem::create_directories(run);
    const std::string connector =
        "  - name: globex-rt\n    type: rt5\n    settings:\n      url: http://127.0.0.1:" +
        std::to_string(rt_port) +
        "\n      username: bridgeline\n      password: bridgeline-test-password\n"
        "      queue: Escalations\n      poll_interval: 1s\n"
        "    delivery: { concurrency: " +
        std::to_string(concurrency) + " }\n";
    const std::string config =
        BrokerProcess::ConfigVariant(BrokerProcess::ExampleConfig(), run,
                                     {{"  # Breach notices for the duty managers",
                                       connector + "  # Breach notices for the duty managers"},
                                      {"connectors: [globex-desk]", "connectors: [globex-rt]"}});
    BrokerProcess broker(config, run + "/data");
    const std::string depth = "bridgeline_outbox_depth{connector=\"globex-rt\"}";
    started = Clock::now();
    EscalateMany(broker.port(), kCases, 4, fmt::format("R{}-", concurrency));
    const bool drained = AwaitMetric(broker.port(), depth, 0, std::chrono::seconds(600));
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    // Each case's escalation is one ticket (plus the lookup that keeps a retry from making two).
    std::cout << fmt::format(
        "| RT: tickets/s through the broker, {} at once ({} cases) | {:.2f} ({:.2f} x RT's serial "
        "create rate{}) |\n",
        concurrency, kCases, kCases / seconds, kCases / seconds / serial_rate,
        drained ? "" : ", NOT drained");
  }
  std::cout << fmt::format(
      "| RT: serial ticket creation over REST, one client ({} tickets) | {:.2f} tickets/s |\n",
      created, serial_rate);
}

}  // namespace bridgeline::bench
