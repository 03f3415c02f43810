// The escalation log as ops follow it: GET /v1/stream resumed at random points under load,
// a reader too slow for the live window, the stream's refusals, and GET /metrics checked by
// Prometheus' own promtool.
#include <fmt/format.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "broker/http/client.h"
#include "broker/ops/tail.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::ops::SseEvent;
using bridgeline::ops::SseParser;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::ProblemField;
using Headers = std::map<std::string, std::string>;

const std::string kIsolationConfig = BRIDGELINE_SOURCE_DIR "/tests/e2e/isolation.yaml";
const Headers kOps = {{"Authorization", "Bearer demo-ops-token"}};

// The isolation config (two contracts, one connector each, no rate limit) with `logging`.
std::string ConfigWithLogging(const std::string& dir, const std::string& logging) {
  return BrokerProcess::ConfigVariant(
      kIsolationConfig, dir,
      {{"storage:\n  min_free_bytes: 0\n", "storage:\n  min_free_bytes: 0\n" + logging}});
}

std::string Escalation(const std::string& ticket) {
  return bridgeline::testing::EscalationJson(ticket, "SEV2", "Cannot log in");
}

// Escalates `per_writer` cases from each of `writers` threads; each escalation logs two events
// (escalated, then forwarded by the connector).
void Escalate(unsigned short port, int writers, int per_writer, const std::string& prefix) {
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      HttpClient client("127.0.0.1", port);
      for (int i = 0; i < per_writer; ++i) {
        auto response = client.Request("POST", "/v1/escalations",
                                       Escalation(fmt::format("{}-{}-{}", prefix, w, i)),
                                       {{"Authorization", "Bearer demo-outsourcer-token"}});
        failed += response.status != 201;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failed == 0);
}

std::uint64_t LogSequence(unsigned short port) {
  return static_cast<std::uint64_t>(
      bridgeline::testing::MetricValue(port, "bridgeline_log_sequence"));
}

void AwaitLogSequence(unsigned short port, std::uint64_t sequence) {
  for (int i = 0; i < 600 && LogSequence(port) < sequence; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(LogSequence(port) == sequence);
}

// One connection's worth of reading: ids of the events received (after `after`), until
// `keep_reading` says stop or the stream ends; `closed` gets a closing event's data. Without
// Catch's macros, which are not thread-safe: readers on other threads use this and leave their
// answer's status and body in `answer` (the status is 0 when the stream simply ended).
std::vector<std::uint64_t> ReadStreamUnchecked(
    unsigned short port, const std::string& target, const Headers& headers,
    const std::function<bool(std::uint64_t id)>& keep_reading, std::string* closed,
    std::vector<std::string>* lines, bridgeline::http::HttpResponse* answer) {
  HttpClient client("127.0.0.1", port, std::chrono::seconds(30));
  SseParser parser;
  std::vector<std::uint64_t> ids;
  bool more = true;
  bridgeline::http::HttpResponse& response = *answer;
  // A reader that just left may hold its place for a moment, until the broker notices.
  for (int attempt = 0; attempt < 40 && (attempt == 0 || response.status == 503); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    response = client.Stream(target, headers, [&](std::string_view data) {
      parser.Feed(data, [&](const SseEvent& event) {
        if (!more) return;
        if (event.event == "close") {
          if (closed) *closed = event.data;
          return;
        }
        ids.push_back(std::stoull(event.id));
        if (lines) lines->push_back(event.data);
        more = keep_reading(ids.back());
      });
      return more;
    });
  }
  return ids;
}

bool StreamEndedWell(const bridgeline::http::HttpResponse& answer) {
  return answer.status == 200 || answer.status == 0;
}

// ReadStreamUnchecked on the test's own thread, requiring a good answer.
std::vector<std::uint64_t> ReadStream(unsigned short port, const std::string& target,
                                      const Headers& headers,
                                      const std::function<bool(std::uint64_t id)>& keep_reading,
                                      std::string* closed = nullptr,
                                      std::vector<std::string>* lines = nullptr) {
  bridgeline::http::HttpResponse answer;
  auto ids = ReadStreamUnchecked(port, target, headers, keep_reading, closed, lines, &answer);
  INFO(answer.body);
  REQUIRE(StreamEndedWell(answer));
  return ids;
}

}  // namespace

TEST_CASE("readers that drop and resume at random points get every event once, in order") {
  const std::string dir = BrokerProcess::TempDir("stream-resume");
  BrokerProcess broker(ConfigWithLogging(dir, "logging: { stream: { buffer_events: 300 } }\n"),
                       dir + "/data");
  constexpr int kWriters = 4, kPerWriter = 150, kReaders = 4;
  constexpr std::uint64_t kEvents = 2 * kWriters * kPerWriter;

  std::atomic<bool> writing{true};
  std::vector<std::vector<std::uint64_t>> seen(kReaders);
  std::vector<int> connections(kReaders, 0);
  std::vector<std::string> bad_answers(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 random(1000 + r);
      std::uint64_t last = 0;
      // Each connection drops after a random number of events; half resume by header, half by
      // ?after=.
      while (last < kEvents) {
        std::uniform_int_distribution<int> drop_after(1, 120);
        const int budget = drop_after(random);
        int taken = 0;
        Headers headers = kOps;
        std::string target = "/v1/stream";
        if (connections[r] % 2 == 0) {
          target += "?after=" + std::to_string(last);
        } else {
          headers["Last-Event-ID"] = std::to_string(last);
        }
        ++connections[r];
        bridgeline::http::HttpResponse answer;
        auto ids = ReadStreamUnchecked(
            broker.port(), target, headers,
            [&](std::uint64_t id) { return ++taken < budget && id < kEvents; }, nullptr, nullptr,
            &answer);
        if (!StreamEndedWell(answer)) {
          bad_answers[r] = std::to_string(answer.status) + " " + answer.body + answer.error;
          break;
        }
        for (auto id : ids) seen[r].push_back(id);
        if (!ids.empty()) last = ids.back();
      }
    });
  }
  Escalate(broker.port(), kWriters, kPerWriter, "resume");
  writing = false;
  for (auto& reader : readers) reader.join();
  for (const auto& bad : bad_answers) CHECK(bad.empty());

  AwaitLogSequence(broker.port(), kEvents);
  for (int r = 0; r < kReaders; ++r) {
    INFO("reader " << r << " over " << connections[r] << " connections");
    CHECK(connections[r] > 5);
    REQUIRE(seen[r].size() == kEvents);
    for (std::uint64_t i = 0; i < kEvents; ++i) {
      if (seen[r][i] != i + 1)
        FAIL("reader " << r << " got #" << seen[r][i] << " where #" << i + 1 << " belongs");
    }
  }
}

TEST_CASE(
    "a reader too slow for the live window is closed with the reason and resumes with no gap") {
  const std::string dir = BrokerProcess::TempDir("stream-slow");
  BrokerProcess broker(ConfigWithLogging(dir, "logging: { stream: { buffer_events: 50 } }\n"),
                       dir + "/data");
  // A first reader that reads one event, then stops reading while a burst far larger than the
  // window and the sockets' buffers is written.
  std::atomic<bool> paused{false}, burst_done{false};
  std::string closed;
  std::vector<std::uint64_t> first;
  bridgeline::http::HttpResponse first_answer;
  std::thread reader([&] {
    first = ReadStreamUnchecked(
        broker.port(), "/v1/stream?after=0", kOps,
        [&](std::uint64_t) {
          if (!paused.exchange(true)) {
            while (!burst_done) std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          return true;
        },
        &closed, nullptr, &first_answer);
  });
  Escalate(broker.port(), 1, 1, "before");
  for (int i = 0; i < 500 && !paused; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(paused);
  constexpr int kWriters = 8, kPerWriter = 1250;
  Escalate(broker.port(), kWriters, kPerWriter, "burst");
  const std::uint64_t total = 2 + 2 * kWriters * kPerWriter;
  AwaitLogSequence(broker.port(), total);
  burst_done = true;
  reader.join();
  CHECK(StreamEndedWell(first_answer));

  INFO(closed);
  CHECK_THAT(closed, Catch::Contains("\"reason\":\"too-slow\""));
  CHECK_THAT(closed, Catch::Contains("Last-Event-ID"));
  REQUIRE(!first.empty());
  CHECK(first.back() < total);
  // It resumes where it stopped and reads to the end.
  auto rest = ReadStream(
      broker.port(), "/v1/stream",
      {{"Authorization", "Bearer demo-ops-token"}, {"Last-Event-ID", std::to_string(first.back())}},
      [&](std::uint64_t id) { return id < total; });
  std::vector<std::uint64_t> all = first;
  all.insert(all.end(), rest.begin(), rest.end());
  REQUIRE(all.size() == total);
  for (std::uint64_t i = 0; i < total; ++i) REQUIRE(all[i] == i + 1);
  // And the broker took every write while it happened.
  HttpClient client("127.0.0.1", broker.port());
  CHECK(client.Request("GET", "/readyz").status == 200);
}

TEST_CASE("the stream and the metrics refuse what they must, and filters hold") {
  const std::string dir = BrokerProcess::TempDir("stream-refusals");
  BrokerProcess broker(ConfigWithLogging(dir, "logging: { stream: { max_readers: 2 } }\n"),
                       dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  SECTION("the stream: ops only; bad positions and filters name the parameter") {
    CHECK(client.Request("GET", "/v1/stream").status == 401);
    CHECK(client.Request("GET", "/v1/stream", "", {{"Authorization", "Bearer demo-globex-token"}})
              .status == 403);
    auto bad_priority = client.Request("GET", "/v1/stream?min_priority=urgent", "", kOps);
    CHECK(bad_priority.status == 400);
    CHECK(ProblemField(bad_priority, "field") == "min_priority");
    Headers bad_id = kOps;
    bad_id["Last-Event-ID"] = "twelve";
    auto bad_resume = client.Request("GET", "/v1/stream", "", bad_id);
    CHECK(bad_resume.status == 400);
    CHECK(ProblemField(bad_resume, "field") == "Last-Event-ID");
    CHECK(client.Request("POST", "/v1/stream", "{}", kOps).status == 405);
    auto unknown = client.Request("GET", "/v1/stream?colour=red", "", kOps);
    CHECK(unknown.status == 400);
    CHECK(ProblemField(unknown, "field") == "colour");
    auto twice = client.Request("GET", "/v1/stream?min_priority=P1&min_priority=P4", "", kOps);
    CHECK(twice.status == 400);
    CHECK(ProblemField(twice, "field") == "min_priority");
  }
  SECTION("a position past the newest event (a log restored from a backup) is refused") {
    // Waiting there would skip, without a word, the new events numbered up to it.
    auto ahead = client.Request("GET", "/v1/stream?after=40", "", kOps);
    CHECK(ahead.status == 400);
    CHECK(ProblemField(ahead, "field") == "after");
    CHECK_THAT(ProblemField(ahead, "detail"),
               Catch::Contains("40 is past the newest event of this broker's log (0)"));
    Headers resume = kOps;
    resume["Last-Event-ID"] = "40";
    auto resumed = client.Request("GET", "/v1/stream?after=0", "", resume);
    CHECK(resumed.status == 400);
    CHECK(ProblemField(resumed, "field") == "Last-Event-ID");
  }
  SECTION("readers beyond the limit get 503 with Retry-After") {
    std::atomic<bool> release{false};
    std::vector<std::thread> holders;
    std::atomic<int> holders_ended_well{0};
    for (int i = 0; i < 2; ++i) {
      holders.emplace_back([&] {
        bridgeline::http::HttpResponse answer;
        ReadStreamUnchecked(
            broker.port(), "/v1/stream", kOps, [&](std::uint64_t) { return false; }, nullptr,
            nullptr, &answer);
        holders_ended_well += StreamEndedWell(answer);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto refused = client.Request("GET", "/v1/stream", "", kOps);
    CHECK(refused.status == 503);
    CHECK(refused.headers.count("retry-after"));
    Escalate(broker.port(), 1, 1, "release");  // each holder takes one event and leaves
    for (auto& holder : holders) holder.join();
    CHECK(holders_ended_well == 2);
  }
  SECTION("filters: a contract and event types") {
    Escalate(broker.port(), 1, 3, "filtered");
    AwaitLogSequence(broker.port(), 6);
    std::vector<std::string> lines;
    auto all = ReadStream(
        broker.port(), "/v1/stream?after=0", kOps, [&](std::uint64_t id) { return id < 6; },
        nullptr, &lines);
    std::vector<std::uint64_t> forwarded;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find("\"event\":\"forwarded\"") != std::string::npos)
        forwarded.push_back(all[i]);
    }
    REQUIRE(forwarded.size() == 3);
    auto filtered =
        ReadStream(broker.port(), "/v1/stream?after=0&contract=northwind-globex&type=forwarded",
                   kOps, [&](std::uint64_t id) { return id < forwarded.back(); });
    CHECK(filtered == forwarded);
    // A list filter may be repeated rather than comma-separated.
    auto repeated =
        ReadStream(broker.port(),
                   "/v1/stream?after=0&contract=northwind-globex&type=clock_breach&type=forwarded",
                   kOps, [&](std::uint64_t id) { return id < forwarded.back(); });
    CHECK(repeated == forwarded);
    auto other_contract =
        ReadStream(broker.port(),
                   "/v1/stream?after=0&contract=northwind-initech,northwind-globex&type=escalated",
                   kOps, [&](std::uint64_t) { return false; });
    REQUIRE(other_contract.size() == 1);
    CHECK(std::find(forwarded.begin(), forwarded.end(), other_contract.front()) == forwarded.end());
  }
  SECTION("/metrics: ops only, and valid for promtool") {
    CHECK(client.Request("GET", "/metrics").status == 401);
    CHECK(client.Request("GET", "/metrics", "", {{"Authorization", "Bearer demo-outsourcer-token"}})
              .status == 403);
    Escalate(broker.port(), 2, 5, "metrics");
    AwaitLogSequence(broker.port(), 20);
    // The lane counts an entry done once its forwarding is committed, which the log may show
    // a moment before the lane hears of it.
    CHECK(bridgeline::testing::Eventually(
        [&] {
          return bridgeline::testing::MetricValue(
                     broker.port(), "bridgeline_outbox_depth{connector=\"globex-desk\"}") == 0;
        },
        std::chrono::seconds(10)));
    auto metrics = client.Request("GET", "/metrics", "", kOps);
    REQUIRE(metrics.status == 200);
    CHECK_THAT(metrics.headers["content-type"], Catch::StartsWith("text/plain; version=0.0.4"));
    CHECK_THAT(metrics.body,
               Catch::Contains("bridgeline_escalations_total{contract=\"northwind-globex\"} 10\n"));
    CHECK_THAT(metrics.body,
               Catch::Contains("bridgeline_open_cases{status=\"FORWARDED\",priority=\"P2\"} 10\n"));
    CHECK_THAT(metrics.body,
               Catch::Contains(
                   "bridgeline_http_requests_total{route=\"/v1/escalations\",code=\"201\"} 10\n"));
    CHECK_THAT(metrics.body,
               Catch::Contains("bridgeline_outbox_depth{connector=\"globex-desk\"} 0\n"));
    const std::string file = dir + "/metrics.txt";
    std::ofstream(file) << metrics.body;
    int promtool = std::system(
        ("promtool check metrics < " + file + " > " + dir + "/promtool.txt 2>&1").c_str());
    std::ifstream report(dir + "/promtool.txt");
    std::string said((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
    INFO("promtool said: " << said);
    REQUIRE(promtool == 0);
    SECTION("promtool itself catches a broken exposition (the check can fail)") {
      std::ofstream(file) << "# TYPE broken counter\nbroken{le=\"1\" 3\n";
      CHECK(std::system(("promtool check metrics < " + file + " > /dev/null 2>&1").c_str()) != 0);
    }
  }
}
