#include "broker/store/store.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/support/broker_process.h"
#include "tests/support/failing_file_system.h"

namespace {

namespace v1 = bridgeline::v1;
using bridgeline::Status;
using bridgeline::store::Store;

}  // namespace

TEST_CASE("an escalation is stored whole and handed on without the case as created") {
  const std::string dir = bridgeline::testing::BrokerProcess::TempDir("store");
  auto opened = Store::Open(dir);
  REQUIRE(opened.ok());
  std::unique_ptr<Store> store = std::move(opened).value();

  v1::Case state;
  state.set_id("BL-1");
  state.set_version(2);
  state.set_status(v1::NEW);
  state.set_contract("globex");
  state.set_owner("globex-service-desk");
  state.mutable_customer()->set_name("Ada");
  bridgeline::store::Mutation mutation;
  mutation.cases.push_back(state);
  v1::Event escalated;
  escalated.set_case_id("BL-1");
  escalated.set_case_version(1);
  escalated.set_type(v1::EventType::escalated);
  escalated.mutable_context()->set_contract("globex");
  *escalated.mutable_created() = state;
  escalated.mutable_created()->set_version(1);
  v1::Event comment;
  comment.set_case_id("BL-1");
  comment.set_case_version(2);
  comment.set_type(v1::EventType::comment);
  comment.set_note("called the customer back");
  mutation.events = {escalated, comment};
  mutation.deliveries.push_back({"desk", 0, 0});
  mutation.deliveries.push_back({"desk", 1, 0});
  std::vector<bridgeline::store::Mutation*> mutations{&mutation};
  std::vector<bridgeline::store::OutboxEntry> enqueued;
  std::vector<std::string> logged;
  REQUIRE(store->Write(mutations, &enqueued, &logged).ok());

  SECTION("the stored log keeps the case as created") {
    auto events = store->GetEvents("BL-1");
    REQUIRE(events.ok());
    REQUIRE(events->size() == 2);
    CHECK(events->at(0).created().version() == 1);
    CHECK(events->at(0).created().customer().name() == "Ada");
    CHECK(events->at(0).context().contract() == "globex");
    CHECK(events->at(1).note() == "called the customer back");
    CHECK_FALSE(events->at(1).has_created());
  }
  SECTION("the caller's events still hold it") {
    CHECK(mutation.events[0].created().version() == 1);
    CHECK(mutation.events[0].sequence() == 1);
  }
  SECTION("the live log gets every event, an escalation without its copy") {
    REQUIRE(logged.size() == 2);
    v1::Event first, second;
    REQUIRE(first.ParseFromString(logged[0]));
    REQUIRE(second.ParseFromString(logged[1]));
    CHECK_FALSE(first.has_created());
    CHECK(first.type() == v1::EventType::escalated);
    CHECK(first.sequence() == 1);
    CHECK(first.context().contract() == "globex");
    CHECK(second.note() == "called the customer back");
    CHECK(second.sequence() == 2);
  }
  SECTION("lanes get the case once, as case_state") {
    REQUIRE(enqueued.size() == 2);
    v1::OutboxItem item;
    REQUIRE(item.ParseFromString(enqueued[0].item_bytes));
    CHECK_FALSE(item.event().has_created());
    CHECK(item.event().type() == v1::EventType::escalated);
    CHECK(item.case_state().customer().name() == "Ada");
    CHECK(item.connector() == "desk");
    REQUIRE(item.ParseFromString(enqueued[1].item_bytes));
    CHECK(item.event().note() == "called the customer back");
  }
  SECTION("an entry recovered from the store has the whole event again") {
    std::vector<bridgeline::store::OutboxEntry> recovered;
    REQUIRE(store
                ->ForEachOutbox("desk",
                                [&](bridgeline::store::OutboxEntry&& entry) {
                                  recovered.push_back(std::move(entry));
                                  return true;
                                })
                .ok());
    REQUIRE(recovered.size() == 2);
    v1::OutboxItem item;
    REQUIRE(item.ParseFromString(recovered[0].item_bytes));
    CHECK(item.event().created().customer().name() == "Ada");
  }
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("a case's history is read a page at a time, from the start or the latest") {
  const std::string dir = bridgeline::testing::BrokerProcess::TempDir("store-events");
  auto opened = Store::Open(dir);
  REQUIRE(opened.ok());
  std::unique_ptr<Store> store = std::move(opened).value();
  // Two cases whose events interleave in the log: 25 for BL-1, 3 for BL-2.
  for (std::uint64_t version = 1; version <= 25; ++version) {
    bridgeline::store::Mutation mutation;
    for (const std::string id : {"BL-1", "BL-2"}) {
      if (id == "BL-2" && version > 3) continue;
      v1::Case state;
      state.set_id(id);
      state.set_version(version);
      state.set_status(v1::FORWARDED);
      mutation.cases.push_back(state);
      v1::Event comment;
      comment.set_case_id(id);
      comment.set_case_version(version);
      comment.set_type(v1::EventType::comment);
      comment.set_note(id + " #" + std::to_string(version));
      mutation.events.push_back(comment);
    }
    std::vector<bridgeline::store::Mutation*> mutations{&mutation};
    std::vector<bridgeline::store::OutboxEntry> enqueued;
    REQUIRE(store->Write(mutations, &enqueued).ok());
  }
  auto versions = [](const std::vector<v1::Event>& events) {
    std::vector<std::uint64_t> out;
    for (const auto& event : events) out.push_back(event.case_version());
    return out;
  };
  using Versions = std::vector<std::uint64_t>;

  SECTION("from the start, a page after a version") {
    auto all = store->GetEvents("BL-1");
    REQUIRE(all.ok());
    CHECK(all->size() == 25);
    CHECK(all->back().note() == "BL-1 #25");
    auto page = store->GetEvents("BL-1", 10, 4);
    REQUIRE(page.ok());
    CHECK(versions(*page) == Versions{11, 12, 13, 14});
    auto tail = store->GetEvents("BL-1", 23, 10);
    REQUIRE(tail.ok());
    CHECK(versions(*tail) == Versions{24, 25});  // never another case's
    auto past = store->GetEvents("BL-1", 25, 10);
    REQUIRE(past.ok());
    CHECK(past->empty());
    auto last_possible = store->GetEvents("BL-1", UINT64_MAX, 10);
    REQUIRE(last_possible.ok());
    CHECK(last_possible->empty());
  }
  SECTION("the latest, oldest first") {
    auto latest = store->GetLatestEvents("BL-1", 3);
    REQUIRE(latest.ok());
    CHECK(versions(*latest) == Versions{23, 24, 25});
    CHECK(latest->front().note() == "BL-1 #23");
    auto other = store->GetLatestEvents("BL-2", 10);
    REQUIRE(other.ok());
    CHECK(versions(*other) == Versions{1, 2, 3});  // stops at the case before it
    CHECK(other->back().note() == "BL-2 #3");
    auto none = store->GetLatestEvents("BL-3", 10);
    REQUIRE(none.ok());
    CHECK(none->empty());
  }
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("a write left unsynced is durable only if its sync succeeds before any reopening") {
  const std::string dir = bridgeline::testing::BrokerProcess::TempDir("store-sync");
  auto file_system = std::make_shared<bridgeline::testing::FailingFileSystem>();
  auto opened = Store::Open(dir, 0, file_system);
  REQUIRE(opened.ok());
  std::unique_ptr<Store> store = std::move(opened).value();
  auto write = [&](const std::string& case_id, std::uint64_t* generation) {
    bridgeline::store::Mutation mutation;
    mutation.cases.emplace_back().set_id(case_id);
    std::vector<bridgeline::store::Mutation*> mutations{&mutation};
    return store->Write(mutations, nullptr, nullptr, generation);
  };

  std::uint64_t first = 0;
  REQUIRE(write("BL-1", &first).ok());
  SECTION("readers see it before the sync, and the sync makes it durable") {
    auto read = store->GetCase("BL-1");
    REQUIRE(read.ok());
    CHECK(read->has_value());
    CHECK(store->Sync(first).ok());
    CHECK(store->Writable().ok());
  }
  SECTION("a failed sync is reported, and so is every later sync of the same write") {
    file_system->FailWalSyncs(true);
    Status failed = store->Sync(first);
    CHECK(failed.code() == Status::Code::kUnavailable);
    CHECK_THAT(failed.message(), Catch::Contains("syncing the commit"));
    CHECK(file_system->failed_syncs() >= 1);
    file_system->FailWalSyncs(false);
    // The disk syncs again, but the write went to a log whose sync failed: it may be lost.
    CHECK_FALSE(store->Sync(first).ok());
    CHECK_FALSE(store->Writable().ok());

    // The next write reopens the database and starts a new generation.
    std::uint64_t second = 0;
    REQUIRE(write("BL-2", &second).ok());
    CHECK(second != first);
    CHECK_FALSE(store->Sync(first).ok());
    CHECK(store->Sync(second).ok());
    CHECK(store->Writable().ok());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("RocksDB's own diagnostic log is kept to a bounded size") {
  const std::string dir = bridgeline::testing::BrokerProcess::TempDir("store-log");
  { REQUIRE(Store::Open(dir).ok()); }
  // RocksDB writes the options it runs with to OPTIONS-<number>; the newest is the last open's.
  std::filesystem::path newest;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && !name.ends_with(".dbtmp") &&
        name > newest.filename().string())
      newest = entry.path();
  }
  REQUIRE_FALSE(newest.empty());
  std::ifstream in(newest);
  std::string options((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(options, Catch::Contains("max_log_file_size=16777216"));
  CHECK_THAT(options, Catch::Contains("keep_log_file_num=10"));
  std::filesystem::remove_all(dir);
}
