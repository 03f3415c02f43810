// The outbox lanes with a connector that takes batches: what goes together, what is retried
// alone, and what leaves the store.
#include "connectors/outbox/dispatcher.h"

#include <google/protobuf/empty.pb.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/broker_process.h"

namespace {

namespace v1 = bridgeline::v1;
using bridgeline::connectors::Connector;
using bridgeline::connectors::DeliveryResult;
using bridgeline::testing::BrokerProcess;

// What the recording connector saw, shared with the test.
struct Seen {
  std::mutex mutex;
  std::vector<std::vector<std::uint64_t>> batches;              // sequences, as each call got them
  std::map<std::string, std::vector<std::uint64_t>> delivered;  // by case, in delivery order
  std::set<std::uint64_t> fail_once;  // refused (retry) the first time they come
  std::vector<v1::OutboxItem> items;  // every item delivered, as the connector got it
};

Seen* seen = nullptr;

// Takes up to 8 at once and refuses the sequences in `fail_once` the first time.
class RecordingConnector : public Connector {
 public:
  std::size_t max_batch() const override { return 8; }
  DeliveryResult Deliver(const v1::OutboxItem& item) override { return DeliverBatch({&item})[0]; }
  std::vector<DeliveryResult> DeliverBatch(
      const std::vector<const v1::OutboxItem*>& items) override {
    std::lock_guard lock(seen->mutex);
    std::vector<DeliveryResult> results;
    auto& batch = seen->batches.emplace_back();
    for (const auto* item : items) {
      batch.push_back(item->event().sequence());
      if (seen->fail_once.erase(item->event().sequence())) {
        results.push_back(DeliveryResult::Retry("refused on purpose"));
        continue;
      }
      seen->delivered[item->event().case_id()].push_back(item->event().sequence());
      seen->items.push_back(*item);
      results.push_back(DeliveryResult::Delivered());
    }
    return results;
  }
};

class RecordingFactory : public bridgeline::connectors::ConnectorFactory {
 public:
  std::string type() const override { return "recording"; }
  std::unique_ptr<google::protobuf::Message> NewSettings() const override {
    return std::make_unique<google::protobuf::Empty>();
  }
  bridgeline::Status Validate(const google::protobuf::Message&) const override {
    return bridgeline::Status::Ok();
  }
  bridgeline::Result<std::unique_ptr<Connector>> Create(
      const v1::ConnectorConfig&, const bridgeline::connectors::ConnectorContext&) const override {
    return std::unique_ptr<Connector>(std::make_unique<RecordingConnector>());
  }
};

// An escalation of `case_id` as committed: the event holds the case as created, as the log
// keeps it, and case_state the case after it.
bridgeline::store::OutboxEntry Entry(std::uint64_t sequence, const std::string& case_id) {
  v1::OutboxItem item;
  item.set_connector("desk");
  item.mutable_event()->set_sequence(sequence);
  item.mutable_event()->set_case_id(case_id);
  item.mutable_event()->set_type(v1::EventType::escalated);
  item.mutable_event()->mutable_created()->set_id(case_id);
  item.mutable_event()->mutable_created()->set_subject("Card payments fail");
  item.mutable_case_state()->set_id(case_id);
  item.mutable_case_state()->set_subject("Card payments fail");
  *item.mutable_enqueued_at() = bridgeline::ToTimestamp(bridgeline::WallClockNow());
  bridgeline::store::OutboxEntry entry;
  entry.key = std::string("desk") + '\0' + bridgeline::store::Store::NumberKey(sequence);
  entry.connector = "desk";
  entry.case_id = case_id;
  entry.enqueued_at = bridgeline::WallClockNow();
  entry.item_bytes = item.SerializeAsString();
  return entry;
}

// A store in a temporary directory and a started dispatcher with one "desk" lane of the
// recording connector, two threads, retries after 10 ms.
struct Lane {
  Lane() : dir(BrokerProcess::TempDir("dispatcher")) {
    auto opened = bridgeline::store::Store::Open(dir);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    registry.Register(std::make_unique<RecordingFactory>());
    v1::BrokerConfig config;
    auto* connector = config.add_connectors();
    connector->set_name("desk");
    connector->set_type("recording");
    connector->mutable_delivery()->set_concurrency(2);
    connector->mutable_delivery()->mutable_first_backoff()->set_nanos(10'000'000);  // 10 ms
    connector->mutable_delivery()->mutable_breaker()->set_failures(1000);
    auto created = bridgeline::connectors::Dispatcher::Create(config, store.get(), registry, {});
    REQUIRE(created.ok());
    dispatcher = std::move(created).value();
    REQUIRE(dispatcher->Start().ok());
  }
  ~Lane() {
    dispatcher.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  // The lane's state once nothing waits (or after 20 s), the lane stopped.
  bridgeline::connectors::Dispatcher::LaneState Drained() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (dispatcher->Lanes()["desk"].depth > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto state = dispatcher->Lanes()["desk"];
    dispatcher->Stop();
    return state;
  }

  std::string dir;
  std::unique_ptr<bridgeline::store::Store> store;
  bridgeline::connectors::Registry registry;
  std::unique_ptr<bridgeline::connectors::Dispatcher> dispatcher;
};

}  // namespace

TEST_CASE("a lane delivers ready cases in batches and retries a refused item alone") {
  Seen state;
  seen = &state;
  // 20 cases with 10 events each, committed a case-round at a time; two events refused once,
  // both of one case so that no batch holds both (the second of two refused in one batch
  // follows the first at once, without a backoff of its own: the next test).
  const int cases = 20, events = 10;
  state.fail_once = {23, 63};
  Lane desk;
  std::uint64_t sequence = 0;
  for (int round = 0; round < events; ++round) {
    std::vector<bridgeline::store::OutboxEntry> entries;
    for (int c = 0; c < cases; ++c) entries.push_back(Entry(++sequence, "BL-" + std::to_string(c)));
    desk.dispatcher->Enqueue(std::move(entries));
  }
  const auto lane = desk.Drained();

  REQUIRE(lane.depth == 0);
  CHECK(lane.delivered == cases * events);
  CHECK(lane.retried == 2);
  CHECK(state.fail_once.empty());

  SECTION("each case's events arrive once each, in commit order") {
    REQUIRE(state.delivered.size() == cases);
    for (const auto& [case_id, sequences] : state.delivered) {
      INFO(case_id);
      REQUIRE(sequences.size() == events);
      CHECK(std::is_sorted(sequences.begin(), sequences.end()));
    }
  }
  SECTION("a batch holds at most one event of a case, and several cases") {
    std::size_t largest = 0;
    for (const auto& batch : state.batches) {
      largest = std::max(largest, batch.size());
      std::set<std::uint64_t> case_numbers;
      for (auto s : batch) case_numbers.insert((s - 1) % cases);
      CHECK(case_numbers.size() == batch.size());
    }
    CHECK(largest > 1);
    CHECK(largest <= 8);
  }
  SECTION("a refused item is tried twice, the second time alone") {
    for (std::uint64_t refused : {23u, 63u}) {
      INFO(refused);
      std::vector<std::size_t> sizes;  // of the batches it came in
      for (const auto& batch : state.batches) {
        if (std::find(batch.begin(), batch.end(), refused) != batch.end())
          sizes.push_back(batch.size());
      }
      REQUIRE(sizes.size() == 2);
      CHECK(sizes.back() == 1);
    }
  }
}

TEST_CASE("once one refused item of a batch gets through, the others follow without a backoff") {
  Seen state;
  seen = &state;
  state.fail_once = {1, 2, 3};
  Lane desk;
  // Three cases committed together: one worker takes them as one batch, all refused.
  std::vector<bridgeline::store::OutboxEntry> entries;
  for (std::uint64_t s = 1; s <= 3; ++s) entries.push_back(Entry(s, "BL-" + std::to_string(s)));
  desk.dispatcher->Enqueue(std::move(entries));
  const auto lane = desk.Drained();
  REQUIRE(lane.delivered == 3);
  CHECK(lane.retried == 1);  // only the first waited a backoff
  REQUIRE(state.batches.size() == 4);
  CHECK(state.batches[0].size() == 3);
  for (std::size_t k = 1; k < 4; ++k) CHECK(state.batches[k].size() == 1);
}

TEST_CASE("a delivery carries the case once, as case_state, not the escalated event's copy") {
  Seen state;
  seen = &state;
  Lane desk;
  desk.dispatcher->Enqueue({Entry(1, "BL-1"), Entry(2, "BL-2")});
  REQUIRE(desk.Drained().delivered == 2);
  REQUIRE(state.items.size() == 2);
  for (const auto& item : state.items) {
    INFO(item.event().case_id());
    CHECK(item.event().type() == v1::EventType::escalated);
    CHECK_FALSE(item.event().has_created());
    CHECK(item.case_state().id() == item.event().case_id());
    CHECK(item.case_state().subject() == "Card payments fail");
  }
}
