// The escalation line over HTTP: the real broker binary on loopback under an open-loop load
// generator (keep-alive connections; each request's latency counts from when it was due, so
// a stalled server cannot hide its queue), and Prometheus Alertmanager under the same
// generator in the same run, as the peer it must at least match.
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

#include "broker/http/client.h"
#include "broker/ops/tail.h"
#include "tests/bench/bench.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace bridgeline::bench {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// What one run measured.
struct LoadResult {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;  // not 2xx, or the connection failed
  double seconds = 0;
  std::vector<double> latencies_ms;  // from when each request was due to its answer

  double Rate() const { return completed / seconds; }
  double Percentile(double p) {
    if (latencies_ms.empty()) return 0;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<std::size_t>(p * latencies_ms.size()))];
  }
};

// Sends requests made by `make_request(i)` (whole HTTP/1.1 requests) to host:port over
// `connections` keep-alive connections, one outstanding request per connection. With a
// `rate`, request i is due at start + i/rate (open loop; due requests queue for a free
// connection); without one, every connection sends again as soon as it is answered.
class LoadGenerator {
 public:
  LoadGenerator(unsigned short port, int connections, std::optional<double> rate,
                std::chrono::seconds duration,
                std::function<std::string(std::uint64_t)> make_request)
      : port_(port),
        rate_(rate),
        duration_(duration),
        make_request_(std::move(make_request)),
        timer_(io_) {
    for (int i = 0; i < connections; ++i) connections_.push_back(std::make_unique<Connection>(io_));
  }

  LoadResult Run() {
    for (auto& connection : connections_) {
      connection->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
      connection->socket.set_option(tcp::no_delay(true));
    }
    start_ = Clock::now();
    end_ = start_ + duration_;
    if (rate_) {
      Tick();
    } else {
      for (auto& connection : connections_) Send(*connection, start_);
    }
    io_.run();
    result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    return std::move(result_);
  }

 private:
  struct Connection {
    explicit Connection(net::io_context& io) : socket(io) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    std::string request;
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    bool busy = false;
  };

  // Open loop: every due request is handed to a free connection or queued for the next one.
  void Tick() {
    const auto now = Clock::now();
    if (now < end_) {
      const auto due_count =
          static_cast<std::uint64_t>(std::chrono::duration<double>(now - start_).count() * *rate_);
      for (; scheduled_ < due_count; ++scheduled_) {
        due_.push_back(start_ + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(scheduled_ / *rate_)));
      }
      Dispatch();
      timer_.expires_after(std::chrono::microseconds(200));
      timer_.async_wait([this](beast::error_code) { Tick(); });
    } else {
      stopping_ = true;
      Dispatch();
    }
  }

  void Dispatch() {
    for (auto& connection : connections_) {
      if (due_.empty()) break;
      if (connection->busy) continue;
      Send(*connection, due_.front());
      due_.pop_front();
    }
    // Requests still queued when the run ends count as failed: the server did not keep up.
    if (stopping_ && !due_.empty()) {
      result_.failed += due_.size();
      due_.clear();
    }
  }

  void Send(Connection& connection, Clock::time_point due) {
    connection.busy = true;
    connection.request = make_request_(sent_++);
    net::async_write(connection.socket, net::buffer(connection.request),
                     [this, &connection, due](beast::error_code error, std::size_t) {
                       if (error) return Failed(connection);
                       connection.parser.emplace();
                       connection.parser->body_limit(1 << 20);
                       bhttp::async_read(
                           connection.socket, connection.buffer, *connection.parser,
                           [this, &connection, due](beast::error_code error, std::size_t) {
                             if (error) return Failed(connection);
                             OnAnswer(connection, due);
                           });
                     });
  }

  void OnAnswer(Connection& connection, Clock::time_point due) {
    const auto now = Clock::now();
    const unsigned status = connection.parser->get().result_int();
    if (status >= 200 && status < 300) {
      ++result_.completed;
      result_.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - due).count());
    } else {
      ++result_.failed;
      if (result_.failed == 1)
        std::cerr << "first failure: " << status << " " << connection.parser->get().body() << "\n";
    }
    connection.busy = false;
    if (rate_) {
      if (!due_.empty()) {
        Send(connection, due_.front());
        due_.pop_front();
      } else if (stopping_) {
        CloseIfIdle();
      }
    } else if (now < end_) {
      Send(connection, now);
    }
  }

  void Failed(Connection& connection) {
    ++result_.failed;
    connection.busy = false;
    beast::error_code ignored;
    connection.socket.close(ignored);
  }

  void CloseIfIdle() {
    for (auto& connection : connections_) {
      if (connection->busy) return;
    }
    timer_.cancel();
  }

  net::io_context io_;
  unsigned short port_;
  std::optional<double> rate_;
  std::chrono::seconds duration_;
  std::function<std::string(std::uint64_t)> make_request_;
  net::steady_timer timer_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::deque<Clock::time_point> due_;
  Clock::time_point start_, end_;
  std::uint64_t scheduled_ = 0;
  std::uint64_t sent_ = 0;
  bool stopping_ = false;
  LoadResult result_;
};

std::string HttpPost(const std::string& target, const std::string& authorization,
                     const std::string& body) {
  std::string request =
      "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return request;
}

// One new case each: a distinct tier-1 ticket and customer, so no request is a repeat contact.
std::function<std::string(std::uint64_t)> Escalations(const std::string& run) {
  return [run](std::uint64_t i) {
    return HttpPost(
        "/v1/escalations", "Bearer demo-outsourcer-token",
        fmt::format(
            R"({{"contract":"northwind-globex","tier1_ticket_id":"{0}-{1}",)"
            R"("customer":{{"id":"C-{0}-{1}","name":"Customer Name","tier":"gold"}},)"
            R"("category":"billing","product":"payments","region":"EU","severity":"SEV2",)"
            R"("subject":"Card payments fail","description":"Since 09:00 every card payment is declined."}})",
            run, i));
  };
}

// The same tier-1 ticket again and again: after the first, each is a repeat contact on one case.
std::function<std::string(std::uint64_t)> RepeatContacts(const std::string& run) {
  auto escalation = Escalations(run);
  return [escalation](std::uint64_t) { return escalation(0); };
}

// A request with no work behind it (a liveness probe): what the HTTP layer alone answers.
std::function<std::string(std::uint64_t)> Probes(const std::string& target) {
  return [request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"](std::uint64_t) {
    return request;
  };
}

// One new alert each: distinct labels make a distinct alert in Alertmanager.
std::function<std::string(std::uint64_t)> Alerts(const std::string& run) {
  return [run](std::uint64_t i) {
    return HttpPost(
        "/api/v2/alerts", "",
        fmt::format(
            R"([{{"labels":{{"alertname":"PaymentsFailing","ticket":"{0}-{1}",)"
            R"("customer":"C-{0}-{1}","severity":"SEV2","region":"EU"}},)"
            R"("annotations":{{"summary":"Card payments fail","description":"Since 09:00 every card payment is declined."}}}}])",
            run, i));
  };
}

// Prometheus Alertmanager as a child process on a free loopback port, clustering off.
class Alertmanager {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";

  explicit Alertmanager(const std::string& dir) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/alertmanager.yml")
        << "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n";
    port_ = testing::BrokerProcess::FreePort();
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* log = std::fopen((dir + "/alertmanager.log").c_str(), "w");
      if (log != nullptr) {
        ::dup2(fileno(log), 1);
        ::dup2(fileno(log), 2);
      }
      std::string config = "--config.file=" + dir + "/alertmanager.yml";
      std::string storage = "--storage.path=" + dir + "/data";
      std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      ::execl(kBinary, kBinary, config.c_str(), storage.c_str(), listen.c_str(),
              "--cluster.listen-address=", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      http::HttpClient client("127.0.0.1", port_, std::chrono::seconds(1));
      if (client.Request("GET", "/-/ready").status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("alertmanager did not become ready; see " + dir + "/alertmanager.log");
  }
  ~Alertmanager() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  unsigned short port() const { return port_; }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

void Row(const std::string& name, LoadResult& result) {
  const double p50 = result.Percentile(0.50), p99 = result.Percentile(0.99);  // sorts
  const double max = result.latencies_ms.empty() ? 0.0 : result.latencies_ms.back();
  std::cout << fmt::format(
      "| {} | {:.0f}/s ({} ok, {} failed); latency p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms |\n",
      name, result.Rate(), result.completed, result.failed, p50, p99, max);
}

}  // namespace

void HttpBenchmarks(unsigned short running_port, double rate, bool repeat_contacts,
                    int connections) {
  using testing::BrokerProcess;
  if (running_port != 0) {
    if (connections <= 0) connections = rate > 0 ? 32 : 64;
    auto result =
        LoadGenerator(running_port, connections,
                      rate > 0 ? std::optional<double>(rate) : std::nullopt,
                      std::chrono::seconds(20),
                      repeat_contacts ? RepeatContacts("profile") : Escalations("profile"))
            .Run();
    const char* what = repeat_contacts ? "repeat contacts" : "escalations";
    Row(rate > 0 ? fmt::format("HTTP {} to the running broker, open loop at {:.0f}/s, "
                               "{} connections",
                               what, rate, connections)
                 : fmt::format("HTTP {} to the running broker, {} connections", what, connections),
        result);
    return;
  }
  const std::string dir = BrokerProcess::TempDir("http-bench");
  const std::string config =
      BrokerProcess::ConfigVariant(BrokerProcess::ExampleConfig(), dir,
                                   {{"rate_limit: { requests_per_second: 1000, burst: 2000 }",
                                     "rate_limit: { requests_per_second: 0 }"}});
  constexpr auto kDuration = std::chrono::seconds(5);

  double bridgeline_rate = 0;
  {
    BrokerProcess broker(config, dir + "/data");
    // Warm-up: connections, allocator, RocksDB's first memtable.
    LoadGenerator(broker.port(), 8, std::nullopt, std::chrono::seconds(1), Escalations("warm"))
        .Run();
    for (int connections : {32, 64}) {
      auto saturated = LoadGenerator(broker.port(), connections, std::nullopt, kDuration,
                                     Escalations("max" + std::to_string(connections)))
                           .Run();
      Row(fmt::format(
              "HTTP escalations, {} keep-alive connections, as fast as answered (every one synced)",
              connections),
          saturated);
      bridgeline_rate = std::max(bridgeline_rate, saturated.Rate());
    }
    auto steady = LoadGenerator(broker.port(), 32, 5000.0, kDuration, Escalations("open5k")).Run();
    Row("HTTP escalations, open loop at 5,000/s, 32 connections", steady);
    auto repeats =
        LoadGenerator(broker.port(), 32, std::nullopt, kDuration, RepeatContacts("repeat")).Run();
    Row("HTTP repeat contacts on one open case, 32 connections, as fast as answered", repeats);
    auto probes =
        LoadGenerator(broker.port(), 32, std::nullopt, kDuration, Probes("/healthz")).Run();
    Row("HTTP floor: GET /healthz (nothing behind it), 32 connections, as fast as answered",
        probes);
  }
  {
    // Where the cost is: each escalation to the example's contract is also delivered to the
    // client's desk, and that delivery is recorded (`forwarded`) in a second synced commit.
    // The same load on a contract with no connector measures intake alone. The targets above
    // are for the example's contract; this row only tells the two parts apart.
    const std::string intake_dir = dir + "/intake-only";
    std::filesystem::create_directories(intake_dir);
    const std::string intake_config = BrokerProcess::ConfigVariant(
        config, intake_dir, {{"connectors: [globex-desk]", "connectors: []"}});
    BrokerProcess broker(intake_config, intake_dir + "/data");
    LoadGenerator(broker.port(), 8, std::nullopt, std::chrono::seconds(1), Escalations("warm"))
        .Run();
    auto intake =
        LoadGenerator(broker.port(), 32, std::nullopt, kDuration, Escalations("intake")).Run();
    Row("HTTP escalations to a contract with no connector (intake alone, nothing forwarded), 32 "
        "connections",
        intake);
  }
  if (::access(Alertmanager::kBinary, X_OK) != 0) {
    std::cout << "| Alertmanager | not installed (scripts/install-deps.sh --bench installs it) |\n";
    return;
  }
  Alertmanager alertmanager(dir + "/alertmanager");
  LoadGenerator(alertmanager.port(), 8, std::nullopt, std::chrono::seconds(1), Alerts("warm"))
      .Run();
  auto peer = LoadGenerator(alertmanager.port(), 32, std::nullopt, kDuration, Alerts("max")).Run();
  Row("Alertmanager new alerts (in memory), 32 keep-alive connections, as fast as answered", peer);
  auto peer_steady =
      LoadGenerator(alertmanager.port(), 32, 5000.0, kDuration, Alerts("open5k")).Run();
  Row("Alertmanager new alerts, open loop at 5,000/s, 32 connections", peer_steady);
  auto peer_probes =
      LoadGenerator(alertmanager.port(), 32, std::nullopt, kDuration, Probes("/-/healthy")).Run();
  Row("Alertmanager floor: GET /-/healthy, 32 connections, as fast as answered", peer_probes);
  std::cout << fmt::format("| Bridgeline / Alertmanager, best sustained rate | {:.2f} |\n",
                           bridgeline_rate / std::max(1.0, peer.Rate()));
  std::filesystem::remove_all(dir);
}

}  // namespace bridgeline::bench

namespace bridgeline::bench {

namespace {

std::uint64_t LogSequence(unsigned short port) {
  return static_cast<std::uint64_t>(testing::MetricValue(port, "bridgeline_log_sequence"));
}

// A stream reader on its own thread: counts events and remembers the last id and when it came.
class StreamReader {
 public:
  StreamReader(unsigned short port, std::uint64_t after) {
    thread_ = std::thread([this, port, after] {
      http::HttpClient client("127.0.0.1", port, std::chrono::seconds(60));
      ops::SseParser parser;
      client.Stream("/v1/stream?after=" + std::to_string(after),
                    {{"Authorization", "Bearer demo-ops-token"}}, [&](std::string_view data) {
                      parser.Feed(data, [&](const ops::SseEvent& event) {
                        if (event.event == "close") closed_ = true;
                        if (event.id.empty() || event.event == "close") return;
                        ++events_;
                        last_ = std::stoull(event.id);
                        last_at_ = Clock::now();
                      });
                      return !stop_;
                    });
    });
  }
  ~StreamReader() {
    stop_ = true;
    thread_.join();
  }
  std::uint64_t events() const { return events_; }
  std::uint64_t last() const { return last_; }
  Clock::time_point last_at() const { return last_at_; }
  bool closed() const { return closed_; }

 private:
  std::atomic<std::uint64_t> events_{0}, last_{0};
  std::atomic<Clock::time_point> last_at_{};
  std::atomic<bool> stop_{false}, closed_{false};
  std::thread thread_;
};

}  // namespace

void StreamBenchmarks() {
  using testing::BrokerProcess;
  const std::string dir = BrokerProcess::TempDir("stream-bench");
  const std::string config =
      BrokerProcess::ConfigVariant(BrokerProcess::ExampleConfig(), dir,
                                   {{"rate_limit: { requests_per_second: 1000, burst: 2000 }",
                                     "rate_limit: { requests_per_second: 0 }"}});
  constexpr auto kDuration = std::chrono::seconds(5);
  constexpr int kReaders = 10, kConnections = 64;
  BrokerProcess broker(config, dir + "/data");
  LoadGenerator(broker.port(), 8, std::nullopt, std::chrono::seconds(1), Escalations("warm")).Run();

  auto alone =
      LoadGenerator(broker.port(), kConnections, std::nullopt, kDuration, Escalations("alone"))
          .Run();
  Row(fmt::format("HTTP escalations, {} connections, no stream reader", kConnections), alone);

  // The connectors forward what was escalated; wait for the log to settle.
  auto settle = [&] {
    std::uint64_t sequence = LogSequence(broker.port());
    for (int i = 0; i < 600; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      std::uint64_t now = LogSequence(broker.port());
      if (now == sequence) break;
      sequence = now;
    }
    return sequence;
  };
  const std::uint64_t start_sequence = settle();
  std::vector<std::unique_ptr<StreamReader>> readers;
  for (int i = 0; i < kReaders; ++i)
    readers.push_back(std::make_unique<StreamReader>(broker.port(), start_sequence));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto watched =
      LoadGenerator(broker.port(), kConnections, std::nullopt, kDuration, Escalations("watched"))
          .Run();
  Row(fmt::format("HTTP escalations, {} connections, {} stream readers following", kConnections,
                  kReaders),
      watched);
  const std::uint64_t intake_end = LogSequence(broker.port());
  std::uint64_t delivered_live = 0, worst_lag = 0;
  for (const auto& reader : readers) {
    delivered_live += reader->events();
    worst_lag = std::max(worst_lag, intake_end - std::min(intake_end, reader->last()));
  }
  std::cout << fmt::format("| Stream: events committed while intake ran ({} s) | {} ({:.0f}/s) |\n",
                           kDuration.count(), intake_end - start_sequence,
                           (intake_end - start_sequence) / static_cast<double>(kDuration.count()));
  std::cout << fmt::format(
      "| Stream: events/s delivered to the {} readers together, live | {:.0f} |\n", kReaders,
      delivered_live / static_cast<double>(kDuration.count()));
  std::cout << fmt::format(
      "| Stream: furthest a reader was behind the log when intake stopped | {} events |\n",
      worst_lag);
  std::cout << fmt::format("| Stream: intake with {} readers / without | {:.2f} |\n", kReaders,
                           watched.Rate() / std::max(1.0, alone.Rate()));

  const std::uint64_t end_sequence = settle();
  for (int i = 0; i < 600; ++i) {
    if (std::all_of(readers.begin(), readers.end(),
                    [&](const auto& r) { return r->last() >= end_sequence; }))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int complete = 0, closed = 0;
  for (const auto& reader : readers) {
    complete += reader->events() == end_sequence - start_sequence && reader->last() == end_sequence;
    closed += reader->closed();
  }
  std::cout << fmt::format(
      "| Stream: readers that got every event once ({} events) | {} of {} ({} closed as too slow) "
      "|\n",
      end_sequence - start_sequence, complete, kReaders, closed);
  readers.clear();

  // Replay: the same readers catching up on the whole log at once, from the store.
  const auto replay_started = Clock::now();
  for (int i = 0; i < kReaders; ++i)
    readers.push_back(std::make_unique<StreamReader>(broker.port(), 0));
  for (int i = 0; i < 1200; ++i) {
    if (std::all_of(readers.begin(), readers.end(),
                    [&](const auto& r) { return r->last() >= end_sequence; }))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double replay_seconds = 0;
  for (const auto& reader : readers) {
    replay_seconds = std::max(
        replay_seconds, std::chrono::duration<double>(reader->last_at() - replay_started).count());
  }
  std::cout << fmt::format(
      "| Stream: {} readers replaying all {} events from the store at once | {:.2f} s, {:.0f} "
      "events/s together |\n",
      kReaders, end_sequence, replay_seconds,
      kReaders * end_sequence / std::max(replay_seconds, 1e-9));
  readers.clear();
  std::filesystem::remove_all(dir);
}

}  // namespace bridgeline::bench
