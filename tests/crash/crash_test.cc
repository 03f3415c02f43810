// kill -9 at random moments while drivers escalate and send events concurrently. After each
// restart every answered write is there exactly once with its events, pending deliveries and
// clocks, and nothing that was refused appears.
//
// BRIDGELINE_CRASH_KILLS sets the number of kills (20 by default; `make crash-test` runs 200).
#include <fmt/format.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "bridgeline/v1/api.pb.h"
#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::testing::BrokerProcess;
namespace v1 = bridgeline::v1;

constexpr int kWorkers = 8;
const std::map<std::string, std::string> kOutsourcer = {
    {"Authorization", "Bearer demo-outsourcer-token"}};
const std::map<std::string, std::string> kOps = {{"Authorization", "Bearer demo-ops-token"}};

std::string Escalation(const std::string& ticket, const std::string& customer,
                       const std::string& tier) {
  return R"({"contract":"northwind-globex","tier1_ticket_id":")" + ticket +
         R"(","customer":{"id":")" + customer + R"(","tier":")" + tier +
         R"("},"category":"general","severity":"SEV3","subject":"crash test"})";
}

// What the drivers were told, across all rounds.
struct Ledger {
  std::mutex mutex;
  std::map<std::string, std::string> case_of_ticket;              // answered escalations
  std::set<std::string> refused_tickets;                          // answered 400
  std::map<std::string, std::vector<std::string>> notes_of_case;  // answered comments
  std::set<std::string> refused_confirms;                         // cases where confirm got 409
};

void Drive(unsigned short port, int worker, int round, std::atomic<bool>* stop, Ledger* ledger) {
  HttpClient client("127.0.0.1", port, std::chrono::seconds(5), /*retry_stale=*/false);
  std::mt19937 random(static_cast<unsigned>(worker * 7919 + round));
  std::vector<std::string> mine;
  for (int n = 0; !stop->load(); ++n) {
    const std::string tag = fmt::format("W{}-R{}-{}", worker, round, n);
    const int dice = static_cast<int>(random() % 20);
    bridgeline::http::HttpResponse response;
    if (mine.empty() || dice < 8) {
      response = client.Request("POST", "/v1/escalations",
                                Escalation("T-" + tag, "C-" + tag, "standard"), kOutsourcer);
      v1::CaseView view;
      if (response.status == 201 && bridgeline::testing::ParseJson(response.body, &view)) {
        std::lock_guard lock(ledger->mutex);
        ledger->case_of_ticket["T-" + tag] = view.id();
        mine.push_back(view.id());
      }
    } else if (dice < 10) {
      response = client.Request("POST", "/v1/escalations",
                                Escalation("BAD-" + tag, "C-" + tag, "diamond"), kOutsourcer);
      if (response.status == 400) {
        std::lock_guard lock(ledger->mutex);
        ledger->refused_tickets.insert("BAD-" + tag);
      }
    } else if (dice < 11) {
      const std::string id = mine[random() % mine.size()];
      response = client.Request("POST", "/v1/escalations/" + id + "/events",
                                R"({"type":"confirm"})", kOutsourcer);
      if (response.status == 409) {
        std::lock_guard lock(ledger->mutex);
        ledger->refused_confirms.insert(id);
      }
    } else {
      const std::string id = mine[random() % mine.size()];
      response = client.Request("POST", "/v1/escalations/" + id + "/events",
                                R"({"type":"comment","note":"note-)" + tag + R"("})", kOutsourcer);
      if (response.status == 200) {
        std::lock_guard lock(ledger->mutex);
        ledger->notes_of_case[id].push_back("note-" + tag);
      }
    }
    // The broker is gone (killed): do not spin.
    if (response.status == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Every case, by tier-1 ticket, read through the paginated list as ops.
std::map<std::string, std::vector<v1::CaseView>> AllCasesByTicket(HttpClient& client) {
  bool ok = false;
  std::map<std::string, std::vector<v1::CaseView>> by_ticket;
  for (auto& view : bridgeline::testing::ListAllCases(client, kOps, &ok))
    by_ticket[view.tier1_ticket_id()].push_back(view);
  REQUIRE(ok);
  return by_ticket;
}

void Verify(HttpClient& client, Ledger& ledger, const std::set<std::string>& check_events_of) {
  auto by_ticket = AllCasesByTicket(client);
  for (const auto& [ticket, id] : ledger.case_of_ticket) {
    INFO("answered escalation " << ticket << " -> " << id);
    REQUIRE(by_ticket[ticket].size() == 1);  // present, exactly once
    REQUIRE(by_ticket[ticket].front().id() == id);
  }
  for (const auto& ticket : ledger.refused_tickets) {
    INFO("refused escalation " << ticket);
    REQUIRE(by_ticket.count(ticket) == 0);
  }
  for (const auto& id : check_events_of) {
    auto response = client.Request("GET", "/v1/escalations/" + id, {}, kOps);
    REQUIRE(response.status == 200);
    v1::CaseView view;
    REQUIRE(bridgeline::testing::ParseJson(response.body, &view));
    std::map<std::string, int> seen;
    for (const auto& event : view.events()) {
      REQUIRE(event.type() != v1::EventType::confirm);  // every confirm was refused
      if (event.type() == v1::EventType::comment) ++seen[event.note()];
    }
    for (const auto& note : ledger.notes_of_case[id]) {
      INFO("case " << id << " comment " << note);
      REQUIRE(seen[note] == 1);  // every answered event, exactly once
    }
    // Its clocks came back with it.
    int running = 0;
    for (const auto& clock : view.clocks())
      running += clock.state() == v1::Clock::RUNNING && clock.has_due_at();
    REQUIRE(running == 2);
  }
}

}  // namespace

TEST_CASE("every answered write survives kill -9, and nothing refused appears", "[crash]") {
  const char* env = std::getenv("BRIDGELINE_CRASH_KILLS");
  const int kills = env ? std::atoi(env) : 20;
  const std::string data_dir = BrokerProcess::TempDir("crash");
  // The drivers and the checks go as fast as they can: no rate limit.
  const std::string config = BrokerProcess::ConfigVariant(
      BrokerProcess::ExampleConfig(), BrokerProcess::TempDir("crash-config"),
      {{"rate_limit: { requests_per_second: 1000, burst: 2000 }",
        "rate_limit: { requests_per_second: 0 }"}});
  Ledger ledger;
  std::mt19937 random(20261122);
  std::size_t verified_cases = 0;

  for (int round = 0; round < kills; ++round) {
    INFO("round " << round);
    std::set<std::string> cases_before;
    for (const auto& [ticket, id] : ledger.case_of_ticket) cases_before.insert(id);
    {
      BrokerProcess broker(config, data_dir);
      std::atomic<bool> stop{false};
      std::vector<std::thread> workers;
      for (int worker = 0; worker < kWorkers; ++worker) {
        workers.emplace_back(Drive, broker.port(), worker, round, &stop, &ledger);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 550));
      broker.Kill();
      stop = true;
      for (auto& worker : workers) worker.join();
    }
    BrokerProcess broker(config, data_dir);
    HttpClient client("127.0.0.1", broker.port());
    // Check this round's new cases and every case that got a comment this round.
    std::set<std::string> fresh;
    for (const auto& [ticket, id] : ledger.case_of_ticket) {
      if (!cases_before.count(id)) fresh.insert(id);
    }
    for (const auto& [id, notes] : ledger.notes_of_case) {
      for (const auto& note : notes) {
        if (note.find(fmt::format("-R{}-", round)) != std::string::npos) fresh.insert(id);
      }
    }
    Verify(client, ledger, fresh);
    verified_cases += fresh.size();

    // Pending deliveries resume: every answered case reaches the client's desk.
    std::set<std::string> waiting(fresh);
    for (int attempt = 0; attempt < 500 && !waiting.empty(); ++attempt) {
      for (auto it = waiting.begin(); it != waiting.end();) {
        v1::CaseView view;
        auto response = client.Request("GET", "/v1/escalations/" + *it, {}, kOps);
        it = response.status == 200 && bridgeline::testing::ParseJson(response.body, &view) &&
                     view.status() == v1::FORWARDED
                 ? waiting.erase(it)
                 : std::next(it);
      }
      if (!waiting.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO("cases never forwarded: " << waiting.size());
    REQUIRE(waiting.empty());
    broker.Kill();
  }

  // At the end, everything ever answered, once more, and the desk file has every case.
  BrokerProcess broker(config, data_dir);
  HttpClient client("127.0.0.1", broker.port());
  std::set<std::string> all;
  for (const auto& [ticket, id] : ledger.case_of_ticket) all.insert(id);
  Verify(client, ledger, all);
  // The desk file rotates at 64 MiB: on a fast machine the rounds write more than that, and
  // the escalations are then in the rotated files (globex-desk.jsonl.1 is the newest).
  std::set<std::string> delivered;
  int desk_files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(data_dir) / "outbox")) {
    if (entry.path().filename().string().rfind("globex-desk.jsonl", 0) != 0) continue;
    ++desk_files;
    std::ifstream desk(entry.path());
    std::string line;
    while (std::getline(desk, line)) {
      auto at = line.find(R"("type":"escalated")");
      if (at == std::string::npos) continue;
      auto id_at = line.find(R"("case_id":")");
      delivered.insert(line.substr(id_at + 11, line.find('"', id_at + 11) - id_at - 11));
    }
  }
  INFO("desk files read: " << desk_files);
  for (const auto& id : all) {
    INFO("case " << id << " never reached the desk file");
    CHECK(delivered.count(id) == 1);
  }
  // The test did real work.
  CHECK(ledger.case_of_ticket.size() >= static_cast<std::size_t>(kills) * 10);
  CHECK(ledger.refused_tickets.size() >= static_cast<std::size_t>(kills));
  CHECK(verified_cases >= ledger.case_of_ticket.size());
  std::filesystem::remove_all(data_dir);
}
