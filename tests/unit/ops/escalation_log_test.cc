#include "broker/ops/escalation_log.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <numeric>
#include <random>

namespace {

using namespace bridgeline;
namespace v1 = bridgeline::v1;
using Kind = ops::LogBatch::Kind;

std::string FreshDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("bridgeline-" + name + "-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Commits `count` escalations (contract alternating) to the store, as the broker would, and
// returns the serialized events it wrote.
std::vector<std::string> Commit(store::Store& store, int count, int first_case) {
  std::vector<store::Mutation> mutations(count);
  std::vector<store::Mutation*> pointers;
  for (int i = 0; i < count; ++i) {
    v1::Case state;
    state.set_id("BL-" + std::to_string(first_case + i));
    state.set_status(v1::NEW);
    v1::Event event;
    event.set_case_id(state.id());
    event.set_case_version(1);
    event.set_type(v1::EventType::escalated);
    event.mutable_context()->set_contract(i % 2 == 0 ? "even" : "odd");
    event.mutable_context()->set_priority(v1::P2);
    mutations[i].cases.push_back(state);
    mutations[i].events.push_back(event);
    pointers.push_back(&mutations[i]);
  }
  std::vector<std::string> logged;
  REQUIRE(store.Write(pointers, nullptr, &logged).ok());
  return logged;
}

ops::LogBatch NextBatch(ops::EscalationLog& log, std::uint64_t after, const ops::LogFilter& filter,
                        bool live, std::size_t max = 1000) {
  std::promise<ops::LogBatch> batch;
  log.Next(after, filter, live, max, [&](ops::LogBatch got) { batch.set_value(std::move(got)); });
  auto future = batch.get_future();
  REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return future.get();
}

}  // namespace

TEST_CASE("the escalation log serves readers from its window, the store and live") {
  const std::string dir = FreshDir("escalation-log");
  auto store = store::Store::Open(dir + "/db");
  REQUIRE(store.ok());
  Commit(**store, 30, 1);  // history from before this process: only in the store

  ops::EscalationLogOptions options;
  options.file_path = dir + "/escalation.log";
  options.window_events = 20;
  options.heartbeat_ms = 200;
  ops::EscalationLog log(options, store->get());
  REQUIRE(log.Start().ok());
  CHECK(log.last_sequence() == 30);
  log.Publish(Commit(**store, 30, 31));  // sequences 31..60; the window keeps 41..60
  for (int i = 0; i < 200 && log.last_sequence() < 60; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(log.last_sequence() == 60);
  const ops::LogFilter everything;

  SECTION("a reader from the start reads the store, then the window, each sequence once") {
    std::uint64_t cursor = 0;
    std::vector<std::uint64_t> seen;
    bool reached_window = false;
    while (cursor < 60) {
      auto batch = NextBatch(log, cursor, everything, reached_window, 7);
      REQUIRE(batch.kind == Kind::kRecords);
      reached_window = reached_window || !batch.from_history;
      for (const auto& record : batch.records) seen.push_back(record->sequence);
      cursor = batch.last;
    }
    REQUIRE(seen.size() == 60);
    for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);
    CHECK(reached_window);
  }
  SECTION("a filter skips what it does not keep but still moves the cursor") {
    auto filter = ops::ParseLogFilter({{"contract", "odd"}});
    REQUIRE(filter.ok());
    auto batch = NextBatch(log, 40, *filter, true);
    REQUIRE(batch.kind == Kind::kRecords);
    CHECK(batch.last == 60);
    CHECK(batch.records.size() == 10);
    for (const auto& record : batch.records) CHECK(record->contract == "odd");
  }
  SECTION("a live reader that fell out of the window is told it is too slow") {
    auto batch = NextBatch(log, 10, everything, true);
    CHECK(batch.kind == Kind::kTooSlow);
    CHECK(batch.last == 10);
  }
  SECTION("a reader at the head waits for the next commit") {
    std::promise<ops::LogBatch> next;
    log.Next(60, everything, true, 100, [&](ops::LogBatch got) { next.set_value(std::move(got)); });
    auto future = next.get_future();
    log.Publish(Commit(**store, 1, 61));
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto batch = future.get();
    REQUIRE(batch.kind == Kind::kRecords);
    REQUIRE(batch.records.size() == 1);
    CHECK(batch.records[0]->sequence == 61);
  }
  SECTION("an idle reader gets a heartbeat, and a shutdown closes it") {
    CHECK(NextBatch(log, 60, everything, true).kind == Kind::kHeartbeat);
    std::promise<ops::LogBatch> next;
    log.Next(60, everything, true, 100, [&](ops::LogBatch got) { next.set_value(std::move(got)); });
    log.CloseReaders();
    auto future = next.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(future.get().kind == Kind::kClosed);
    CHECK(NextBatch(log, 0, everything, false).kind == Kind::kClosed);
  }
  SECTION("every published event is one line of the file, and counted") {
    log.Stop();
    std::ifstream file(dir + "/escalation.log");
    std::string line;
    int lines = 0;
    while (std::getline(file, line)) {
      CHECK(line.find("\"sequence\":" + std::to_string(31 + lines) + ",") != std::string::npos);
      ++lines;
    }
    CHECK(lines == 30);
    CHECK(log.events().Get({"even", "escalated"}) == 15);
    CHECK(log.escalations().Get({"odd"}) == 15);
  }
  log.Stop();
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("after a crash the file gets the lines it missed from the store") {
  const std::string dir = FreshDir("escalation-file");
  auto store = store::Store::Open(dir + "/db");
  REQUIRE(store.ok());
  ops::EscalationLogOptions options;
  options.file_path = dir + "/escalation.log";
  {
    ops::EscalationLog log(options, store->get());
    REQUIRE(log.Start().ok());
    log.Publish(Commit(**store, 5, 1));
    log.Stop();
  }
  Commit(**store, 4, 6);  // committed, then the process died before the log thread wrote them
  {
    ops::EscalationLog log(options, store->get());
    REQUIRE(log.Start().ok());
    log.Publish(Commit(**store, 2, 10));
    log.Stop();
  }
  std::ifstream file(options.file_path);
  std::string line;
  std::vector<std::uint64_t> sequences;
  while (std::getline(file, line)) {
    auto at = line.find("\"sequence\":");
    REQUIRE(at != std::string::npos);
    sequences.push_back(std::stoull(line.substr(at + 11)));
  }
  std::vector<std::uint64_t> expected(11);
  std::iota(expected.begin(), expected.end(), 1);
  CHECK(sequences == expected);
  store->reset();
  std::filesystem::remove_all(dir);
}
