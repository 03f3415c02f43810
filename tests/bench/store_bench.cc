// The store: group commit mechanisms compared, durable escalations per second through the
// broker with 1, 8 and 64 concurrent writers, and recovery time with a million open cases.
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include "broker/report/kpis.h"
#include "broker/service/broker.h"
#include "broker/store/store.h"
#include "tests/bench/bench.h"
#include "tests/support/broker_process.h"

namespace bridgeline::bench {

namespace v1 = bridgeline::v1;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRun = std::chrono::seconds(4);

v1::EscalateRequest Request(std::uint64_t i) {
  return EscalationRequest("northwind-globex", i, v1::SEV2);
}

v1::Actor Outsourcer() { return Party("northwind-bpo", v1::OUTSOURCER); }

// Raw RocksDB, the same bytes per command as an escalation writes, two ways of sharing fsyncs.
double RawWritesPerSecond(int writers, bool single_writer, const std::string& dir) {
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir, &raw).ok()) throw std::runtime_error("cannot open " + dir);
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const std::string value(1800, 'v');  // a case, its event twice and an outbox item: ~1.8 KB

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  // Single writer: commands queue their batches; one thread writes whatever is queued at once.
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<std::string, std::promise<void>>> queue;
  std::thread writer;
  if (single_writer) {
    writer = std::thread([&] {
      while (true) {
        std::deque<std::pair<std::string, std::promise<void>>> taken;
        {
          std::unique_lock lock(mutex);
          wake.wait(lock, [&] { return stop || !queue.empty(); });
          if (stop && queue.empty()) return;
          taken.swap(queue);
        }
        rocksdb::WriteBatch group;
        for (auto& [key, promise] : taken) group.Put(key, value);
        (void)db->Write(sync, &group);
        for (auto& [key, promise] : taken) promise.set_value();
      }
    });
  }
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (std::uint64_t i = 0; !stop; ++i) {
        std::string key = fmt::format("{:04}-{:012}", w, i);
        if (single_writer) {
          std::promise<void> promise;
          auto future = promise.get_future();
          {
            std::lock_guard lock(mutex);
            queue.emplace_back(std::move(key), std::move(promise));
          }
          wake.notify_one();
          future.wait();
        } else {
          rocksdb::WriteBatch batch;
          batch.Put(key, value);
          (void)db->Write(sync, &batch);  // RocksDB's write groups share the fsync
        }
        ++done;
      }
    });
  }
  const auto start = Clock::now();
  std::this_thread::sleep_for(kRun);
  stop = true;
  wake.notify_all();
  for (auto& thread : threads) thread.join();
  if (writer.joinable()) writer.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  db.reset();
  std::filesystem::remove_all(dir);
  return done / seconds;
}

// Escalations through the real broker (engine + group commit + synced RocksDB) with `writers`
// requests outstanding at all times, as the HTTP server holds them: one feeder thread (standing
// in for the I/O threads) builds each next request when an answer frees a slot.
double BrokerEscalationsPerSecond(int writers, const std::string& dir) {
  std::filesystem::remove_all(dir);
  auto store = store::Store::Open(dir);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  service::Broker broker(ExampleRules(), store->get(), [] { return WallClockNow(); });
  (void)broker.Recover();
  broker.Start(nullptr);

  std::mutex mutex;
  std::condition_variable freed;
  int free_slots = writers;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0}, failed{0};
  std::thread feeder([&] {
    for (std::uint64_t i = 0;; ++i) {
      {
        std::unique_lock lock(mutex);
        freed.wait(lock, [&] { return stop || free_slots > 0; });
        if (stop) return;
        --free_slots;
      }
      broker.Escalate(Request(i), Outsourcer(), std::nullopt, [&](service::Answer answer) {
        (answer.status.ok() ? done : failed)++;
        {
          std::lock_guard lock(mutex);
          ++free_slots;
        }
        freed.notify_one();
      });
    }
  });
  const auto start = Clock::now();
  std::this_thread::sleep_for(kRun);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::uint64_t answered = done;
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  freed.notify_all();
  feeder.join();
  auto stats = broker.stats();
  broker.Stop();
  std::cout << fmt::format(
      "| broker: escalations per synced write with {} outstanding | {:.1f} |\n", writers,
      static_cast<double>(stats.commands) / std::max<std::uint64_t>(1, stats.commits));
  if (failed)
    std::cout << fmt::format("| broker: FAILED escalations at {} writers | {} |\n", writers,
                             failed.load());
  store->reset();
  std::filesystem::remove_all(dir);
  return answered / seconds;
}

}  // namespace

void StoreBenchmarks() {
  const std::string dir = testing::BrokerProcess::TempDir("bench-store");
  if (std::getenv("BRIDGELINE_BENCH_PROFILE")) {  // one broker run, for a profiler
    std::cout << fmt::format(
        "| broker: durable escalations per second, 64 concurrent writers | {:.0f}/s |\n",
        BrokerEscalationsPerSecond(64, dir + "/broker"));
    return;
  }
  if (!std::getenv("BRIDGELINE_BENCH_RECOVERY_ONLY")) {
    for (int writers : {1, 8, 64}) {
      double grouped = RawWritesPerSecond(writers, false, dir + "/raw");
      double single = RawWritesPerSecond(writers, true, dir + "/raw");
      std::cout << fmt::format(
          "| group commit, raw RocksDB, {} writers: RocksDB write groups / single batching writer "
          "| {:.0f}/s / {:.0f}/s |\n",
          writers, grouped, single);
    }
    for (int writers : {1, 8, 64}) {
      std::cout << fmt::format(
          "| broker: durable escalations per second, {} concurrent writers | {:.0f}/s |\n", writers,
          BrokerEscalationsPerSecond(writers, dir + "/broker"));
    }
  }

  // Recovery: a million open cases written through the engine and store, then reopened.
  {
    // BRIDGELINE_BENCH_RECOVERY_DIR keeps the database between runs, for profiling recovery.
    const char* kept = std::getenv("BRIDGELINE_BENCH_RECOVERY_DIR");
    const std::string db_dir = kept ? kept : dir + "/recovery";
    constexpr std::uint64_t kCases = 1'000'000;
    constexpr TimeMs kFirstAt = 1'790'000'000'000, kApart = 10;  // when they were escalated
    if (!kept || !std::filesystem::exists(db_dir)) {
      auto store = store::Store::Open(db_dir);
      engine::Engine engine(ExampleRules());
      TimeMs now = kFirstAt;
      std::vector<store::Mutation> mutations;
      for (std::uint64_t i = 0; i < kCases; ++i) {
        auto outcome = engine.Escalate(Request(i), Outsourcer(), now += kApart);
        store::Mutation mutation;
        mutation.cases.push_back(std::move(outcome->state));
        mutation.events = std::move(outcome->events);
        mutation.next_case_number = engine.next_case_number();
        mutations.push_back(std::move(mutation));
        if (mutations.size() == 2000 || i + 1 == kCases) {
          std::vector<store::Mutation*> pointers;
          for (auto& m : mutations) pointers.push_back(&m);
          (void)(*store)->Write(pointers, nullptr);
          mutations.clear();
        }
      }
    }
    const auto start = Clock::now();
    auto store = store::Store::Open(db_dir);
    const double open_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    service::Broker broker(ExampleRules(), store->get(), [] { return WallClockNow(); });
    auto loaded = broker.Recover();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::cout << fmt::format("| recovery: opening RocksDB (WAL replay) of the above | {:.2f} s |\n",
                             open_seconds);
    std::cout << fmt::format(
        "| recovery to ready with {} open cases (open store, load, index clocks) | {:.2f} s |\n",
        loaded.ok() ? *loaded : 0, seconds);
    // The KPI report reads the whole log (it must know every case still open): over the same
    // million escalations, all in its 30 days.
    const auto report_start = Clock::now();
    auto range =
        report::ParseRange("", "", {}, *ExampleRules(), kFirstAt + kCases * kApart + kHourMs);
    if (!range.ok()) throw std::runtime_error(range.status().ToString());
    auto kpis = report::ReportFromStore(**store, ExampleRules(), *range);
    if (!kpis.ok()) throw std::runtime_error(kpis.status().ToString());
    std::cout << fmt::format(
        "| KPI report over the log of the above ({} cases escalated, every one open) | {:.2f} s "
        "|\n",
        kpis->cases_escalated(),
        std::chrono::duration<double>(Clock::now() - report_start).count());
    store->reset();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace bridgeline::bench
