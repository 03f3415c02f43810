// A full disk: writes answer 503 and leave nothing partial, reads go on, and writes resume
// once space returns. The broker's data lives on a small tmpfs mounted for the test (root is
// needed to mount; without it the test reports itself skipped, exit code 77).
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
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

const std::map<std::string, std::string> kOutsourcer = {
    {"Authorization", "Bearer demo-outsourcer-token"}};
const std::map<std::string, std::string> kOps = {{"Authorization", "Bearer demo-ops-token"}};

// Big enough that a few hundred escalations fill what RocksDB preallocated for its WAL.
std::string Escalation(const std::string& ticket) {
  return R"({"contract":"northwind-globex","tier1_ticket_id":")" + ticket +
         R"(","customer":{"id":"C-)" + ticket +
         R"("},"severity":"SEV3","subject":"disk","description":")" + std::string(16000, 'x') +
         R"("})";
}

class SmallDisk {
 public:
  explicit SmallDisk(const std::string& dir) : dir_(dir) {
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=48m") == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  // Writes a file until the disk is full.
  void Fill() {
    std::ofstream filler(dir_ + "/filler", std::ios::binary);
    std::string block(1 << 20, '\0');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  void Free() { std::filesystem::remove(dir_ + "/filler"); }

 private:
  std::string dir_;
  bool mounted_ = false;
};

std::set<std::string> Tickets(HttpClient& client) {
  bool ok = false;
  std::set<std::string> tickets;
  for (const auto& view : bridgeline::testing::ListAllCases(client, kOps, &ok))
    tickets.insert(view.tier1_ticket_id());
  REQUIRE(ok);
  return tickets;
}

// The example config with another free-space watermark.
std::string ConfigWithWatermark(const std::string& dir, std::uint64_t min_free_bytes) {
  const std::string anchor = "  data_dir: ./var\n";
  return BrokerProcess::ConfigVariant(
      BrokerProcess::ExampleConfig(), dir,
      {{anchor, anchor + "  min_free_bytes: " + std::to_string(min_free_bytes) + "\n"}});
}

void FullDiskScenario(std::uint64_t min_free_bytes) {
  const std::string mount_point = BrokerProcess::TempDir("disk-full");
  SmallDisk disk(mount_point);
  if (!disk.mounted()) {
    WARN("cannot mount a tmpfs here (needs root): skipped");
    std::exit(77);
  }
  const std::string config =
      ConfigWithWatermark(BrokerProcess::TempDir("disk-full-config"), min_free_bytes);
  const std::string data_dir = mount_point + "/var";
  // The broker's output must not land on the disk the test fills.
  const std::string log_path = BrokerProcess::TempDir("disk-full-log") + "/broker.log";
  std::set<std::string> answered;
  std::set<std::string> refused;
  {
    BrokerProcess broker(config, data_dir, 0, log_path);
    HttpClient client("127.0.0.1", broker.port());
    INFO(broker.output());
    REQUIRE(client.Request("POST", "/v1/escalations", Escalation("before"), kOutsourcer).status ==
            201);
    answered.insert("before");

    disk.Fill();
    // RocksDB preallocated its WAL; escalate until that space runs out too.
    int status = 0;
    for (int i = 0; i < 5000 && status != 503; ++i) {
      const std::string ticket = "full-" + std::to_string(i);
      auto response = client.Request("POST", "/v1/escalations", Escalation(ticket), kOutsourcer);
      status = response.status;
      if (status == 201) answered.insert(ticket);
      if (status == 503) {
        refused.insert(ticket);
        CHECK(response.headers["content-type"] == "application/problem+json");
        CHECK_THAT(response.body, Catch::Contains("storage"));
        CHECK(response.headers.count("retry-after") == 1);
      }
    }
    REQUIRE(status == 503);
    CHECK(answered.size() ==
          1);  // refused at once: the watermark acts before RocksDB sees a full disk
    // Still full: still refused, and reads go on.
    auto again = client.Request("POST", "/v1/escalations", Escalation("still-full"), kOutsourcer);
    CHECK(again.status == 503);
    refused.insert("still-full");
    CHECK(client.Request("GET", "/v1/escalations/BL-1", {}, kOps).status == 200);
    auto not_ready = client.Request("GET", "/readyz");
    CHECK(not_ready.status == 503);  // not able to write: out of rotation, reads still served
    CHECK_THAT(not_ready.body, Catch::Contains("storage.min_free_bytes"));
    CHECK(client.Request("GET", "/healthz").status == 200);
    auto tickets = Tickets(client);
    for (const auto& ticket : refused) CHECK(tickets.count(ticket) == 0);  // nothing partial

    // Space returns: writes resume without a restart.
    disk.Free();
    int resumed = 0;
    for (int i = 0; i < 50 && resumed != 201; ++i) {
      resumed = client
                    .Request("POST", "/v1/escalations", Escalation("after-" + std::to_string(i)),
                             kOutsourcer)
                    .status;
      if (resumed == 201) answered.insert("after-" + std::to_string(i));
      if (resumed != 201) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(resumed == 201);
    CHECK(client.Request("GET", "/readyz").status == 200);
    broker.Kill();
  }
  // After a crash, exactly what was answered is there.
  BrokerProcess broker(config, data_dir, 0, log_path);
  HttpClient client("127.0.0.1", broker.port());
  auto tickets = Tickets(client);
  for (const auto& ticket : answered) CHECK(tickets.count(ticket) == 1);
  for (const auto& ticket : refused) CHECK(tickets.count(ticket) == 0);
  broker.Kill();
}

}  // namespace

// Below the free-space watermark writes are refused before RocksDB meets a full disk. (Debian's
// RocksDB 7.8 is built with assertions and aborts inside its WAL writer on ENOSPC, so the
// watermark is what keeps reads going; acknowledged writes survive that abort regardless.)
TEST_CASE("a full disk answers 503, keeps serving reads, and recovers when space returns",
          "[crash][disk]") {
  FullDiskScenario(8ull << 20);
}
