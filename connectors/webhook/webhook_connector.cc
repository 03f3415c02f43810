// The `webhook` connector. Outbound: each event is POSTed as JSON signed the Standard Webhooks
// way; 2xx is delivered, 408, 429, 5xx and no answer are retried (Retry-After honoured), any
// other answer is permanent (a dead letter). Inbound: the client's system POSTs one change to
// /v1/connectors/{name}/inbound, signed with the same secret; a stale timestamp or a wrong
// signature is refused, and the webhook-id makes a resent change apply once.
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "broker/common/json.h"
#include "broker/http/client.h"
#include "connectors/registry/registry.h"
#include "connectors/webhook/signature.h"
#include "webhook.pb.h"  // generated from connectors/webhook/webhook.proto

namespace bridgeline::connectors::webhook {
namespace {

namespace v1 = bridgeline::v1;

constexpr TimeMs kDefaultTimeoutMs = 10 * kSecondMs;
constexpr TimeMs kDefaultToleranceMs = 5 * kMinuteMs;

// Retry-After as delay-seconds or an HTTP-date; 0 when absent or unreadable.
TimeMs RetryAfterMs(const std::map<std::string, std::string>& headers) {
  auto header = headers.find("retry-after");
  if (header == headers.end()) return 0;
  const std::string& value = header->second;
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos)
    return std::stoll(value.substr(0, 9)) * kSecondMs;
  std::tm date{};
  std::istringstream in(value);
  in >> std::get_time(&date, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return 0;
  const TimeMs at = static_cast<TimeMs>(timegm(&date)) * kSecondMs;
  return std::max<TimeMs>(0, at - WallClockNow());
}

class WebhookConnector : public Connector {
 public:
  WebhookConnector(std::string name, std::optional<http::HttpEndpoint> endpoint,
                   std::shared_ptr<http::ClientTls> tls, std::string key, TimeMs timeout_ms,
                   TimeMs tolerance_ms)
      : name_(std::move(name)),
        endpoint_(std::move(endpoint)),
        key_(std::move(key)),
        timeout_ms_(timeout_ms),
        tolerance_ms_(tolerance_ms),
        tls_(std::move(tls)) {
    if (endpoint_) {
      pool_ = std::make_unique<http::HttpClientPool>(endpoint_->host, endpoint_->port,
                                                     std::chrono::milliseconds(timeout_ms_), tls_);
    }
  }

  Status ReloadTls() override { return ReloadRemoteTls(tls_.get()); }

  DeliveryResult Deliver(const v1::OutboxItem& item) override {
    if (!endpoint_) return DeliveryResult::Delivered();  // receives only
    std::string body;
    if (Status built = Payload(item, &body); !built.ok())
      return DeliveryResult::Permanent("cannot print event: " + built.ToString());
    // Stable across retries, so the receiver can drop a repeat.
    const std::string id = "bl_" + std::to_string(item.event().sequence());
    const std::int64_t timestamp = WallClockNow() / kSecondMs;
    const std::map<std::string, std::string> headers = {
        {"Content-Type", "application/json"},
        {"User-Agent", "Bridgeline"},
        {"webhook-id", id},
        {"webhook-timestamp", std::to_string(timestamp)},
        {"webhook-signature", Sign(key_, id, timestamp, body)}};

    http::HttpResponse response = pool_->Request("POST", endpoint_->target, body, headers);

    return DeliveryResult::FromHttpAnswer(
        response.status,
        "POST " + endpoint_->host + ":" + std::to_string(endpoint_->port) + endpoint_->target,
        response.error, response.body, RetryAfterMs(response.headers));
  }

  Result<InboundEvent> Receive(const InboundRequest& request) override {
    auto header = [&](const char* name) -> std::string_view {
      auto found = request.headers.find(name);
      return found == request.headers.end() ? std::string_view() : found->second;
    };
    BRIDGELINE_RETURN_IF_ERROR(Verify(key_, header("webhook-id"), header("webhook-timestamp"),
                                      header("webhook-signature"), request.body, request.now,
                                      tolerance_ms_));
    InboundChange change;
    if (Status parsed = JsonToMessage(request.body, &change, {}, Strictness::kStrict); !parsed.ok())
      return parsed.field().empty() ? Status::InvalidArgument(parsed.message()) : parsed;
    if (change.case_id().empty()) return Status::InvalidArgument("is required", "case_id");
    if (change.type() == v1::EventType::TYPE_UNSPECIFIED)
      return Status::InvalidArgument("is required", "type");
    InboundEvent event;
    event.case_id = change.case_id();
    event.delivery_id = std::string(header("webhook-id"));
    event.request.set_type(change.type());
    event.request.set_note(change.note());
    event.request.set_reason(change.reason());
    event.request.set_owner(change.owner());
    event.request.set_priority(change.priority());
    *event.request.mutable_actor() = change.actor();
    return event;
  }

 private:
  // {"type":"case.<event>","timestamp":...,"data":{"event":{...},"case":{...}}}: the envelope
  // Standard Webhooks recommends.
  static Status Payload(const v1::OutboxItem& item, std::string* body) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    body->append("{\"type\":");
    AppendJsonString("case." + v1::EventType::Value_Name(item.event().type()), body);
    body->append(",\"timestamp\":");
    AppendJsonString(FormatUtc(FromTimestamp(item.event().at())), body);
    body->append(",\"data\":{\"event\":");
    BRIDGELINE_RETURN_IF_ERROR(MessageToJson(item.event(), body, options));
    body->append(",\"case\":");
    BRIDGELINE_RETURN_IF_ERROR(MessageToJson(item.case_state(), body, options));
    body->append("}}");
    return Status::Ok();
  }

  const std::string name_;
  const std::optional<http::HttpEndpoint> endpoint_;
  const std::string key_;
  const TimeMs timeout_ms_;
  const TimeMs tolerance_ms_;
  const std::shared_ptr<http::ClientTls> tls_;  // null: plain http://
  std::unique_ptr<http::HttpClientPool> pool_;
};

class WebhookFactory : public ConnectorFactory {
 public:
  std::string type() const override { return "webhook"; }
  std::unique_ptr<google::protobuf::Message> NewSettings() const override {
    return std::make_unique<WebhookSettings>();
  }
  Status Validate(const google::protobuf::Message& message) const override {
    const auto& settings = static_cast<const WebhookSettings&>(message);
    if (!settings.url().empty()) {
      BRIDGELINE_RETURN_IF_ERROR(ParseRemote(settings.url(), settings.tls()).status());
    } else if (settings.has_tls()) {
      return Status::InvalidArgument("applies to the url events are sent to; there is none", "tls");
    }
    if (settings.secret().empty() == settings.secret_env().empty()) {
      return Status::InvalidArgument(
          "a webhook needs its signing secret in exactly one of secret or secret_env", "secret");
    }
    if (!settings.secret().empty()) {
      auto key = DecodeSecret(settings.secret());
      if (!key.ok()) return Status::InvalidArgument(key.status().message(), "secret");
    }
    return Status::Ok();
  }
  Result<std::unique_ptr<Connector>> Create(const v1::ConnectorConfig& config,
                                            const ConnectorContext&) const override {
    WebhookSettings settings;
    if (!config.settings().UnpackTo(&settings))
      return Status::InvalidArgument("settings are not webhook settings");
    BRIDGELINE_RETURN_IF_ERROR(Validate(settings));
    auto secret = SecretFromSettings(settings.secret(), settings.secret_env(), "secret_env");
    if (!secret.ok()) return secret.status();
    auto key = DecodeSecret(*secret);
    if (!key.ok())
      return Status::InvalidArgument(settings.secret_env() + ": " + key.status().message());
    std::optional<http::HttpEndpoint> endpoint;
    std::shared_ptr<http::ClientTls> tls;
    if (!settings.url().empty()) {
      auto remote = ParseRemote(settings.url(), settings.tls());
      if (!remote.ok()) return remote.status();
      WarnIfClearText(config.name(), remote->endpoint);
      endpoint = std::move(remote->endpoint);
      tls = std::move(remote->tls);
    }
    return std::unique_ptr<Connector>(std::make_unique<WebhookConnector>(
        config.name(), std::move(endpoint), std::move(tls), std::move(*key),
        DurationMsOr(settings.timeout(), kDefaultTimeoutMs),
        DurationMsOr(settings.tolerance(), kDefaultToleranceMs)));
  }
};

BRIDGELINE_REGISTER_CONNECTOR(WebhookFactory);

}  // namespace
}  // namespace bridgeline::connectors::webhook
