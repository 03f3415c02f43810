// libFuzzer target for request decoding: raw bytes through the same HTTP parser limits the
// server uses, the strict JSON decoding the API uses, and on into the engine's validation.
// The first byte picks the mode: odd = a whole HTTP request, even = a JSON body alone (so the
// fuzzer reaches deep into JSON without first having to find valid HTTP framing).
#include <google/protobuf/util/json_util.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "bridgeline/v1/api.pb.h"
#include "broker/common/json.h"
#include "broker/config/config.h"
#include "broker/engine/engine.h"
#include "broker/engine/rules.h"
#include "broker/http/decode.h"

namespace {

namespace bhttp = boost::beast::http;
namespace v1 = bridgeline::v1;

constexpr char kConfig[] = R"(
organizations:
  - { name: outsourcer, side: outsourcer, token_sha256: [33c025172e1813950de5d2a0d123536ec989ceae641560eb49c8d9ec493e1eef] }
  - { name: client, side: client, token_sha256: [2954719ac19515ccad76a8a29f899ea64aae6737c8645b748ff941a3b670f8af] }
owners:
  - { name: desk, organization: client }
  - { name: security, organization: client }
calendars:
  - { name: office, time_zone: Europe/Berlin, hours: [{ days: [mon, tue, wed, thu, fri], open: "08:00", close: "18:00" }] }
contracts:
  - name: fuzz
    outsourcer: outsourcer
    client: client
    calendar: office
    default_tier: standard
    priority_matrix:
      - { tier: gold, sev1: P1, sev2: P1, sev3: P2, sev4: P3 }
      - { tier: standard, sev1: P1, sev2: P2, sev3: P3, sev4: P4 }
    priority_rules:
      - { name: fraud, text: ["(?i)fraud"], raise_to: P1 }
    routes:
      - { name: security, match: { text: ["(?i)account takeover"] }, owner: security }
      - { name: all, owner: desk }
    sla:
      targets:
        - { priority: P1, acknowledge: 15m, resolve: 4h, provide_info: 30m, confirm: 4h }
        - { priority: P2, acknowledge: 30m, resolve: 8h, provide_info: 2h, confirm: 8h }
        - { priority: P3, acknowledge: 2h, resolve: 2d, provide_info: 8h, confirm: 1d }
        - { priority: P4, acknowledge: 8h, resolve: 5d, provide_info: 1d, confirm: 2d }
)";

std::shared_ptr<const bridgeline::engine::Rules> LoadRules() {
  bridgeline::config::ConnectorTypes no_connectors;
  no_connectors.new_settings = [](std::string_view) {
    return std::unique_ptr<google::protobuf::Message>();
  };
  no_connectors.validate = [](std::string_view, const google::protobuf::Message&) {
    return bridgeline::Status::Ok();
  };
  auto loaded = bridgeline::config::LoadConfigText(kConfig, "fuzz.yaml", no_connectors);
  if (!loaded.ok()) __builtin_trap();
  auto rules = bridgeline::engine::Rules::Compile(loaded.config);
  if (!rules.ok()) __builtin_trap();
  return *rules;
}

v1::Actor ActorOf(const char* organization, v1::Side side) {
  v1::Actor actor;
  actor.set_organization(organization);
  actor.set_side(side);
  return actor;
}

// The JSON fast path accepts only what protobuf's converter accepts, and reads it the same.
template <typename Message>
void CheckFastPath(std::string_view body) {
  Message fast, converted;
  if (!bridgeline::internal::ParseSimpleJsonObject(body, &fast)) return;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(body.data(), body.size()), &converted)
           .ok())
    __builtin_trap();
  if (fast.SerializeAsString() != converted.SerializeAsString()) __builtin_trap();
}

// A body that names a field twice is refused, whatever else it holds.
template <typename Message>
bool DecodeStrictly(const bridgeline::http::Request& request, Message* message) {
  const bool repeats =
      !bridgeline::internal::FirstRepeatedField(request.body(), Message::descriptor()).empty();
  const bool read = bridgeline::http::DecodeJsonBody(request, message).ok();
  if (repeats && read) __builtin_trap();
  return read && bridgeline::http::DeclaresJsonBody(request);
}

void Decode(bridgeline::engine::Engine& engine, const bridgeline::http::Request& request) {
  static const v1::Actor kOutsourcer = ActorOf("outsourcer", v1::OUTSOURCER);
  static const v1::Actor kClient = ActorOf("client", v1::CLIENT);
  const bridgeline::TimeMs now = 1'790'000'000'000;
  std::string_view target = request.target();
  if (target.size() >= 7 && target.substr(target.size() - 7) == "/events") {
    CheckFastPath<v1::EventRequest>(request.body());
    v1::EventRequest event;
    if (!DecodeStrictly(request, &event)) return;
    (void)engine.Handle("BL-1", event, kClient, now);
    (void)engine.Handle("BL-1", event, kOutsourcer, now);
  } else {
    CheckFastPath<v1::EscalateRequest>(request.body());
    v1::EscalateRequest escalate;
    if (!DecodeStrictly(request, &escalate)) return;
    (void)engine.Escalate(escalate, kOutsourcer, now);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto rules = LoadRules();
  static auto engine = std::make_unique<bridgeline::engine::Engine>(rules);
  static int runs = 0;
  if (++runs % 10000 == 0)
    engine = std::make_unique<bridgeline::engine::Engine>(rules);  // bounded memory
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  if (data[0] % 2 == 1) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024);  // the server's defaults
    parser.header_limit(16 * 1024);
    parser.eager(true);
    boost::beast::error_code error;
    parser.put(boost::asio::buffer(input.data(), input.size()), error);
    if (error || !parser.is_done()) return 0;
    Decode(*engine, parser.release());
  } else {
    bridgeline::http::Request request{
        bhttp::verb::post, data[0] % 4 == 0 ? "/v1/escalations" : "/v1/escalations/BL-1/events",
        11};
    request.set(bhttp::field::content_type, "application/json");
    request.body() = std::string(input);
    Decode(*engine, request);
  }
  return 0;
}
