// bridgeline: the command line. Each subcommand wires modules together; the work is in them.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "broker/common/json.h"
#include "broker/config/config.h"
#include "broker/engine/rules.h"
#include "broker/http/api.h"
#include "broker/http/client.h"
#include "broker/http/server.h"
#include "broker/ops/escalation_log.h"
#include "broker/ops/logging.h"
#include "broker/ops/tail.h"
#include "broker/report/kpis.h"
#include "broker/report/render.h"
#include "broker/service/broker.h"
#include "broker/simulate/simulator.h"
#include "broker/store/store.h"
#include "connectors/inbox/inbox.h"
#include "connectors/outbox/dispatcher.h"
#include "connectors/registry/registry.h"

namespace {

using namespace bridgeline;

// Loads and validates a config, printing every error; nullopt when it is invalid.
std::optional<v1::BrokerConfig> LoadOrReport(const std::string& path) {
  auto loaded = config::LoadConfigFile(path, connectors::Registry::Global().ConfigTypes());
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) std::cerr << error.ToString() << "\n";
    std::cerr << loaded.errors.size() << " error(s) in " << path << "\n";
    return std::nullopt;
  }
  return loaded.config;
}

// A config and its compiled rules, for the commands that run the engine offline; nullopt after
// printing why when either is invalid.
struct LoadedRules {
  v1::BrokerConfig config;
  std::shared_ptr<const engine::Rules> rules;
};
std::optional<LoadedRules> LoadRulesOrReport(const std::string& path, const char* command) {
  auto config = LoadOrReport(path);
  if (!config) return std::nullopt;
  auto rules = engine::Rules::Compile(*config);
  if (!rules.ok()) {
    std::cerr << command << ": " << rules.status().ToString() << "\n";
    return std::nullopt;
  }
  return LoadedRules{std::move(*config), std::move(*rules)};
}

// Where the running broker named by `url` (http://127.0.0.1:8080, https://...) listens, and
// what it is trusted by over https: the authorities in `cacert`, else the system's. nullopt
// after saying what is wrong.
struct BrokerAddress {
  std::string host;
  unsigned short port = 0;
  std::shared_ptr<http::ClientTls> tls;  // null: plain HTTP
};
std::optional<BrokerAddress> FindBroker(const char* command, const std::string& url,
                                        const std::string& cacert) {
  auto endpoint = http::ParseHttpUrl(url, "--url");
  if (!endpoint.ok()) {
    std::cerr << command << ": --url: " << endpoint.status().message()
              << " (a URL such as http://127.0.0.1:8080)\n";
    return std::nullopt;
  }
  BrokerAddress address{endpoint->host, endpoint->port, nullptr};
  if (!endpoint->tls) {
    if (!cacert.empty()) {
      std::cerr << command << ": --cacert applies to an https:// --url, not to " << url << "\n";
      return std::nullopt;
    }
    return address;
  }
  auto trust = http::ClientTls::Load(cacert, "--cacert");
  if (!trust.ok()) {
    std::cerr << command << ": --cacert: " << trust.status().message() << "\n";
    return std::nullopt;
  }
  address.tls = std::move(*trust);
  return address;
}

// A client of the running broker named by `url`; nullptr after saying why it cannot be one.
std::unique_ptr<http::HttpClient> BrokerClient(const char* command, const std::string& url,
                                               const std::string& cacert,
                                               std::chrono::seconds timeout) {
  auto address = FindBroker(command, url, cacert);
  if (!address) return nullptr;
  return std::make_unique<http::HttpClient>(address->host, address->port, timeout, true,
                                            address->tls);
}

// --cacert, for commands that talk to a running broker at --url.
void AddCacertOption(CLI::App* command, std::string& cacert) {
  command->add_option("--cacert", cacert,
                      "For an https --url: a PEM file of the authority that signed the broker's "
                      "certificate (default: the system's authorities)");
}

// Says why the broker did not give the answer hoped for: its status and body, or the error.
void PrintFailure(const char* command, const http::HttpResponse& response) {
  std::cerr << command << " failed: "
            << (response.status ? std::to_string(response.status) + " " + response.body
                                : response.error)
            << "\n";
}

// RocksDB lets one process at a time open a database, so a store that will not open is most
// often one a running broker holds; the sentence says what to do then, and nothing otherwise.
std::string HeldByBroker(const Status& opened, const char* instead) {
  if (opened.message().find("lock file") == std::string::npos) return "";
  return std::string(" (a running broker holds this data directory: ") + instead + ")";
}

// SIGHUP: the API's certificate and key, and every connector's TLS files, read again. What
// cannot be read is logged and stays as it was; the rest is reloaded.
void ReloadTls(const bridgeline::v1::ServerConfig& server_config, http::Server* server,
               connectors::Dispatcher* dispatcher) {
  if (server_config.tls().certificate_file().empty()) {
    spdlog::info("SIGHUP: the API speaks plain HTTP; no certificate of its own to reload");
  } else if (Status reloaded = server->ReloadTls(); reloaded.ok()) {
    spdlog::info("SIGHUP: TLS certificate {} reloaded; new connections get it",
                 server_config.tls().certificate_file());
  } else {
    spdlog::error("SIGHUP: {}; the certificate in use stays", reloaded.ToString());
  }
  for (const auto& [connector, failed] : dispatcher->ReloadTls()) {
    spdlog::error("SIGHUP: connector {}: {}; its TLS settings in use stay", connector,
                  failed.ToString());
  }
}

int Serve(const std::string& config_path, const std::string& listen, const std::string& data_dir) {
  auto config = LoadOrReport(config_path);
  if (!config) return 2;
  if (!listen.empty()) config->mutable_server()->set_listen(listen);
  if (!data_dir.empty()) config->mutable_storage()->set_data_dir(data_dir);
  ops::ConfigureBrokerLogging(config->logging().level(), config->logging().format());

  auto rules = engine::Rules::Compile(*config);
  if (!rules.ok()) {
    spdlog::critical("{}", rules.status().ToString());
    return 2;
  }
  const auto started = std::chrono::steady_clock::now();
  auto store =
      store::Store::Open(config->storage().data_dir() + "/db", config->storage().min_free_bytes());
  if (!store.ok()) {
    spdlog::critical("{}{}", store.status().ToString(),
                     HeldByBroker(store.status(), "only one broker may serve it"));
    return 1;
  }
  service::Broker broker(*rules, store->get(), [] { return WallClockNow(); });
  const auto& log_config = config->logging();
  ops::EscalationLogOptions log_options;
  if (log_config.escalation_log().path() != "off") {
    std::filesystem::path file = log_config.escalation_log().path();
    log_options.file_path =
        (file.is_relative() ? config->storage().data_dir() / file : file).string();
  }
  log_options.max_file_bytes = log_config.escalation_log().max_bytes();
  log_options.max_files = log_config.escalation_log().max_files();
  log_options.window_events = log_config.stream().buffer_events();
  log_options.heartbeat_ms = log_config.stream().heartbeat().seconds() * kSecondMs;
  ops::EscalationLog escalation_log(log_options, store->get());

  // One io_context per I/O thread, each connection on one of them: with two threads on one
  // context, every handler they ran went through that context's one lock. The first context
  // also runs the acceptor and the signal handler.
  const unsigned threads = std::max(1u, config->server().threads());
  std::vector<std::unique_ptr<boost::asio::io_context>> io_contexts;
  std::vector<boost::asio::io_context*> contexts;
  // Keep the I/O threads running while every connection waits on the broker and the acceptor
  // is closed (at shutdown), when a context has no operation of its own pending.
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      keep_running;
  for (unsigned i = 0; i < threads; ++i) {
    io_contexts.push_back(std::make_unique<boost::asio::io_context>(1));
    contexts.push_back(io_contexts.back().get());
    keep_running.push_back(boost::asio::make_work_guard(*contexts.back()));
  }
  boost::asio::io_context& io = *contexts.front();
  http::Api api(*config, *rules, store->get(), &broker);
  http::ServerOptions options;
  options.max_body_bytes = config->server().max_body_bytes();
  options.max_header_bytes = config->server().max_header_bytes();
  options.max_connections = config->server().max_connections();
  options.read_timeout = std::chrono::seconds(config->server().read_timeout().seconds());
  options.idle_timeout = std::chrono::seconds(config->server().idle_timeout().seconds());
  options.stream_write_timeout =
      std::chrono::seconds(log_config.stream().write_timeout().seconds());
  http::Server server(contexts, options, [&api](http::Request&& request, http::Respond respond) {
    api.Handle(std::move(request), std::move(respond));
  });
  const bool tls = !config->server().tls().certificate_file().empty();
  if (tls) {
    if (Status loaded = server.UseTls(config->server().tls().certificate_file(),
                                      config->server().tls().private_key_file());
        !loaded.ok()) {
      spdlog::critical("{}", loaded.ToString());
      return 2;
    }
  }
  // Listen first, so /healthz and /readyz answer while recovery runs.
  if (Status listening = server.Listen(config->server().listen()); !listening.ok()) {
    spdlog::critical("{}", listening.ToString());
    return 1;
  }
  std::vector<std::thread> io_threads;
  for (auto* context : contexts) io_threads.emplace_back([context] { context->run(); });
  auto stop_io = [&] {
    for (auto* context : contexts) context->stop();
    for (auto& thread : io_threads) thread.join();
  };
  auto endpoint = server.endpoint();
  std::string address = std::string(tls ? "https://" : "http://") + endpoint.address().to_string() +
                        ":" + std::to_string(endpoint.port());

  auto recovered = broker.Recover(config->storage().reserve_open_cases());
  if (!recovered.ok()) {
    spdlog::critical("recovery failed: {}", recovered.status().ToString());
    stop_io();
    return 1;
  }
  auto dispatcher = connectors::Dispatcher::Create(
      *config, store->get(), connectors::Registry::Global(),
      [&broker](const std::string& case_id, const std::string& connector,
                const std::string& remote_ref, const std::string& outbox_key) {
        broker.Forwarded(case_id, connector, remote_ref, outbox_key);
      });
  if (!dispatcher.ok()) {
    spdlog::critical("{}", dispatcher.status().ToString());
    stop_io();
    return 1;
  }
  // Changes the remote systems make come in under the client's identity; a resent webhook is
  // applied once for as long as the API remembers an Idempotency-Key.
  connectors::BrokerInbox inbox(&broker, store->get(),
                                DurationMsOr(config->server().idempotency_ttl(), 24 * kHourMs));
  if (Status started_delivery = (*dispatcher)->Start(&inbox); !started_delivery.ok()) {
    spdlog::critical("{}", started_delivery.ToString());
    stop_io();
    return 1;
  }
  if (Status started_log = escalation_log.Start(); !started_log.ok()) {
    spdlog::critical("{}", started_log.ToString());
    stop_io();
    return 1;
  }
  api.ServeStream(&escalation_log, static_cast<int>(log_config.stream().max_readers()));
  api.AddMetrics([&dispatcher](ops::Exposition* out) { (*dispatcher)->WriteMetrics(out); });
  api.ServeConnectors(dispatcher->get(), &inbox);
  broker.Start(
      [&dispatcher](std::vector<store::OutboxEntry> entries) {
        (*dispatcher)->Enqueue(std::move(entries));
      },
      [&escalation_log](std::vector<std::string> events) {
        escalation_log.Publish(std::move(events));
      });
  api.SetReady(true);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  spdlog::info("recovered {} open case(s) in {} ms; ready", *recovered, took.count());
  std::cout << "bridgeline listening on " << address << "\n"
            << "try: curl -s -X POST " << address << "/v1/escalations \\\n"
            << "       -H 'Authorization: Bearer demo-outsourcer-token' -H 'Content-Type: "
               "application/json' \\\n"
            << "       -d "
               "'{\"contract\":\"northwind-globex\",\"tier1_ticket_id\":\"T-1001\",\"customer\":{"
               "\"id\":\"C-42\","
               "\"name\":\"Ada "
               "Lovelace\",\"tier\":\"gold\"},\"category\":\"billing\",\"product\":\"payments\","
               "\"region\":\"EU\",\"severity\":\"SEV2\",\"subject\":\"Card payments "
               "fail\",\"description\":\"Since 9:00\"}'\n"
            << std::flush;

  // SIGHUP reads the TLS files again (the API's certificate, the connectors'), so renewed
  // certificates are used without a restart; by default SIGHUP would end the broker, as a
  // reload sent by habit would. SIGTERM/SIGINT stop it. The handler, on an I/O thread, only
  // passes the signal on: this thread reads the files, so requests never wait on them.
  boost::asio::signal_set signals(io, SIGHUP, SIGINT, SIGTERM);
  std::mutex signal_mutex;
  std::condition_variable signalled;
  std::deque<int> received;
  std::function<void()> await_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;
      {
        std::lock_guard lock(signal_mutex);
        received.push_back(signal);
      }
      signalled.notify_one();
      if (signal == SIGHUP) await_signal();
    });
  };
  await_signal();
  for (;;) {
    std::unique_lock lock(signal_mutex);
    signalled.wait(lock, [&] { return !received.empty(); });
    const int signal = received.front();
    received.pop_front();
    lock.unlock();
    if (signal != SIGHUP) {
      spdlog::info("signal {}: shutting down", signal);
      break;
    }
    ReloadTls(config->server(), &server, dispatcher->get());
  }
  // Kept-alive connections with no request begun close at once; the others after their next
  // answer, within a grace period. Stream readers are told the broker is stopping (and where
  // to resume) and closed.
  server.StopAccepting();
  escalation_log.CloseReaders();
  const auto drain_started = std::chrono::steady_clock::now();
  for (int i = 0; i < 100 && (server.in_flight() > 0 || server.connections() > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  spdlog::info("drained connections in {} ms ({} still open, {} request(s) unanswered)",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - drain_started)
                   .count(),
               server.connections(), server.in_flight());
  // Deliveries in flight finish (and record forwardings) while the broker still commits.
  (*dispatcher)->Stop();
  broker.Stop();
  escalation_log.Stop();  // after the last commit, so the file has every line
  for (int i = 0; i < 20 && server.in_flight() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop_io();
  spdlog::info("stopped");
  return 0;
}

// Online: the running broker checkpoints itself (RocksDB allows one process per database).
// Offline (`--data-dir`): opens the store and checkpoints it directly.
int Backup(const std::string& to, const std::string& url, const std::string& cacert,
           const std::string& token, const std::string& data_dir) {
  if (!data_dir.empty()) {
    std::error_code error;
    std::string target = std::filesystem::absolute(to, error).lexically_normal().string();
    auto store = store::Store::OpenExisting(data_dir + "/db");
    if (!store.ok()) {
      std::cerr << "backup: " << store.status().ToString()
                << HeldByBroker(store.status(), "take the backup online, with --url") << "\n";
      return 1;
    }
    if (Status taken = (*store)->Checkpoint(target); !taken.ok()) {
      std::cerr << "backup: " << taken.ToString() << "\n";
      return 1;
    }
    std::cout << "backup written to " << target << "\n";
    return 0;
  }
  auto client = BrokerClient("backup", url, cacert, std::chrono::minutes(10));
  if (!client) return 2;
  // The broker places it inside its own storage.backup_dir, on its own machine.
  std::string body = "{\"to\":";
  AppendJsonString(to, &body);
  body += "}";
  auto response =
      client->Request("POST", "/v1/admin/backup", body,
                      {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  if (response.status != 201) {
    PrintFailure("backup", response);
    return 1;
  }
  std::cout << response.body;
  return 0;
}

// `dlq list`: the dead letters as a table (or the API's JSON); `dlq replay`: each id again.
int DeadLetters(const std::string& url, const std::string& cacert, const std::string& token,
                const std::string& connector, int limit, const std::string& after, bool json,
                const std::vector<std::string>& replay_ids) {
  auto client = BrokerClient("dlq", url, cacert, std::chrono::seconds(30));
  if (!client) return 2;
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + token}};
  if (!replay_ids.empty()) {
    int failed = 0;
    for (const auto& id : replay_ids) {
      std::string target =
          "/v1/dead-letters/" + boost::urls::encode(id, boost::urls::pchars) + "/replay";
      auto response = client->Request("POST", target, "", auth);
      if (response.status != 202) {
        PrintFailure(("dlq replay " + id).c_str(), response);
        ++failed;
      } else {
        std::cout << "replayed " << id << "\n";
      }
    }
    return failed == 0 ? 0 : 1;
  }
  std::string target = "/v1/dead-letters?limit=" + std::to_string(limit);
  if (!connector.empty())
    target += "&connector=" + boost::urls::encode(connector, boost::urls::unreserved_chars);
  if (!after.empty())
    target += "&cursor=" + boost::urls::encode(after, boost::urls::unreserved_chars);
  auto response = client->Request("GET", target, "", auth);
  if (response.status != 200) {
    PrintFailure("dlq list", response);
    return 1;
  }
  if (json) {
    std::cout << response.body;
    return 0;
  }
  v1::DeadLetterList list;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;  // a newer broker may say more
  if (Status parsed = JsonToMessage(response.body, &list, lenient); !parsed.ok()) {
    std::cerr << "dlq list: cannot read the broker's answer: " << parsed.message() << "\n";
    return 1;
  }
  if (list.dead_letters().empty()) {
    std::cout << "no dead letters\n";
    return 0;
  }
  std::cout << fmt::format("{:<28} {:<12} {:<16} {:>8}  {:<24}  {}\n", "ID", "CASE", "EVENT",
                           "ATTEMPTS", "DEAD AT", "LAST ERROR");
  for (const auto& letter : list.dead_letters()) {
    std::cout << fmt::format("{:<28} {:<12} {:<16} {:>8}  {:<24}  {}\n", letter.id(),
                             letter.case_id(), v1::EventType::Value_Name(letter.event().type()),
                             letter.attempts(), FormatUtc(FromTimestamp(letter.dead_at())),
                             letter.last_error());
  }
  if (!list.next_cursor().empty())
    std::cout << "more: bridgeline dlq list --after " << list.next_cursor() << "\n";
  return 0;
}

int Restore(const std::string& from, const std::string& data_dir) {
  Status restored = store::Store::Restore(from, data_dir + "/db");
  if (!restored.ok()) {
    std::cerr << "restore: " << restored.ToString() << "\n";
    return 1;
  }
  std::cout << "restored " << from << " into " << data_dir << "/db\n";
  return 0;
}

// Where `report` reads from: the running broker (`url`), or a stopped broker's data directory.
struct ReportSource {
  std::string url, token, data_dir, cacert;
};

int Report(const std::string& config_path, const std::string& out, const std::string& from,
           const std::string& to, const std::vector<std::string>& contracts,
           const ReportSource& source) {
  auto loaded = LoadRulesOrReport(config_path, "report");
  if (!loaded) return 2;
  auto range = report::ParseRange(from, to, contracts, *loaded->rules, WallClockNow());
  if (!range.ok()) {
    std::cerr << "report: --" << range.status().field() << " " << range.status().message() << "\n";
    return 2;
  }
  v1::KpiReport kpis;
  if (!source.url.empty()) {
    auto client = BrokerClient("report", source.url, source.cacert, std::chrono::minutes(5));
    if (!client) return 2;
    boost::urls::url target("/v1/reports/kpis");  // parameters percent-encoded
    target.params().append({"from", FormatUtc(range->from)});
    target.params().append({"to", FormatUtc(range->to)});
    for (const auto& contract : range->contracts) target.params().append({"contract", contract});
    auto response = client->Request("GET", std::string(target.buffer()), "",
                                    {{"Authorization", "Bearer " + source.token}});
    if (response.status != 200) {
      PrintFailure("report", response);
      return 1;
    }
    if (Status parsed_report = JsonToMessage(response.body, &kpis); !parsed_report.ok()) {
      std::cerr << "report: the broker's answer is not a report: " << parsed_report.ToString()
                << "\n";
      return 1;
    }
  } else {
    std::string data_dir =
        source.data_dir.empty() ? loaded->config.storage().data_dir() : source.data_dir;
    auto store = store::Store::OpenExisting(data_dir + "/db");
    if (!store.ok()) {
      std::cerr << "report: " << store.status().ToString()
                << HeldByBroker(store.status(), "ask it with --url instead") << "\n";
      return 1;
    }
    auto built = report::ReportFromStore(**store, loaded->rules, *range);
    if (!built.ok()) {
      std::cerr << "report: " << built.status().ToString() << "\n";
      return 1;
    }
    kpis = std::move(*built);
  }
  if (Status written = report::WriteReportFiles(kpis, out); !written.ok()) {
    std::cerr << "report: " << written.ToString() << "\n";
    return 1;
  }
  std::cout << "report of " << kpis.cases_escalated() << " case(s) written to " << out
            << "/report.html, report.json, report.csv\n";
  return 0;
}

int Simulate(const std::string& config_path, const std::string& scenario_path,
             const std::string& out, std::optional<std::uint64_t> seed) {
  auto loaded = LoadRulesOrReport(config_path, "simulate");
  if (!loaded) return 2;
  std::vector<config::ConfigError> errors;
  auto scenario = simulate::LoadScenarioFile(scenario_path, loaded->config, &errors);
  if (!scenario.ok()) {
    for (const auto& error : errors) std::cerr << error.ToString() << "\n";
    std::cerr << scenario.status().message() << "\n";
    return 2;
  }
  const auto started = std::chrono::steady_clock::now();
  auto simulation = simulate::Simulate(loaded->rules, *scenario, seed.value_or(scenario->seed()));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (Status written = report::WriteReportFiles(simulation.report, out); !written.ok()) {
    std::cerr << "simulate: " << written.ToString() << "\n";
    return 1;
  }
  const auto& stats = simulation.stats;
  std::cout << "simulated " << stats.cases << " case(s) from " << stats.escalations
            << " escalation(s), " << stats.events << " event(s) in " << took.count() << " ms (seed "
            << seed.value_or(scenario->seed()) << ")\n";
  if (stats.refused > 0) std::cout << stats.refused << " command(s) refused by the engine\n";
  std::cout << "report written to " << out << "/report.html, report.json, report.csv\n";
  return 0;
}

int Tail(const std::string& url, const std::string& cacert, ops::TailOptions options,
         const std::string& color) {
  auto address = FindBroker("tail", url, cacert);
  if (!address) return 2;
  options.host = address->host;
  options.port = address->port;
  options.tls = address->tls;
  options.color = color == "always" || (color == "auto" && ::isatty(STDOUT_FILENO) &&
                                        std::getenv("NO_COLOR") == nullptr);
  std::atomic<bool> stop{false};
  return ops::Tail(options, std::cout, std::cerr, stop);
}

int CheckConfig(const std::string& path) {
  auto config = LoadOrReport(path);
  if (!config) return 2;
  std::cout << path << ": OK\n" << config::Summarize(*config);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything Bridgeline writes (the store, the logs, the desks' files, backups, reports) holds
  // customers' details: nothing it creates is readable by other users of the machine, whatever
  // umask it was started with. The group keeps read access, for an operator's backup agent.
  ::umask(S_IRWXO | S_IWGRP);
  CLI::App app{"Bridgeline: the priority escalation line between an outsourcer and its clients"};
  app.require_subcommand(1);

  std::string config_path, listen, data_dir;
  auto* serve = app.add_subcommand("serve", "Run the broker");
  serve->add_option("--config", config_path, "The config file (YAML)")->required();
  serve->add_option("--listen", listen, "host:port to listen on; overrides server.listen");
  serve->add_option("--data-dir", data_dir, "Where the data lives; overrides storage.data_dir");

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Validate a config and summarize it");
  check->add_option("file", check_path, "The config file (YAML)")->required();

  std::string token;
  auto* hash =
      app.add_subcommand("hash-token", "Print the SHA-256 of an API token, for token_sha256");
  hash->add_option("token", token, "The token; read from standard input when absent");

  std::string backup_to, backup_url = "http://127.0.0.1:8080", backup_cacert, backup_data_dir;
  std::string backup_token = std::getenv("BRIDGELINE_TOKEN") ? std::getenv("BRIDGELINE_TOKEN") : "";
  auto* backup = app.add_subcommand("backup", "Take a consistent backup, online or offline");
  backup
      ->add_option("--to", backup_to,
                   "Directory to create with the backup; online, a name inside the broker's "
                   "storage.backup_dir")
      ->required();
  backup->add_option("--url", backup_url, "The running broker (online backup)")
      ->capture_default_str();
  AddCacertOption(backup, backup_cacert);
  backup->add_option("--token", backup_token, "An ops token (default: $BRIDGELINE_TOKEN)");
  backup->add_option("--data-dir", backup_data_dir,
                     "Back up a stopped broker's data directory instead");

  std::string restore_from, restore_data_dir;
  auto* restore = app.add_subcommand(
      "restore", "Restore a backup into an empty data directory (broker stopped)");
  restore->add_option("--from", restore_from, "The backup directory")->required();
  restore->add_option("--data-dir", restore_data_dir, "The data directory to restore into")
      ->required();

  std::string report_config, report_out, report_from, report_to;
  std::vector<std::string> report_contracts;
  ReportSource report_source{
      "", std::getenv("BRIDGELINE_TOKEN") ? std::getenv("BRIDGELINE_TOKEN") : "", "", ""};
  auto* report_command =
      app.add_subcommand("report", "KPI report over a time range: report.html, .json and .csv");
  report_command->add_option("--config", report_config, "The config file (YAML)")->required();
  report_command->add_option("--out", report_out, "Directory to write the report into")->required();
  report_command->add_option("--from", report_from,
                             "Start (RFC 3339); default 30 days before --to");
  report_command->add_option("--to", report_to, "End (RFC 3339), exclusive; default now");
  report_command->add_option("--contract", report_contracts, "Only these contracts (repeatable)");
  report_command->add_option("--url", report_source.url,
                             "Ask the running broker (online) instead of reading the store");
  report_command->add_option("--token", report_source.token,
                             "An ops token for --url (default: $BRIDGELINE_TOKEN)");
  AddCacertOption(report_command, report_source.cacert);
  report_command->add_option("--data-dir", report_source.data_dir,
                             "A stopped broker's data directory; overrides storage.data_dir");

  std::string simulate_config, simulate_scenario, simulate_out;
  std::optional<std::uint64_t> simulate_seed;
  auto* simulate_command =
      app.add_subcommand("simulate", "Run a scenario on virtual time and report on it");
  simulate_command->add_option("--config", simulate_config, "The config file (YAML)")->required();
  simulate_command->add_option("--scenario", simulate_scenario, "The scenario file (YAML)")
      ->required();
  simulate_command->add_option("--out", simulate_out, "Directory to write the report into")
      ->required();
  simulate_command->add_option("--seed", simulate_seed, "Random seed; overrides the scenario's");

  std::string tail_url = "http://127.0.0.1:8080", tail_cacert, tail_color = "auto",
              tail_min_priority, tail_owner;
  std::vector<std::string> tail_contracts, tail_types;
  bool tail_breaches_only = false;
  ops::TailOptions tail_options;
  tail_options.token = std::getenv("BRIDGELINE_TOKEN") ? std::getenv("BRIDGELINE_TOKEN") : "";
  auto* tail = app.add_subcommand(
      "tail", "Follow the escalation log live, resuming by itself after a disconnect");
  tail->add_option("--url", tail_url, "The running broker")->capture_default_str();
  AddCacertOption(tail, tail_cacert);
  tail->add_option("--token", tail_options.token, "An ops token (default: $BRIDGELINE_TOKEN)");
  tail->add_option("--contract", tail_contracts, "Only these contracts (repeatable)");
  tail->add_option("--min-priority", tail_min_priority,
                   "Only this priority and more urgent (P1..P4)");
  tail->add_option("--type", tail_types,
                   "Only these event types (repeatable): escalated, clock_breach...");
  tail->add_option("--owner", tail_owner, "Only cases this owner holds");
  tail->add_flag("--breaches-only", tail_breaches_only, "Only clock breaches");
  tail->add_option("--after", tail_options.after,
                   "Start after this log sequence (default: from now on)");
  tail->add_flag("--json", tail_options.json, "Raw JSON lines instead of readable ones");
  tail->add_option("--color", tail_color, "auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  tail->add_option("--max-events", tail_options.max_events, "Stop after this many events");

  std::string dlq_url = "http://127.0.0.1:8080", dlq_cacert, dlq_token = tail_options.token,
              dlq_connector, dlq_after;
  int dlq_limit = 50;
  bool dlq_json = false;
  std::vector<std::string> dlq_ids;
  auto* dlq = app.add_subcommand("dlq", "List and replay dead letters (deliveries that failed)");
  dlq->require_subcommand(1);
  dlq->add_option("--url", dlq_url, "The running broker")->capture_default_str();
  AddCacertOption(dlq, dlq_cacert);
  dlq->add_option("--token", dlq_token, "An ops token (default: $BRIDGELINE_TOKEN)");
  auto* dlq_list = dlq->add_subcommand("list", "The dead letters, oldest first");
  dlq_list->add_option("--connector", dlq_connector, "Only this connector's");
  dlq_list->add_option("--limit", dlq_limit, "At most this many (1-200)")
      ->check(CLI::Range(1, 200))
      ->capture_default_str();
  dlq_list->add_option("--after", dlq_after, "Those after this id (the page before's last)");
  dlq_list->add_flag("--json", dlq_json, "The API's JSON instead of a table");
  auto* dlq_replay = dlq->add_subcommand("replay", "Deliver dead letters again");
  dlq_replay->add_option("ids", dlq_ids, "Dead letter ids (connector:sequence)")->required();

  CLI11_PARSE(app, argc, argv);
  if (*dlq) {
    return DeadLetters(dlq_url, dlq_cacert, dlq_token, dlq_connector, dlq_limit, dlq_after,
                       dlq_json, *dlq_replay ? dlq_ids : std::vector<std::string>{});
  }
  if (*tail) {
    for (const auto& contract : tail_contracts)
      tail_options.filters.emplace_back("contract", contract);
    for (const auto& type : tail_types) tail_options.filters.emplace_back("type", type);
    if (!tail_min_priority.empty())
      tail_options.filters.emplace_back("min_priority", tail_min_priority);
    if (!tail_owner.empty()) tail_options.filters.emplace_back("owner", tail_owner);
    if (tail_breaches_only) tail_options.filters.emplace_back("breaches_only", "true");
    return Tail(tail_url, tail_cacert, std::move(tail_options), tail_color);
  }
  if (*report_command) {
    return Report(report_config, report_out, report_from, report_to, report_contracts,
                  report_source);
  }
  if (*simulate_command)
    return Simulate(simulate_config, simulate_scenario, simulate_out, simulate_seed);
  if (*backup) return Backup(backup_to, backup_url, backup_cacert, backup_token, backup_data_dir);
  if (*restore) return Restore(restore_from, restore_data_dir);
  if (*serve) return Serve(config_path, listen, data_dir);
  if (*check) return CheckConfig(check_path);
  if (*hash) {
    if (token.empty() && !std::getline(std::cin, token)) {
      std::cerr << "hash-token: no token given\n";
      return 2;
    }
    std::cout << config::HashToken(token) << "\n";
    return 0;
  }
  return 0;
}
