// The broker's two stages: the writer applies and writes, the sync stage makes it durable and
// only then answers. Over a real RocksDB store whose WAL syncs can be made to fail.
#include "broker/service/broker.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <numeric>
#include <set>

#include "tests/support/broker_process.h"
#include "tests/support/failing_file_system.h"
#include "tests/unit/engine/fixture.h"

namespace {

namespace v1 = bridgeline::v1;
using bridgeline::Status;
using bridgeline::service::Answer;
using bridgeline::service::Broker;
using bridgeline::store::Store;
using namespace bridgeline::engine::testing;

// What the broker handed on to the live log, as case id and event type. A commit is handed
// on after its answers, and before the next commit's.
class Handed {
 public:
  void Add(const std::vector<std::string>& logged) {
    std::lock_guard lock(mutex_);
    for (const auto& bytes : logged) {
      v1::Event event;
      event.ParseFromString(bytes);
      events_.push_back(event.case_id() + " " + v1::EventType::Value_Name(event.type()));
    }
    added_.notify_all();
  }
  // The events once there are at least `count` (or after 30 s).
  std::vector<std::string> WaitFor(std::size_t count) {
    std::unique_lock lock(mutex_);
    added_.wait_for(lock, std::chrono::seconds(30), [&] { return events_.size() >= count; });
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable added_;
  std::vector<std::string> events_;
};

// How many WAL syncs the broker has timed at `bound` seconds or less, as /metrics shows them.
double SyncsAtMost(const Broker& broker, const std::string& bound) {
  bridgeline::ops::Exposition out;
  broker.sync_durations().WriteTo(&out, "syncs");
  const std::string bucket = "syncs_bucket{le=\"" + bound + "\"} ";
  const std::string& text = out.text();
  const auto at = text.find(bucket);
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + bucket.size()));
}

Answer Escalate(Broker& broker, const std::string& ticket) {
  std::promise<Answer> answered;
  auto future = answered.get_future();
  broker.Escalate(Escalation("acme", ticket, "C-" + ticket), Outsourcer(), std::nullopt,
                  [&answered](Answer answer) { answered.set_value(std::move(answer)); });
  REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  return future.get();
}

}  // namespace

TEST_CASE("an escalation is answered once its commit is synced, and a failed sync answers 503") {
  const std::string dir = bridgeline::testing::BrokerProcess::TempDir("broker-sync");
  auto file_system = std::make_shared<bridgeline::testing::FailingFileSystem>();
  auto opened = Store::Open(dir, 0, file_system);
  REQUIRE(opened.ok());
  std::unique_ptr<Store> store = std::move(opened).value();
  Handed handed;
  {
    Broker broker(TestRules(), store.get(), [] { return kStart; });
    REQUIRE(broker.Recover().ok());
    broker.Start([](std::vector<bridgeline::store::OutboxEntry>) {},
                 [&handed](std::vector<std::string> logged) { handed.Add(logged); });

    Answer first = Escalate(broker, "T-1");
    REQUIRE(first.status.ok());
    CHECK(first.outcome.created);
    CHECK(handed.WaitFor(1) == std::vector<std::string>{"BL-1 escalated"});

    SECTION("every WAL sync is timed, so a slow disk shows in the sync histogram") {
      const double synced = SyncsAtMost(broker, "+Inf");
      const double fast = SyncsAtMost(broker, "0.032");
      CHECK(synced == static_cast<double>(broker.sync_durations().count()));
      CHECK(synced >= 1);
      file_system->DelayWalSyncs(std::chrono::milliseconds(40));
      REQUIRE(Escalate(broker, "T-slow").status.ok());
      file_system->DelayWalSyncs(std::chrono::milliseconds(0));
      // One more sync, counted above 32 ms and in no faster bucket.
      CHECK(SyncsAtMost(broker, "+Inf") == synced + 1);
      CHECK(SyncsAtMost(broker, "0.032") == fast);
    }
    SECTION("a commit whose sync fails is refused, and nothing of it is handed on") {
      file_system->FailWalSyncs(true);
      Answer refused = Escalate(broker, "T-2");
      CHECK(refused.status.code() == Status::Code::kUnavailable);
      CHECK_THAT(refused.status.message(), Catch::Contains("syncing the commit"));

      SECTION("so is every commit after it until the disk syncs again") {
        for (int i = 0; i < 3; ++i) {
          CHECK(Escalate(broker, "T-3-" + std::to_string(i)).status.code() ==
                Status::Code::kUnavailable);
        }
        CHECK(broker.stats().failed_commits >= 4);
      }
      file_system->FailWalSyncs(false);

      // The refused write is lost (the failed sync dropped it from the WAL). The broker
      // reopened the store and read back what it kept, so the retry opens a new case, with
      // the number nobody was given.
      Answer again = Escalate(broker, "T-2");
      REQUIRE(again.status.ok());
      CHECK(again.outcome.created);
      CHECK(again.outcome.state.id() == "BL-2");
      auto stored = store->GetCase("BL-2");
      REQUIRE(stored.ok());
      REQUIRE(stored->has_value());
      CHECK((*stored)->version() == 1);
      CHECK((*stored)->tier1_ticket_id() == "T-2");
      CHECK(Escalate(broker, "T-4").status.ok());
      broker.Stop();
      // Nothing of the refused commits was handed on.
      CHECK(handed.WaitFor(3) ==
            std::vector<std::string>{"BL-1 escalated", "BL-2 escalated", "BL-3 escalated"});
    }
    SECTION("commits that sync are answered in order, each handed on once") {
      constexpr int kEscalations = 200;
      std::mutex mutex;
      std::vector<int> order;
      std::vector<Answer> answers(kEscalations);
      std::promise<void> all_answered;
      for (int i = 0; i < kEscalations; ++i) {
        broker.Escalate(
            Escalation("acme", "T-many-" + std::to_string(i), "C-many-" + std::to_string(i)),
            Outsourcer(), std::nullopt, [&, i](Answer answer) {
              std::lock_guard lock(mutex);
              answers[i] = std::move(answer);
              order.push_back(i);
              if (order.size() == kEscalations) all_answered.set_value();
            });
      }
      REQUIRE(all_answered.get_future().wait_for(std::chrono::seconds(30)) ==
              std::future_status::ready);
      std::vector<int> sent(kEscalations);
      std::iota(sent.begin(), sent.end(), 0);
      CHECK(order == sent);
      std::set<std::string> cases;
      for (const auto& answer : answers) {
        REQUIRE(answer.status.ok());
        CHECK(store->GetCase(answer.outcome.state.id())->has_value());
        cases.insert(answer.outcome.state.id());
      }
      CHECK(cases.size() == kEscalations);
      CHECK(broker.stats().failed_commits == 0);
      broker.Stop();
      CHECK(handed.WaitFor(kEscalations + 1).size() == kEscalations + 1);
    }
    broker.Stop();
  }
  store.reset();
  std::filesystem::remove_all(dir);
}
