#include "connectors/registry/registry.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "broker/common/json.h"

namespace bridgeline::connectors {

DeliveryResult DeliveryResult::FromHttpAnswer(int status, const std::string& where,
                                              const std::string& transport_error,
                                              const std::string& body, TimeMs retry_after_ms) {
  constexpr std::size_t kBodyShown = 300;
  if (status >= 200 && status < 300) return Delivered();
  if (status == 0) return Retry(where + ": " + transport_error);
  std::string error =
      where + " answered " + std::to_string(status) + ": " + OneLineExcerpt(body, kBodyShown);
  if (status == 408 || status == 429 || status >= 500)
    return Retry(std::move(error), retry_after_ms);
  return Permanent(std::move(error));
}

std::vector<DeliveryResult> Connector::DeliverBatch(
    const std::vector<const bridgeline::v1::OutboxItem*>& items) {
  std::vector<DeliveryResult> results;
  results.reserve(items.size());
  for (const auto* item : items) results.push_back(Deliver(*item));
  return results;
}

Result<InboundEvent> Connector::Receive(const InboundRequest&) {
  return Status::NotFound("this connector receives nothing; its remote system cannot push to it");
}

Result<std::string> SecretFromSettings(const std::string& value, const std::string& env,
                                       const std::string& env_field) {
  if (env.empty()) return value;
  const char* set = std::getenv(env.c_str());
  if (set == nullptr || *set == '\0') {
    return Status::InvalidArgument("the environment variable " + env + " (" + env_field +
                                   ") is not set");
  }
  return std::string(set);
}

namespace {
// ClientTls names the certificate's settings by their own names; a connector's are under `tls`.
Status UnderTls(const Status& status) {
  if (status.field().rfind("tls.", 0) == 0) return status;
  return Status::InvalidArgument(status.message(), "tls." + status.field());
}
}  // namespace

Result<Remote> ParseRemote(const std::string& url, const bridgeline::v1::RemoteTlsConfig& tls) {
  auto endpoint = http::ParseHttpUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  Remote remote{std::move(*endpoint), nullptr};
  if (!remote.endpoint.tls) {
    if (tls.ByteSizeLong() == 0) return remote;
    return Status::InvalidArgument("applies to an https:// url only; this url is http://", "tls");
  }
  auto client = http::ClientTls::Load(tls.ca_file(), "tls.ca_file");
  if (!client.ok()) return client.status();
  if (tls.certificate_file().empty() != tls.private_key_file().empty()) {
    return Status::InvalidArgument(
        "a client certificate needs both certificate_file and private_key_file",
        tls.certificate_file().empty() ? "tls.certificate_file" : "tls.private_key_file");
  }
  if (!tls.certificate_file().empty()) {
    Status presented = (*client)->Present(tls.certificate_file(), tls.private_key_file());
    if (!presented.ok()) return UnderTls(presented);
  }
  remote.tls = std::move(*client);
  return remote;
}

Status ReloadRemoteTls(http::ClientTls* tls) {
  if (tls == nullptr) return Status::Ok();
  Status reloaded = tls->Reload();
  return reloaded.ok() ? reloaded : UnderTls(reloaded);
}

void WarnIfClearText(const std::string& connector, const http::HttpEndpoint& endpoint) {
  if (endpoint.tls || http::IsLoopbackHost(endpoint.host)) return;
  spdlog::warn(
      "connector {}: calls {}:{} over plain http://, so the cases it carries cross the network "
      "in clear text; use an https:// url",
      connector, endpoint.host, endpoint.port);
}

Registry& Registry::Global() {
  static Registry* registry = new Registry();  // never destroyed: used from static initializers
  return *registry;
}

void Registry::Register(std::unique_ptr<ConnectorFactory> factory) {
  std::string type = factory->type();
  factories_[type] = std::move(factory);
}

const ConnectorFactory* Registry::Find(std::string_view type) const {
  auto found = factories_.find(type);
  return found == factories_.end() ? nullptr : found->second.get();
}

std::vector<std::string> Registry::Types() const {
  std::vector<std::string> types;
  for (const auto& [type, factory] : factories_) types.push_back(type);
  return types;
}

config::ConnectorTypes Registry::ConfigTypes() const {
  config::ConnectorTypes types;
  types.names = Types();
  types.new_settings = [this](std::string_view type) -> std::unique_ptr<google::protobuf::Message> {
    const ConnectorFactory* factory = Find(type);
    return factory ? factory->NewSettings() : nullptr;
  };
  types.validate = [this](std::string_view type, const google::protobuf::Message& settings) {
    const ConnectorFactory* factory = Find(type);
    return factory ? factory->Validate(settings)
                   : Status::InvalidArgument("unknown connector type");
  };
  return types;
}

}  // namespace bridgeline::connectors
