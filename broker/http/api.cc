#include "broker/http/api.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <unordered_set>

#include "broker/common/json.h"
#include "broker/config/config.h"
#include "broker/engine/apply.h"
#include "broker/engine/disclosure.h"
#include "broker/engine/engine.h"
#include "broker/http/decode.h"
#include "broker/http/log_stream.h"
#include "broker/report/kpis.h"
#include "broker/report/render.h"

namespace bridgeline::http {

namespace v1 = bridgeline::v1;
namespace bhttp = boost::beast::http;

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 200;
// GET of a case shows this many of its latest events; the rest are a page away.
constexpr std::size_t kEventsInView = 100;
// A page scans at most this many cases, so a rare filter cannot make one request unbounded.
constexpr int kMaxScannedPerPage = 10000;
constexpr std::size_t kMaxIdempotencyKey = 255;

std::string Sha256Hex(std::string_view text) { return config::HashToken(text); }

// What every listing takes: a page size and where the page starts (as given; each listing
// reads its own kind of cursor).
struct Paging {
  int limit = kDefaultPageSize;
  std::string cursor;
};

// Refuses a parameter given twice unless it is one of `lists`: which of two `limit`s counts
// would otherwise be the server's guess.
Status RefuseRepeated(const std::vector<std::pair<std::string, std::string>>& query,
                      std::initializer_list<std::string_view> lists = {}) {
  // A set, not a scan of the keys before each: a target of thousands of distinct keys fits in
  // the header limit.
  std::unordered_set<std::string_view> seen;
  for (const auto& [key, value] : query) {
    if (std::find(lists.begin(), lists.end(), key) != lists.end()) continue;
    if (!seen.insert(key).second) return Status::InvalidArgument("is given more than once", key);
  }
  return Status::Ok();
}

// Reads `limit` (1 to kMaxPageSize) and `cursor` from `query` and hands every other parameter
// to `other`, which refuses those the listing does not take. No parameter may repeat.
Result<Paging> ParsePaging(
    const std::vector<std::pair<std::string, std::string>>& query,
    const std::function<Status(const std::string& key, const std::string& value)>& other) {
  BRIDGELINE_RETURN_IF_ERROR(RefuseRepeated(query));
  Paging paging;
  for (const auto& [key, value] : query) {
    if (key == "cursor") {
      paging.cursor = value;
    } else if (key == "limit") {
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), paging.limit);
      if (error != std::errc() || end != value.data() + value.size() || paging.limit < 1 ||
          paging.limit > kMaxPageSize) {
        return Status::InvalidArgument(
            "must be a whole number from 1 to " + std::to_string(kMaxPageSize), "limit");
      }
    } else {
      BRIDGELINE_RETURN_IF_ERROR(other(key, value));
    }
  }
  return paging;
}

Status UnknownParameter(const std::string& key, const std::string&) {
  return Status::InvalidArgument("unknown query parameter", key);
}

// The routes metrics count requests by: case ids fold into {id}, so series stay few.
constexpr const char* kCaseRoute = "/v1/escalations/{id}";
constexpr const char* kCaseEventsRoute = "/v1/escalations/{id}/events";
constexpr const char* kInboundRoute = "/v1/connectors/{name}/inbound";
constexpr const char* kReplayRoute = "/v1/dead-letters/{id}/replay";
constexpr const char* kOtherRoute = "other";
constexpr const char* kRoutes[] = {
    "/healthz",         "/readyz",          "/metrics",         "/v1/escalations", "/v1/stream",
    "/v1/reports/kpis", "/v1/admin/backup", "/v1/dead-letters", kCaseRoute,        kCaseEventsRoute,
    kInboundRoute,      kReplayRoute,       kOtherRoute};

// The route a request target names.
const char* RouteOf(std::string_view target) {
  target = target.substr(0, target.find('?'));
  for (const char* route : kRoutes) {
    if (target == route) return route;
  }
  constexpr std::string_view kCases = "/v1/escalations/";
  if (target.substr(0, kCases.size()) == kCases) {
    auto rest = target.substr(kCases.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return kCaseRoute;
    if (rest.substr(slash) == "/events") return kCaseEventsRoute;
  }
  auto between = [&](std::string_view prefix, std::string_view suffix) {
    return target.size() > prefix.size() + suffix.size() &&
           target.substr(0, prefix.size()) == prefix &&
           target.substr(target.size() - suffix.size()) == suffix;
  };
  if (between("/v1/connectors/", "/inbound")) return kInboundRoute;
  if (between("/v1/dead-letters/", "/replay")) return kReplayRoute;
  return kOtherRoute;
}

// The problem to answer when `request`'s body is not a `message` (filled when it is): 415 for
// a body that is not JSON by its Content-Type, 400 naming the field for one that does not read.
std::optional<Response> BodyProblem(const Request& request, google::protobuf::Message* message) {
  if (!DeclaresJsonBody(request)) {
    return Problem(415, "unsupported-media-type", "Unsupported media type",
                   "Content-Type must be application/json, not '" +
                       std::string(request[bhttp::field::content_type]) + "'");
  }
  Status parsed = DecodeJsonBody(request, message);
  if (!parsed.ok()) return ProblemFor(parsed);
  return std::nullopt;
}

// Latency buckets in seconds: a commit waits for an fsync (about a millisecond), reports take
// longer.
const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};

}  // namespace

Response ProblemFor(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kInvalidArgument: {
      std::string detail =
          status.field().empty() ? status.message() : status.field() + ": " + status.message();
      return Problem(400, "invalid-request", "Invalid request", detail, status.field());
    }
    case Code::kUnauthenticated: {
      auto response = Problem(401, "unauthenticated", "Unauthenticated", status.message());
      response.set(bhttp::field::www_authenticate, "Bearer");
      return response;
    }
    case Code::kPermissionDenied:
      return Problem(403, "forbidden", "Forbidden", status.message());
    case Code::kNotFound:
      return Problem(404, "not-found", "Not found", status.message());
    case Code::kFailedPrecondition:
      return Problem(409, "conflict", "Not allowed in the case's current state", status.message());
    case Code::kAlreadyExists:
      return Problem(422, "idempotency-key-reused", "Idempotency-Key reused", status.message());
    case Code::kResourceExhausted:
      return Problem(429, "rate-limited", "Too many requests", status.message());
    case Code::kUnavailable: {
      auto response = Problem(503, "unavailable", "Service unavailable", status.message());
      response.set(bhttp::field::retry_after, "1");
      return response;
    }
    default:
      return Problem(500, "internal", "Internal error", status.message());
  }
}

Api::Api(const v1::BrokerConfig& config, std::shared_ptr<const engine::Rules> rules,
         store::Store* store, service::Broker* broker)
    : rules_(std::move(rules)),
      store_(store),
      broker_(broker),
      idempotency_ttl_ms_(config.server().idempotency_ttl().seconds() * 1000),
      backup_dir_(std::filesystem::absolute(
                      std::filesystem::path(config.storage().data_dir()) /
                      config.storage().backup_dir())  // an absolute backup_dir stands alone
                      .lexically_normal()),
      rate_limiter_(config.server().rate_limit().requests_per_second(),
                    config.server().rate_limit().burst()) {
  for (const auto& organization : config.organizations()) {
    for (const auto& hash : organization.token_sha256()) {
      callers_by_token_hash_[hash] = Caller{organization.name(), organization.side(), hash};
    }
  }
  for (const char* route : kRoutes)
    latency_[route] = std::make_unique<ops::Histogram>(kLatencyBuckets);
}

void Api::ServeStream(ops::EscalationLog* log, int max_readers) {
  log_ = log;
  max_stream_readers_ = max_readers;
}

std::optional<Response> Api::OverRateLimit(const std::string& key, const std::string& whose) {
  auto wait = rate_limiter_.Take(key, RateLimiter::Clock::now());
  if (wait.count() <= 0) return std::nullopt;
  auto response = ProblemFor(Status::ResourceExhausted(
      whose + " rate limit is exceeded; retry in " + std::to_string(wait.count()) + " ms"));
  response.set(bhttp::field::retry_after, std::to_string((wait.count() + 999) / 1000));
  return response;
}

void Api::ServeConnectors(connectors::Dispatcher* dispatcher, connectors::Inbox* inbox) {
  dispatcher_ = dispatcher;
  inbox_ = inbox;
}

void Api::AddMetrics(std::function<void(ops::Exposition*)> source) {
  metric_sources_.push_back(std::move(source));
}

Respond Api::Observed(const std::string& target, Respond respond) {
  const char* route = RouteOf(target);
  const auto started = std::chrono::steady_clock::now();
  return respond.Observed([this, route, started](unsigned status) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    latency_.at(route)->Observe(took.count());
    requests_.Add({route, std::to_string(status)});
  });
}

Response Api::Json(unsigned status, const google::protobuf::Message& message) {
  Response response{static_cast<bhttp::status>(status), 11};
  response.set(bhttp::field::content_type, "application/json");
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)MessageToJson(message, &response.body(), options);
  response.body() += '\n';
  return response;
}

const Api::Caller* Api::Authenticate(const Request& request) const {
  // Two credentials would leave the caller to a guess.
  if (request.count(bhttp::field::authorization) != 1) return nullptr;
  std::string_view header = request[bhttp::field::authorization];
  // "Bearer", in any case (an authentication scheme is a case-insensitive token, RFC 9110
  // section 11.1), then one or more spaces and the token.
  constexpr std::string_view kBearer = "bearer";
  if (header.size() <= kBearer.size() || header[kBearer.size()] != ' ' ||
      !boost::beast::iequals(header.substr(0, kBearer.size()), kBearer))
    return nullptr;
  std::string_view token = header.substr(kBearer.size());
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  if (token.empty()) return nullptr;
  auto found = callers_by_token_hash_.find(Sha256Hex(token));
  return found == callers_by_token_hash_.end() ? nullptr : &found->second;
}

void Api::Handle(Request&& request, Respond unobserved) {
  Respond respond = Observed(std::string(request.target()), std::move(unobserved));
  auto target = boost::urls::parse_origin_form(request.target());
  if (!target)
    return respond(Problem(400, "bad-target", "Malformed request target", "cannot parse the URL"));
  std::string path = target->path();
  std::vector<std::pair<std::string, std::string>> query;
  for (auto param : target->params()) query.emplace_back(param.key, param.value);
  const auto method = request.method();

  // Calls that take no query parameter refuse one, as the listings refuse those they do not
  // take: a misspelt option silently ignored would answer another question than the one asked.
  auto takes_no_query = [&]() -> std::optional<Response> {
    if (query.empty()) return std::nullopt;
    return ProblemFor(UnknownParameter(query.front().first, query.front().second));
  };
  auto method_not_allowed = [&](const char* allow) {
    auto response = Problem(405, "method-not-allowed", "Method not allowed",
                            std::string(request.method_string()) + " is not allowed on " + path);
    response.set(bhttp::field::allow, allow);
    respond(std::move(response));
  };

  // Probes may ask with HEAD, as load balancers' health checks often do; the session sends
  // the head of the GET answer.
  const bool probe_method = method == bhttp::verb::get || method == bhttp::verb::head;
  if (path == "/healthz") {
    if (!probe_method) return method_not_allowed("GET, HEAD");
    Response response{bhttp::status::ok, 11};
    response.set(bhttp::field::content_type, "application/json");
    response.body() = "{\"status\":\"alive\"}\n";
    return respond(std::move(response));
  }
  if (path == "/readyz") {
    if (!probe_method) return method_not_allowed("GET, HEAD");
    if (!ready_)
      return respond(Problem(503, "not-ready", "Not ready", "recovery has not finished"));
    // Ready means able to take writes: a nearly full disk takes the broker out of rotation.
    if (Status writable = store_->Writable(); !writable.ok())
      return respond(Problem(503, "not-ready", "Not ready", writable.message()));
    Response response{bhttp::status::ok, 11};
    response.set(bhttp::field::content_type, "application/json");
    response.body() = "{\"status\":\"ready\"}\n";
    return respond(std::move(response));
  }
  if (path.rfind("/v1/", 0) != 0 && path != "/metrics") {
    return respond(Problem(404, "no-such-route", "Not found", "no route " + path));
  }
  static const RE2 kInbound(R"(^/v1/connectors/([A-Za-z0-9_.-]+)/inbound$)");
  if (std::string connector; RE2::FullMatch(path, kInbound, &connector)) {
    // A remote system signs its requests rather than holding a bearer token.
    if (method != bhttp::verb::post) return method_not_allowed("POST");
    return Inbound(connector, std::move(request), std::move(respond));
  }

  const Caller* caller = Authenticate(request);
  if (caller == nullptr) {
    return respond(ProblemFor(Status::Unauthenticated(
        "a valid bearer token is required (Authorization: Bearer <token>)")));
  }
  if (path == "/metrics") {
    // Metrics name contracts and connectors, so they need an ops token like the log does.
    if (method != bhttp::verb::get) return method_not_allowed("GET");
    if (caller->side != v1::OPS)
      return respond(ProblemFor(Status::PermissionDenied("metrics need an ops token")));
    Response response{bhttp::status::ok, 11};
    response.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.body() = Metrics();
    return respond(std::move(response));
  }
  if (path == "/v1/stream") {
    // Before the rate limit: a reader reconnecting is one request, and the stream is long.
    if (method != bhttp::verb::get) return method_not_allowed("GET");
    if (caller->side != v1::OPS)
      return respond(ProblemFor(Status::PermissionDenied("the escalation log needs an ops token")));
    return Stream(request, query, respond);
  }
  if (auto limited = OverRateLimit(caller->token_hash, "this token's")) {
    return respond(std::move(*limited));
  }

  if (path == "/v1/admin/backup") {
    if (method != bhttp::verb::post) return method_not_allowed("POST");
    if (caller->side != v1::OPS)
      return respond(ProblemFor(Status::PermissionDenied("backups need an ops token")));
    if (auto refused = takes_no_query()) return respond(std::move(*refused));
    v1::BackupRequest backup;
    if (auto problem = BodyProblem(request, &backup)) return respond(std::move(*problem));
    return boost::asio::post(readers_, [this, to = backup.to(), respond = std::move(respond)] {
      auto target = BackupTarget(to);
      if (!target.ok()) return respond(ProblemFor(target.status()));
      v1::BackupResult result;
      result.set_last_sequence(store_->last_sequence());
      Status taken = store_->Checkpoint(target->string());
      if (!taken.ok()) return respond(ProblemFor(taken));
      result.set_path(target->string());
      spdlog::info("backup taken to {} (log sequence {})", result.path(), result.last_sequence());
      respond(Json(201, result));
    });
  }

  if (path == "/v1/reports/kpis") {
    if (method != bhttp::verb::get) return method_not_allowed("GET");
    if (caller->side != v1::OPS)
      return respond(ProblemFor(Status::PermissionDenied("KPI reports need an ops token")));
    return boost::asio::post(readers_, [this, query = std::move(query),
                                        respond = std::move(respond)] { Kpis(query, respond); });
  }

  static const RE2 kReplay(R"(^/v1/dead-letters/([^/]+)/replay$)");
  std::string dead_letter;
  if (path == "/v1/dead-letters" || RE2::FullMatch(path, kReplay, &dead_letter)) {
    const bool replay = !dead_letter.empty();
    if (method != (replay ? bhttp::verb::post : bhttp::verb::get))
      return method_not_allowed(replay ? "POST" : "GET");
    if (caller->side != v1::OPS)
      return respond(ProblemFor(Status::PermissionDenied("dead letters need an ops token")));
    if (dispatcher_ == nullptr) {
      return respond(Problem(503, "unavailable", "Service unavailable", "delivery is not running"));
    }
    if (!replay) {
      return boost::asio::post(readers_,
                               [this, query = std::move(query), respond = std::move(respond)] {
                                 DeadLetters(query, respond);
                               });
    }
    if (auto refused = takes_no_query()) return respond(std::move(*refused));
    return boost::asio::post(readers_, [this, dead_letter, respond = std::move(respond)] {
      Status replayed = dispatcher_->Replay(dead_letter);
      if (!replayed.ok()) return respond(ProblemFor(replayed));
      Response response{bhttp::status::accepted, 11};
      response.set(bhttp::field::content_type, "application/json");
      response.body() = "{\"id\":";
      AppendJsonString(dead_letter, &response.body());
      response.body() += ",\"status\":\"replayed\"}\n";
      respond(std::move(response));
    });
  }

  static const RE2 kCase(R"(^/v1/escalations/([A-Za-z0-9-]+)$)");
  static const RE2 kCaseEvents(R"(^/v1/escalations/([A-Za-z0-9-]+)/events$)");
  std::string case_id;
  if (path == "/v1/escalations") {
    if (method == bhttp::verb::post) {
      if (auto refused = takes_no_query()) return respond(std::move(*refused));
      return Escalate(*caller, std::move(request), std::move(respond));
    }
    if (method == bhttp::verb::get) {
      return boost::asio::post(
          readers_, [this, who = *caller, query = std::move(query), respond = std::move(respond)] {
            ListCases(who, query, respond);
          });
    }
    return method_not_allowed("GET, POST");
  }
  if (RE2::FullMatch(path, kCaseEvents, &case_id)) {
    if (method == bhttp::verb::post) {
      if (auto refused = takes_no_query()) return respond(std::move(*refused));
      return PostEvent(*caller, case_id, std::move(request), std::move(respond));
    }
    if (method == bhttp::verb::get) {
      return boost::asio::post(
          readers_, [this, who = *caller, case_id, query = std::move(query),
                     respond = std::move(respond)] { ListEvents(who, case_id, query, respond); });
    }
    return method_not_allowed("GET, POST");
  }
  if (RE2::FullMatch(path, kCase, &case_id)) {
    if (method == bhttp::verb::get) {
      if (auto refused = takes_no_query()) return respond(std::move(*refused));
      return boost::asio::post(readers_,
                               [this, who = *caller, case_id, respond = std::move(respond)] {
                                 GetCase(who, case_id, respond);
                               });
    }
    return method_not_allowed("GET");
  }
  respond(Problem(404, "no-such-route", "Not found", "no route " + path));
}

void Api::Stream(const Request& request, const Query& query, const Respond& respond) {
  if (log_ == nullptr)
    return respond(Problem(503, "unavailable", "Service unavailable", "the stream is not running"));
  if (Status single = RefuseRepeated(query, {"contract", "type"}); !single.ok())
    return respond(ProblemFor(single));
  auto filter = ops::ParseLogFilter(query);
  if (!filter.ok()) return respond(ProblemFor(filter.status()));
  const std::uint64_t newest = log_->last_sequence();
  std::uint64_t after = newest;  // no position given: from now on
  auto parse_sequence = [&](std::string_view text, const char* field) -> Status {
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      return Status::InvalidArgument("'" + std::string(text) + "' is not a log sequence number",
                                     field);
    }
    after = value;
    return Status::Ok();
  };
  for (const auto& [key, value] : query) {
    if (key == "after") {
      if (Status parsed = parse_sequence(value, "after"); !parsed.ok())
        return respond(ProblemFor(parsed));
    } else if (!ops::IsLogFilterParameter(key)) {
      return respond(ProblemFor(UnknownParameter(key, value)));
    }
  }
  // What a reconnecting EventSource sends wins over the URL it was first opened with.
  const char* position = "after";
  if (auto last_id = request["Last-Event-ID"]; !last_id.empty()) {
    position = "Last-Event-ID";
    if (Status parsed = parse_sequence(last_id, position); !parsed.ok())
      return respond(ProblemFor(parsed));
  }
  // A reader only ever gets events the log has, so a position past its newest means this log is
  // not the one the reader read: restored from a backup, or started afresh. Waiting there would
  // skip the new events numbered up to the position without a word.
  if (after > newest) {
    return respond(ProblemFor(Status::InvalidArgument(
        std::to_string(after) + " is past the newest event of this broker's log (" +
            std::to_string(newest) +
            "), as after a restore from a backup; resume from a sequence up to that",
        position)));
  }
  if (++*stream_readers_ > max_stream_readers_) {
    --*stream_readers_;
    auto response = Problem(503, "too-many-readers", "Too many stream readers",
                            "the broker serves at most " + std::to_string(max_stream_readers_) +
                                " stream readers at once; retry later");
    response.set(bhttp::field::retry_after, "5");
    return respond(std::move(response));
  }
  Response head{bhttp::status::ok, 11};
  head.set(bhttp::field::content_type, "text/event-stream; charset=utf-8");
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");  // a proxy in front must not hold events back
  respond.StartStream(std::move(head),
                      MakeLogStream(log_, after, std::move(*filter), stream_readers_));
}

std::string Api::Metrics() const {
  ops::Exposition out;
  out.Family("bridgeline_http_requests_total", "counter",
             "HTTP requests answered, by route and status code.");
  requests_.WriteTo(&out, "bridgeline_http_requests_total");
  out.Family("bridgeline_http_request_duration_seconds", "histogram",
             "Time from a request's arrival to its answer (for streams, to the head), by route.");
  for (const auto& [route, histogram] : latency_) {
    histogram->WriteTo(&out, "bridgeline_http_request_duration_seconds", {{"route", route}});
  }
  const service::BrokerStats stats = broker_->stats();
  out.Family("bridgeline_commits_total", "counter", "Synced commits of the single writer.");
  out.Sample("bridgeline_commits_total", {}, static_cast<double>(stats.commits));
  out.Family("bridgeline_failed_commits_total", "counter",
             "Commits that failed (their commands were refused).");
  out.Sample("bridgeline_failed_commits_total", {}, static_cast<double>(stats.failed_commits));
  out.Family("bridgeline_commit_size", "histogram",
             "Changes per synced commit (group commit at work).");
  broker_->commit_sizes().WriteTo(&out, "bridgeline_commit_size");
  out.Family("bridgeline_wal_sync_duration_seconds", "histogram",
             "Time each sync of the store's write-ahead log took; every answer of a commit waits "
             "for it.");
  broker_->sync_durations().WriteTo(&out, "bridgeline_wal_sync_duration_seconds");
  out.Family("bridgeline_open_cases", "gauge", "Open cases by status and priority.");
  for (int status = v1::NEW; status <= v1::REOPENED; ++status) {
    if (status == v1::CLOSED) continue;
    for (int priority = v1::P1; priority <= v1::P4; ++priority) {
      out.Sample("bridgeline_open_cases",
                 {{"status", v1::CaseStatus_Name(static_cast<v1::CaseStatus>(status))},
                  {"priority", v1::Priority_Name(static_cast<v1::Priority>(priority))}},
                 static_cast<double>(stats.open_cases[status][priority]));
    }
  }
  out.Family("bridgeline_pending_deadlines", "gauge",
             "Warnings and breaches the clocks have scheduled (some stale until skipped).");
  out.Sample("bridgeline_pending_deadlines", {}, static_cast<double>(stats.pending_deadlines));
  out.Family("bridgeline_log_sequence", "gauge", "The newest escalation-log sequence committed.");
  out.Sample("bridgeline_log_sequence", {}, static_cast<double>(store_->last_sequence()));
  if (log_ != nullptr) {
    out.Family("bridgeline_events_total", "counter",
               "Case events committed since start, by contract and type.");
    log_->events().WriteTo(&out, "bridgeline_events_total");
    out.Family("bridgeline_escalations_total", "counter", "Cases opened since start, by contract.");
    log_->escalations().WriteTo(&out, "bridgeline_escalations_total");
    out.Family("bridgeline_clock_warnings_total", "counter",
               "SLA clock warnings since start, by contract and clock.");
    log_->clock_warnings().WriteTo(&out, "bridgeline_clock_warnings_total");
    out.Family("bridgeline_clock_breaches_total", "counter",
               "SLA clock breaches since start, by contract and clock.");
    log_->clock_breaches().WriteTo(&out, "bridgeline_clock_breaches_total");
    out.Family("bridgeline_stream_readers", "gauge", "Readers of GET /v1/stream connected now.");
    out.Sample("bridgeline_stream_readers", {}, stream_readers_->load());
  }
  for (const auto& source : metric_sources_) source(&out);
  return out.Take();
}

Result<std::filesystem::path> Api::BackupTarget(const std::string& to) const {
  namespace fs = std::filesystem;
  const std::string inside =
      "must name a new directory inside storage.backup_dir (" + backup_dir_.string() + ")";
  if (to.empty()) return Status::InvalidArgument("is required: " + inside, "to");
  std::error_code error;
  // Symbolic links are followed as far as the path exists, so a link inside the directory
  // that points elsewhere does not lead out of it.
  const fs::path root = fs::weakly_canonical(backup_dir_, error);
  if (error) return Status::Unavailable("storage.backup_dir: " + error.message());
  const fs::path target = fs::weakly_canonical((backup_dir_ / to).lexically_normal(), error);
  if (error) return Status::InvalidArgument(error.message(), "to");
  auto [root_end, rest] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
  if (root_end != root.end() || rest == target.end() || rest->empty())
    return Status::InvalidArgument(inside, "to");
  fs::create_directories(target.parent_path(), error);
  if (error) {
    return Status::Unavailable("cannot create " + target.parent_path().string() + ": " +
                               error.message());
  }
  return target;
}

Result<std::optional<service::Idempotency>> Api::IdempotencyOf(
    const Caller& caller, const Request& request, const google::protobuf::Message& decoded,
    unsigned success_status) {
  constexpr std::string_view kHeader = "Idempotency-Key";
  const auto given = request.count(kHeader);
  if (given == 0) return std::optional<service::Idempotency>();
  // Which of two keys a retry would be matched by is a guess; an empty one protects nothing.
  if (given > 1) return Status::InvalidArgument("is given more than once", std::string(kHeader));
  const std::string_view key = request[kHeader];
  if (key.empty()) return Status::InvalidArgument("is empty", std::string(kHeader));
  if (key.size() > kMaxIdempotencyKey) {
    return Status::InvalidArgument(
        "is longer than " + std::to_string(kMaxIdempotencyKey) + " characters",
        std::string(kHeader));
  }
  service::Idempotency idempotency;
  idempotency.organization = caller.organization;
  idempotency.key = std::string(key);
  std::string fingerprint =
      std::string(request.method_string()) + ' ' + std::string(request.target()) + '\n';
  {
    google::protobuf::io::StringOutputStream bytes(&fingerprint);
    google::protobuf::io::CodedOutputStream coded(&bytes);
    coded.SetSerializationDeterministic(true);  // map entries in key order
    decoded.SerializeToCodedStream(&coded);
  }
  idempotency.request_hash = Sha256Hex(fingerprint);
  idempotency.ttl_ms = idempotency_ttl_ms_;
  Caller who = caller;
  idempotency.render = [this, who, success_status](const engine::Outcome& outcome) {
    unsigned status = outcome.repeat_contact ? 200 : success_status;
    Response response = ViewJson(status, who, outcome.state, nullptr, outcome.repeat_contact);
    return std::make_pair(status, std::move(response.body()));
  };
  return std::optional<service::Idempotency>(std::move(idempotency));
}

namespace {

// The answer to a command: its problem, the answer an Idempotency-Key replays, or `fresh`.
Response AnswerFor(const service::Answer& answer,
                   const std::function<Response(const engine::Outcome&)>& fresh) {
  if (!answer.status.ok()) return ProblemFor(answer.status);
  if (answer.replay) {
    Response response{static_cast<bhttp::status>(answer.replay->http_status()), 11};
    response.set(bhttp::field::content_type, "application/json");
    response.set("Idempotent-Replayed", "true");
    response.body() = answer.replay->body();
    return response;
  }
  return fresh(answer.outcome);
}

}  // namespace

void Api::Escalate(const Caller& caller, Request&& request, Respond respond) {
  if (caller.side != v1::OUTSOURCER) {
    return respond(ProblemFor(Status::PermissionDenied("only an outsourcer can escalate")));
  }
  v1::EscalateRequest escalate;
  if (auto problem = BodyProblem(request, &escalate)) return respond(std::move(*problem));
  auto idempotency = IdempotencyOf(caller, request, escalate, 201);
  if (!idempotency.ok()) return respond(ProblemFor(idempotency.status()));
  v1::Actor actor;
  actor.set_organization(caller.organization);
  actor.set_side(caller.side);
  actor.set_person(escalate.person());
  Caller who = caller;
  broker_->Escalate(std::move(escalate), std::move(actor), std::move(*idempotency),
                    [this, who, respond](service::Answer answer) {
                      // Rendering JSON is not the broker's job: the connection's thread does it.
                      respond.Rendered([this, who, answer = std::move(answer)] {
                        return AnswerFor(answer, [&](const engine::Outcome& outcome) {
                          unsigned status = outcome.repeat_contact ? 200 : 201;
                          Response response =
                              ViewJson(status, who, outcome.state, nullptr, outcome.repeat_contact);
                          if (status == 201)
                            response.set(bhttp::field::location,
                                         "/v1/escalations/" + outcome.state.id());
                          return response;
                        });
                      });
                    });
}

void Api::PostEvent(const Caller& caller, const std::string& case_id, Request&& request,
                    Respond respond) {
  if (caller.side == v1::OPS) {
    return respond(
        ProblemFor(Status::PermissionDenied("an ops token reads; it does not change cases")));
  }
  v1::EventRequest event;
  if (auto problem = BodyProblem(request, &event)) return respond(std::move(*problem));
  auto idempotency = IdempotencyOf(caller, request, event, 200);
  if (!idempotency.ok()) return respond(ProblemFor(idempotency.status()));
  if (event.type() == v1::EventType::TYPE_UNSPECIFIED) {
    return respond(ProblemFor(Status::InvalidArgument("is required", "type")));
  }
  v1::Actor actor;
  actor.set_organization(caller.organization);
  actor.set_side(caller.side);
  actor.set_person(event.actor().person());
  Caller who = caller;
  broker_->Handle(
      case_id, std::move(event), std::move(actor), std::move(*idempotency),
      [this, who, case_id, respond](service::Answer answer) {
        if (answer.status.code() == Status::Code::kNotFound) {
          // The engine holds open cases only. A closed one is still there to read, so the
          // caller who may see it is told why it takes no event, rather than that it is gone.
          return boost::asio::post(readers_, [this, who, case_id, respond, answer] {
            auto stored = VisibleCase(who, case_id);
            if (stored.ok() && stored->status() == v1::CLOSED) {
              return respond(ProblemFor(Status::FailedPrecondition(
                  "case " + case_id +
                  " is CLOSED and takes no more events; a new escalation opens a new case")));
            }
            respond(ProblemFor(answer.status));
          });
        }
        respond.Rendered([this, who, answer = std::move(answer)] {
          return AnswerFor(answer, [&](const engine::Outcome& outcome) {
            return ViewJson(200, who, outcome.state, &outcome.events, false);
          });
        });
      });
}

void Api::Inbound(const std::string& name, Request&& request, Respond respond) {
  connectors::Connector* connector = dispatcher_ ? dispatcher_->Find(name) : nullptr;
  if (connector == nullptr || inbox_ == nullptr)
    return respond(ProblemFor(Status::NotFound("no connector " + name)));
  // Flooding with bad signatures costs HMACs: the connector's name gets a rate limit.
  if (auto limited = OverRateLimit("connector:" + name, "connector " + name + "'s")) {
    return respond(std::move(*limited));
  }
  connectors::InboundRequest inbound;
  for (const auto& field : request) {
    std::string header(field.name_string());
    for (auto& c : header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    inbound.headers[header] = std::string(field.value());
  }
  inbound.body = std::move(request.body());
  inbound.now = WallClockNow();
  auto event = connector->Receive(inbound);
  if (!event.ok()) {
    if (event.status().code() == Status::Code::kUnauthenticated)
      spdlog::warn("connector {}: inbound request refused: {}", name, event.status().message());
    return respond(ProblemFor(event.status()));
  }
  const std::string case_id = event->case_id;
  const std::string type = v1::EventType::Value_Name(event->request.type());
  inbox_->Submit(name, std::move(*event), [case_id, type, respond](Status applied) {
    if (!applied.ok()) return respond(ProblemFor(applied));
    Response response{bhttp::status::ok, 11};
    response.set(bhttp::field::content_type, "application/json");
    response.body() = "{\"case_id\":";
    AppendJsonString(case_id, &response.body());
    response.body() += ",\"type\":";
    AppendJsonString(type, &response.body());
    response.body() += ",\"applied\":true}\n";
    respond(std::move(response));
  });
}

void Api::DeadLetters(const Query& query, const Respond& respond) {
  std::string connector;
  auto paging = ParsePaging(query, [&](const std::string& key, const std::string& value) {
    if (key != "connector") return UnknownParameter(key, value);
    connector = value;
    return Status::Ok();
  });
  if (!paging.ok()) return respond(ProblemFor(paging.status()));
  const auto limit = static_cast<std::size_t>(paging->limit);
  // One more than the page tells whether another page follows.
  auto letters = dispatcher_->DeadLetters(connector, limit + 1, paging->cursor);
  if (!letters.ok()) return respond(ProblemFor(letters.status()));
  v1::DeadLetterList list;
  const bool more = letters->size() > limit;
  if (more) letters->pop_back();
  for (auto& letter : *letters) {
    v1::DeadLetterView* view = list.add_dead_letters();
    view->set_id(letter.id);
    view->set_connector(letter.item.connector());
    view->set_case_id(letter.item.event().case_id());
    view->set_attempts(letter.item.attempts());
    view->set_last_error(letter.item.last_error());
    *view->mutable_enqueued_at() = letter.item.enqueued_at();
    *view->mutable_dead_at() = letter.item.dead_at();
    *view->mutable_event() = std::move(*letter.item.mutable_event());
  }
  if (more) list.set_next_cursor(list.dead_letters(list.dead_letters_size() - 1).id());
  respond(Json(200, list));
}

bool Api::Visible(const Caller& caller, const v1::Case& state) const {
  switch (caller.side) {
    case v1::OPS:
      return true;
    case v1::OUTSOURCER:
      return state.outsourcer() == caller.organization;
    case v1::CLIENT:
      return state.client() == caller.organization && state.status() != v1::NEW;
    default:
      return false;
  }
}

Response Api::ViewJson(unsigned status, const Caller& caller, const v1::Case& state,
                       const std::vector<v1::Event>* events, bool repeat_contact) const {
  // The view is copied from the case, printed and dropped at once, so it lives on an arena that
  // starts on the stack: its strings and sub-messages are neither allocated nor freed one by one.
  alignas(std::max_align_t) char first_block[8192];
  google::protobuf::ArenaOptions options;
  options.initial_block = first_block;
  options.initial_block_size = sizeof first_block;
  google::protobuf::Arena arena(options);
  auto* view = google::protobuf::Arena::CreateMessage<v1::CaseView>(&arena);
  View(caller, state, events, repeat_contact, view);
  return Json(status, *view);
}

void Api::View(const Caller& caller, const v1::Case& state, const std::vector<v1::Event>* events,
               bool repeat_contact, v1::CaseView* out) const {
  v1::CaseView& view = *out;
  view.set_id(state.id());
  view.set_contract(state.contract());
  view.set_status(state.status());
  view.set_owner(state.owner());
  view.set_priority(state.priority());
  view.set_waiting_on(state.waiting_on());
  view.set_repeat_contacts(state.repeat_contacts());
  view.set_repeat_contact(repeat_contact);
  view.set_tier1_ticket_id(state.tier1_ticket_id());
  *view.mutable_customer() = state.customer();
  view.set_category(state.category());
  view.set_product(state.product());
  view.set_region(state.region());
  view.set_severity(state.severity());
  view.set_subject(state.subject());
  view.set_description(state.description());
  *view.mutable_clocks() = state.clocks();
  *view.mutable_contacts() = state.contacts();
  *view.mutable_created_at() = state.created_at();
  *view.mutable_updated_at() = state.updated_at();
  view.set_exception_flagged(state.exception_flagged());
  view.set_exception_reason(state.exception_reason());
  *view.mutable_remote_refs() = state.remote_refs();

  const engine::ContractRules* contract = rules_->Contract(state.contract());
  v1::DueTimes* due = view.mutable_due();
  if (contract != nullptr) due->set_time_zone(contract->calendar().time_zone_name());
  // A clock that is not running has no due time, and its instant is left out rather than
  // printed as the epoch: an acknowledged case is due to be acknowledged by no time at all.
  auto due_at = [&](v1::ClockKind kind) -> const google::protobuf::Timestamp* {
    const v1::Clock* clock = engine::FindClock(state, kind);
    return clock != nullptr && clock->has_due_at() ? &clock->due_at() : nullptr;
  };
  auto local = [&](const google::protobuf::Timestamp& at) {
    return contract == nullptr ? std::string()
                               : contract->calendar().FormatLocal(FromTimestamp(at));
  };
  if (const auto* at = due_at(v1::ACKNOWLEDGE)) {
    *due->mutable_acknowledge_by() = *at;
    due->set_acknowledge_by_local(local(*at));
  }
  if (const auto* at = due_at(v1::RESOLVE)) {
    *due->mutable_resolve_by() = *at;
    due->set_resolve_by_local(local(*at));
  }
  if (events != nullptr) {
    *view.mutable_events() = {events->begin(), events->end()};
    if (!events->empty()) view.set_earlier_events(events->front().case_version() - 1);
  }

  if (caller.side == v1::CLIENT && contract != nullptr) {
    engine::MaskCustomer(contract->config(), view.mutable_customer());
    for (auto& event : *view.mutable_events()) engine::MaskEvent(contract->config(), &event);
  }
}

Result<v1::Case> Api::VisibleCase(const Caller& caller, const std::string& case_id) {
  // Reads come from the store, so they show only what was committed.
  auto stored = store_->GetCase(case_id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value() || !Visible(caller, **stored))
    return Status::NotFound("no case " + case_id);
  return std::move(**stored);
}

void Api::GetCase(const Caller& caller, const std::string& case_id, Respond respond) {
  auto state = VisibleCase(caller, case_id);
  if (!state.ok()) return respond(ProblemFor(state.status()));
  // A case may gather thousands of events (a customer who keeps calling); the answer stays
  // small and the history is paged by ListEvents.
  auto events = store_->GetLatestEvents(case_id, kEventsInView);
  if (!events.ok()) return respond(ProblemFor(events.status()));
  respond(ViewJson(200, caller, *state, &*events, false));
}

void Api::ListEvents(const Caller& caller, const std::string& case_id, const Query& query,
                     Respond respond) {
  auto paging = ParsePaging(query, UnknownParameter);
  if (!paging.ok()) return respond(ProblemFor(paging.status()));
  std::uint64_t after = 0;  // the case version the page follows
  const std::string& cursor = paging->cursor;
  if (auto [end, error] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), after);
      !cursor.empty() && (error != std::errc() || end != cursor.data() + cursor.size())) {
    return respond(
        ProblemFor(Status::InvalidArgument("'" + cursor + "' is not a cursor", "cursor")));
  }
  const auto limit = static_cast<std::size_t>(paging->limit);
  auto state = VisibleCase(caller, case_id);
  if (!state.ok()) return respond(ProblemFor(state.status()));
  // One more than the page tells whether another page follows.
  auto events = store_->GetEvents(case_id, after, limit + 1);
  if (!events.ok()) return respond(ProblemFor(events.status()));
  v1::EventList list;
  const bool more = events->size() > limit;
  if (more) events->pop_back();
  const engine::ContractRules* contract = rules_->Contract(state->contract());
  for (auto& event : *events) {
    if (caller.side == v1::CLIENT && contract != nullptr)
      engine::MaskEvent(contract->config(), &event);
    *list.add_events() = std::move(event);
  }
  if (more)
    list.set_next_cursor(std::to_string(list.events(list.events_size() - 1).case_version()));
  respond(Json(200, list));
}

void Api::ListCases(const Caller& caller, const Query& query, Respond respond) {
  std::string contract, owner;
  v1::CaseStatus status = v1::CASE_STATUS_UNSPECIFIED;
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  auto paging = ParsePaging(query, [&](const std::string& key, const std::string& value) {
    if (key == "contract") {
      contract = value;
    } else if (key == "owner") {
      owner = value;
    } else if (key == "status") {
      if (!v1::CaseStatus_Parse(value, &status) || status == v1::CASE_STATUS_UNSPECIFIED)
        return Status::InvalidArgument("'" + value + "' is not a status", "status");
    } else if (key == "priority") {
      if (!v1::Priority_Parse(value, &priority) || priority == v1::PRIORITY_UNSPECIFIED)
        return Status::InvalidArgument("'" + value + "' is not P1, P2, P3 or P4", "priority");
    } else {
      return UnknownParameter(key, value);
    }
    return Status::Ok();
  });
  if (!paging.ok()) return respond(ProblemFor(paging.status()));
  // The case the page starts below (its id); 0: from the newest.
  const std::uint64_t cursor =
      paging->cursor.empty() ? 0 : engine::Engine::CaseNumber(paging->cursor);
  if (!paging->cursor.empty() && cursor == 0) {
    return respond(
        ProblemFor(Status::InvalidArgument("'" + paging->cursor + "' is not a cursor", "cursor")));
  }
  const int limit = paging->limit;
  v1::CaseList list;
  int scanned = 0;
  std::string last_seen;
  Status listed = store_->ForEachCaseNewestFirst(cursor, [&](const v1::Case& state) {
    last_seen = state.id();
    if (++scanned > kMaxScannedPerPage) return false;
    if (!Visible(caller, state)) return true;
    if (!contract.empty() && state.contract() != contract) return true;
    if (!owner.empty() && state.owner() != owner) return true;
    if (status != v1::CASE_STATUS_UNSPECIFIED && state.status() != status) return true;
    if (priority != v1::PRIORITY_UNSPECIFIED && state.priority() != priority) return true;
    View(caller, state, nullptr, false, list.add_escalations());
    return list.escalations_size() < limit;
  });
  if (!listed.ok()) return respond(ProblemFor(listed));
  // The next page starts below the last case looked at; none when the scan ran out of cases.
  if ((list.escalations_size() == limit || scanned > kMaxScannedPerPage) &&
      engine::Engine::CaseNumber(last_seen) > 1) {
    list.set_next_cursor(last_seen);
  }
  respond(Json(200, list));
}

// The same figures as `bridgeline report`, as JSON (the default), CSV or HTML.
void Api::Kpis(const Query& query, const Respond& respond) {
  if (Status single = RefuseRepeated(query, {"contract"}); !single.ok())
    return respond(ProblemFor(single));
  std::string from, to, format = "json";
  std::vector<std::string> contracts;
  for (const auto& [key, value] : query) {
    if (key == "from") {
      from = value;
    } else if (key == "to") {
      to = value;
    } else if (key == "contract") {
      contracts.push_back(value);
    } else if (key == "format") {
      if (value != "json" && value != "csv" && value != "html") {
        return respond(ProblemFor(Status::InvalidArgument("must be json, csv or html", "format")));
      }
      format = value;
    } else {
      return respond(ProblemFor(Status::InvalidArgument("unknown query parameter", key)));
    }
  }
  auto range = report::ParseRange(from, to, contracts, *rules_, WallClockNow());
  if (!range.ok()) return respond(ProblemFor(range.status()));
  auto kpis = report::ReportFromStore(*store_, rules_, *range);
  if (!kpis.ok()) return respond(ProblemFor(kpis.status()));
  if (format == "json") return respond(Json(200, *kpis));
  Response response{bhttp::status::ok, 11};
  response.set(bhttp::field::content_type,
               format == "csv" ? "text/csv; charset=utf-8" : "text/html; charset=utf-8");
  response.body() = format == "csv" ? report::RenderCsv(*kpis) : report::RenderHtml(*kpis);
  respond(std::move(response));
}

}  // namespace bridgeline::http
