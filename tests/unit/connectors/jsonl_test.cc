// The jsonl connector as the outbox lanes use it: several deliveries in flight at once.
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "broker/common/json.h"
#include "connectors/registry/registry.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::connectors::DeliveryResult;
using bridgeline::testing::BrokerProcess;
namespace v1 = bridgeline::v1;

std::unique_ptr<bridgeline::connectors::Connector> MakeJsonl(const std::string& dir,
                                                             std::uint64_t rotate_bytes,
                                                             std::uint32_t keep_files = 1000) {
  const auto* factory = bridgeline::connectors::Registry::Global().Find("jsonl");
  REQUIRE(factory != nullptr);
  auto settings = factory->NewSettings();
  const auto* descriptor = settings->GetDescriptor();
  settings->GetReflection()->SetString(settings.get(), descriptor->FindFieldByName("path"),
                                       "desk.jsonl");
  settings->GetReflection()->SetUInt64(settings.get(), descriptor->FindFieldByName("rotate_bytes"),
                                       rotate_bytes);
  settings->GetReflection()->SetUInt32(settings.get(), descriptor->FindFieldByName("keep_files"),
                                       keep_files);
  v1::ConnectorConfig config;
  config.set_name("desk");
  config.set_type("jsonl");
  config.mutable_settings()->PackFrom(*settings);
  bridgeline::connectors::ConnectorContext context;
  context.data_dir = dir;
  auto connector = factory->Create(config, context);
  REQUIRE(connector.ok());
  return std::move(connector).value();
}

v1::OutboxItem Item(std::uint64_t sequence) {
  v1::OutboxItem item;
  item.set_connector("desk");
  item.set_sequence(sequence);
  item.mutable_case_state()->set_id("BL-" + std::to_string(sequence));
  item.mutable_case_state()->set_subject("Card payments fail, case " + std::to_string(sequence));
  return item;
}

// Delivers sequences 1..threads*each from `threads` threads at once, `batch` items a call;
// all must be delivered.
void DeliverConcurrently(bridgeline::connectors::Connector* connector, int threads, int each,
                         int batch = 1) {
  std::vector<std::thread> workers;
  std::atomic<int> failed{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int k = 0; k < each; k += batch) {
        std::vector<v1::OutboxItem> items;
        for (int b = k; b < std::min(each, k + batch); ++b)
          items.push_back(Item(static_cast<std::uint64_t>(t * each + b + 1)));
        std::vector<const v1::OutboxItem*> pointers;
        for (const auto& item : items) pointers.push_back(&item);
        auto results = batch == 1 ? std::vector<DeliveryResult>{connector->Deliver(items[0])}
                                  : connector->DeliverBatch(pointers);
        REQUIRE(results.size() == items.size());
        for (const auto& result : results) {
          if (result.kind != DeliveryResult::Kind::kDelivered) ++failed;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  REQUIRE(failed == 0);
}

// The sequence of every line in `files`; each line must parse back as an OutboxItem.
std::multiset<std::uint64_t> SequencesIn(const std::vector<std::filesystem::path>& files) {
  std::multiset<std::uint64_t> sequences;
  for (const auto& file : files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      v1::OutboxItem item;
      INFO(line);
      REQUIRE(bridgeline::JsonToMessage(line, &item).ok());
      CHECK(item.case_state().id() == "BL-" + std::to_string(item.sequence()));
      sequences.insert(item.sequence());
    }
  }
  return sequences;
}

}  // namespace

TEST_CASE("deliveries in flight together each leave one whole line") {
  const std::string dir = BrokerProcess::TempDir("jsonl");
  const int threads = 8, each = 150;
  const int batch = GENERATE(1, 7);
  INFO("items per delivery: " << batch);

  SECTION("in one file") {
    auto connector = MakeJsonl(dir, 64ull << 20);
    DeliverConcurrently(connector.get(), threads, each, batch);
    auto sequences = SequencesIn({std::filesystem::path(dir) / "desk.jsonl"});
    REQUIRE(sequences.size() == threads * each);
    CHECK(std::set<std::uint64_t>(sequences.begin(), sequences.end()).size() == threads * each);
  }

  SECTION("across rotations, no file past the limit and no line lost") {
    const std::uint64_t limit = 4096;  // about 40 lines a file
    auto connector = MakeJsonl(dir, limit);
    DeliverConcurrently(connector.get(), threads, each, batch);
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      files.push_back(entry.path());
      CHECK(std::filesystem::file_size(entry.path()) <= limit);
    }
    CHECK(files.size() > 10);
    auto sequences = SequencesIn(files);
    REQUIRE(sequences.size() == threads * each);
    CHECK(std::set<std::uint64_t>(sequences.begin(), sequences.end()).size() == threads * each);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("an item that cannot be printed fails alone; the lines around it are whole") {
  const std::string dir = BrokerProcess::TempDir("jsonl");
  auto connector = MakeJsonl(dir, GENERATE(64ull << 20, 300ull));  // one file, or one a line
  std::vector<v1::OutboxItem> items{Item(1), Item(2), Item(3)};
  items[1].mutable_case_state()->mutable_created_at()->set_seconds(1ll << 60);  // no JSON form
  std::vector<const v1::OutboxItem*> pointers{&items[0], &items[1], &items[2]};
  auto results = connector->DeliverBatch(pointers);
  REQUIRE(results.size() == 3);
  CHECK(results[0].kind == DeliveryResult::Kind::kDelivered);
  CHECK(results[1].kind == DeliveryResult::Kind::kPermanentFailure);
  CHECK(results[1].error.find("cannot print event") != std::string::npos);
  CHECK(results[2].kind == DeliveryResult::Kind::kDelivered);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  CHECK(SequencesIn(files) == std::multiset<std::uint64_t>{1, 3});
  std::filesystem::remove_all(dir);
}

TEST_CASE("a rotation keeps keep_files old files, the oldest removed in the background") {
  const std::string dir = BrokerProcess::TempDir("jsonl-keep");
  const std::uint64_t limit = 4096;
  constexpr int kLines = 400;  // about ten files' worth
  {
    auto connector = MakeJsonl(dir, limit, 3);
    for (int i = 1; i <= kLines; ++i) {
      REQUIRE(connector->Deliver(Item(static_cast<std::uint64_t>(i))).kind ==
              DeliveryResult::Kind::kDelivered);
    }
  }  // the connector finishes its removals as it goes
  std::set<std::string> names;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
    files.push_back(entry.path());
  }
  CHECK(names ==
        std::set<std::string>{"desk.jsonl", "desk.jsonl.1", "desk.jsonl.2", "desk.jsonl.3"});
  // What is kept is the newest lines, with none missing between them.
  auto sequences = SequencesIn(files);
  REQUIRE(!sequences.empty());
  CHECK(*sequences.rbegin() == kLines);
  CHECK(sequences.size() == kLines - *sequences.begin() + 1);
  CHECK(*sequences.begin() > 1);
  std::filesystem::remove_all(dir);
}
