// The public HTTP API of the priority escalation line (docs/api.md): authenticates each
// request by its organization's bearer token, enforces who sees and changes which case, turns
// JSON into commands for the broker and answers with JSON made from the protobuf messages.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bridgeline/v1/config.pb.h"
#include "broker/engine/rules.h"
#include "broker/http/rate_limiter.h"
#include "broker/http/server.h"
#include "broker/ops/escalation_log.h"
#include "broker/ops/metrics.h"
#include "broker/service/broker.h"
#include "broker/store/store.h"
#include "connectors/outbox/dispatcher.h"

namespace bridgeline::http {

class Api {
 public:
  Api(const bridgeline::v1::BrokerConfig& config, std::shared_ptr<const engine::Rules> rules,
      store::Store* store, service::Broker* broker);

  // Answers one request; `respond` may be called from the broker's sync thread.
  void Handle(Request&& request, Respond respond);

  // /readyz answers 200 only after this (recovery done, writes possible).
  void SetReady(bool ready) { ready_ = ready; }

  // Serves GET /v1/stream from `log`, to at most `max_readers` readers at once.
  void ServeStream(ops::EscalationLog* log, int max_readers);
  // Serves POST /v1/connectors/{name}/inbound (changes pushed by remote systems, handed to
  // `inbox`) and the dead letters (GET /v1/dead-letters, POST /v1/dead-letters/{id}/replay).
  void ServeConnectors(connectors::Dispatcher* dispatcher, connectors::Inbox* inbox);
  // Adds what `source` writes to GET /metrics (the connectors' outbox, say).
  void AddMetrics(std::function<void(ops::Exposition*)> source);
  // The text GET /metrics answers.
  std::string Metrics() const;

 private:
  struct Caller {
    std::string organization;
    bridgeline::v1::Side side;
    std::string token_hash;  // the rate limit's key
  };

  const Caller* Authenticate(const Request& request) const;
  void Escalate(const Caller& caller, Request&& request, Respond respond);
  void PostEvent(const Caller& caller, const std::string& case_id, Request&& request,
                 Respond respond);
  using Query = std::vector<std::pair<std::string, std::string>>;
  void GetCase(const Caller& caller, const std::string& case_id, Respond respond);
  void ListEvents(const Caller& caller, const std::string& case_id, const Query& query,
                  Respond respond);
  void ListCases(const Caller& caller, const Query& query, Respond respond);
  void Kpis(const Query& query, const Respond& respond);
  void Stream(const Request& request, const Query& query, const Respond& respond);
  void Inbound(const std::string& connector, Request&& request, Respond respond);
  void DeadLetters(const Query& query, const Respond& respond);
  // Takes one request from `key`'s bucket; the 429 (with Retry-After) when it is empty.
  // `whose` names the limit in the answer ("this token's").
  std::optional<Response> OverRateLimit(const std::string& key, const std::string& whose);
  // Times the answer and counts it by route and status.
  Respond Observed(const std::string& target, Respond respond);

  // Whether `caller` may see `state` at all (others get 404, as if it did not exist).
  bool Visible(const Caller& caller, const bridgeline::v1::Case& state) const;
  // The stored case when `caller` may see it; NotFound as well when it may not.
  Result<bridgeline::v1::Case> VisibleCase(const Caller& caller, const std::string& case_id);
  // The answer about one case, masked for a client, into `view`.
  void View(const Caller& caller, const bridgeline::v1::Case& state,
            const std::vector<bridgeline::v1::Event>* events, bool repeat_contact,
            bridgeline::v1::CaseView* view) const;
  // The same, as a JSON answer with `status`.
  Response ViewJson(unsigned status, const Caller& caller, const bridgeline::v1::Case& state,
                    const std::vector<bridgeline::v1::Event>* events, bool repeat_contact) const;
  // The request's Idempotency-Key, ready for the broker; nothing when it has none. A retry is
  // matched by what `decoded` (the request's body, read) says, not by its bytes: the same
  // request with other spacing or member order is the same request.
  // InvalidArgument naming the header when it is empty, too long or given twice.
  Result<std::optional<service::Idempotency>> IdempotencyOf(
      const Caller& caller, const Request& request, const google::protobuf::Message& decoded,
      unsigned success_status);
  static Response Json(unsigned status, const google::protobuf::Message& message);
  // Where a backup asked for as `to` goes: inside backup_dir_, its parents made. InvalidArgument
  // naming `to` when it is empty or would leave backup_dir_ (by "..", an absolute path
  // elsewhere or a symbolic link).
  Result<std::filesystem::path> BackupTarget(const std::string& to) const;

  std::map<std::string, Caller> callers_by_token_hash_;
  std::shared_ptr<const engine::Rules> rules_;
  store::Store* store_;
  service::Broker* broker_;
  TimeMs idempotency_ttl_ms_;
  // storage.backup_dir, absolute: online backups go inside it and nowhere else.
  std::filesystem::path backup_dir_;
  std::atomic<bool> ready_{false};
  RateLimiter rate_limiter_;
  // Store reads may touch the disk, so they run here rather than on the I/O threads. (Answers
  // from the broker are rendered on the connection's I/O thread: Respond::Rendered.)
  boost::asio::thread_pool readers_{2};

  ops::EscalationLog* log_ = nullptr;
  connectors::Dispatcher* dispatcher_ = nullptr;
  connectors::Inbox* inbox_ = nullptr;
  int max_stream_readers_ = 0;
  std::shared_ptr<std::atomic<int>> stream_readers_ = std::make_shared<std::atomic<int>>(0);
  std::vector<std::function<void(ops::Exposition*)>> metric_sources_;
  // Request latency by route; the routes are fixed, so the map is built once and only read.
  std::map<std::string, std::unique_ptr<ops::Histogram>> latency_;
  ops::CounterMap requests_{{"route", "code"}};
};

// A Status as problem+json: 400 for bad input (naming the field), 404, 409, 503...
Response ProblemFor(const Status& status);

}  // namespace bridgeline::http
