// Connectors are plug-ins chosen by `type` in the config. Each type registers a factory here,
// Envoy-style: the factory names its typed settings message, validates it at config load, and
// builds the connector. A new connector is one folder and one line in connectors/CMakeLists.txt.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bridgeline/v1/api.pb.h"
#include "bridgeline/v1/config.pb.h"
#include "bridgeline/v1/store.pb.h"
#include "broker/common/status.h"
#include "broker/common/time.h"
#include "broker/config/config.h"
#include "broker/http/client.h"

namespace bridgeline::connectors {

// What one delivery attempt came to.
struct DeliveryResult {
  enum class Kind { kDelivered, kRetry, kPermanentFailure };
  Kind kind = Kind::kDelivered;
  // The remote system's reference for the case (an RT ticket id), when it has one.
  std::string remote_ref;
  std::string error;
  // From a Retry-After, when the remote said how long to wait; 0 otherwise.
  TimeMs retry_after_ms = 0;

  static DeliveryResult Delivered(std::string remote_ref = {}) {
    return {Kind::kDelivered, std::move(remote_ref), {}, 0};
  }
  static DeliveryResult Retry(std::string error, TimeMs retry_after_ms = 0) {
    return {Kind::kRetry, {}, std::move(error), retry_after_ms};
  }
  static DeliveryResult Permanent(std::string error) {
    return {Kind::kPermanentFailure, {}, std::move(error), 0};
  }
  // What an HTTP answer means for a delivery: 2xx is delivered; no answer (`status` 0, with
  // `transport_error`), 408, 429 and 5xx are retried; any other answer is permanent. `where`
  // starts the error ("POST host/path"); a part of the answer's body follows the status.
  static DeliveryResult FromHttpAnswer(int status, const std::string& where,
                                       const std::string& transport_error, const std::string& body,
                                       TimeMs retry_after_ms = 0);
};

// What a remote system sent to POST /v1/connectors/{name}/inbound.
struct InboundRequest {
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  TimeMs now = 0;
};

// A remote change, as the event it means for one case.
struct InboundEvent {
  std::string case_id;
  bridgeline::v1::EventRequest request;
  // The sender's id for the change (a webhook-id): the same id is applied once.
  std::string delivery_id;
};

// Where connectors hand what their remote system changed, and keep what they must remember
// across restarts (a polling cursor). Implemented by the broker's side (connectors/inbox).
class Inbox {
 public:
  virtual ~Inbox() = default;
  // Applies `event` to its case as the client of the case's contract, marked as coming via
  // `connector` (which is then not sent the change back). `done` gets the outcome, from
  // another thread: NotFound when that connector does not carry the case.
  virtual void Submit(const std::string& connector, InboundEvent event,
                      std::function<void(Status)> done) = 0;
  // The connector's durable state; empty until first saved.
  virtual Result<std::string> LoadState(const std::string& connector) = 0;
  virtual Status SaveState(const std::string& connector, const std::string& value) = 0;
};

// One configured connector. Deliver runs on that connector's delivery threads, up to the
// delivery policy's concurrency at once (never two events of one case), and may block (a file
// sync, an HTTP call with a timeout).
class Connector {
 public:
  virtual ~Connector() = default;
  // Carries one event (with the case as it stood after it, already masked) to the remote side.
  // `item.maybe_delivered()` says an earlier attempt may have reached the remote (a retry, or
  // an item that was in flight when the broker stopped): the remote may have it already.
  virtual DeliveryResult Deliver(const bridgeline::v1::OutboxItem& item) = 0;
  // Carries several items at once, each of a different case, when that is cheaper than one by
  // one (a file connector syncs once for all). Answers one result per item, in order. A
  // connector that overrides it says how many it takes in max_batch(); the default delivers
  // one by one.
  virtual std::vector<DeliveryResult> DeliverBatch(
      const std::vector<const bridgeline::v1::OutboxItem*>& items);
  virtual std::size_t max_batch() const { return 1; }
  // Checks and decodes a request the remote side pushed to us (a signed webhook). Errors say
  // what was wrong: Unauthenticated for a bad signature or stale timestamp, InvalidArgument
  // naming the field. Connectors that receive nothing answer NotFound.
  virtual Result<InboundEvent> Receive(const InboundRequest& request);
  // Connectors that fetch the remote side's changes themselves (polling) start doing so here,
  // handing them to `inbox`, and stop in StopInbound. Nothing by default.
  virtual void StartInbound(Inbox* inbox) { (void)inbox; }
  virtual void StopInbound() {}
  // Reads the connector's TLS files again (SIGHUP: a renewed client certificate, a rotated
  // authority), for the connections it opens from now on. On an error what is in use stays,
  // and the Status names the setting at fault. Connectors without TLS have nothing to do.
  virtual Status ReloadTls() { return Status::Ok(); }
};

// What a factory may use to build a connector.
struct ConnectorContext {
  const bridgeline::v1::BrokerConfig* config = nullptr;
  // The broker's data directory, for connectors that keep files.
  std::string data_dir;
};

class ConnectorFactory {
 public:
  virtual ~ConnectorFactory() = default;
  // The `type` name in the config.
  virtual std::string type() const = 0;
  // An empty settings message of this type's own proto.
  virtual std::unique_ptr<google::protobuf::Message> NewSettings() const = 0;
  // Checks settings beyond their types; the Status's field names the setting at fault.
  virtual Status Validate(const google::protobuf::Message& settings) const = 0;
  virtual Result<std::unique_ptr<Connector>> Create(const bridgeline::v1::ConnectorConfig& config,
                                                    const ConnectorContext& context) const = 0;
};

// A secret given in the settings themselves (`value`) or, better, in the environment variable
// named by `env`; InvalidArgument naming `env_field` when that variable is not set.
Result<std::string> SecretFromSettings(const std::string& value, const std::string& env,
                                       const std::string& env_field);

// Where a connector's `url` points, and how it speaks TLS there (null `tls`: plain http://).
struct Remote {
  http::HttpEndpoint endpoint;
  std::shared_ptr<http::ClientTls> tls;
};

// Parses `url` and, for https://, loads what `tls` names: the authorities trusted (the
// system's by default) and the client certificate presented, if any. InvalidArgument naming
// the setting at fault: `url`, `tls.ca_file`..., or `tls` when it is set for an http:// URL (it
// would protect nothing).
Result<Remote> ParseRemote(const std::string& url, const bridgeline::v1::RemoteTlsConfig& tls);
// Connector::ReloadTls for a remote made by ParseRemote: reloads `tls` (nothing to do when
// null, a plain http:// url), naming the setting at fault as ParseRemote does.
Status ReloadRemoteTls(http::ClientTls* tls);

// Logs a warning when `connector` calls another machine over plain http://: the cases it
// carries, customers' details with them, would cross the network in clear text.
void WarnIfClearText(const std::string& connector, const http::HttpEndpoint& endpoint);

class Registry {
 public:
  // The process-wide registry that built-in connectors add themselves to.
  static Registry& Global();

  void Register(std::unique_ptr<ConnectorFactory> factory);
  const ConnectorFactory* Find(std::string_view type) const;
  std::vector<std::string> Types() const;
  // The view of the registry that the config loader needs.
  config::ConnectorTypes ConfigTypes() const;

 private:
  std::map<std::string, std::unique_ptr<ConnectorFactory>, std::less<>> factories_;
};

// Registers `Factory` at start-up, from the connector's own .cc file.
#define BRIDGELINE_REGISTER_CONNECTOR(Factory)                                          \
  static const bool bridgeline_registered_##Factory = [] {                              \
    ::bridgeline::connectors::Registry::Global().Register(std::make_unique<Factory>()); \
    return true;                                                                        \
  }()

}  // namespace bridgeline::connectors
