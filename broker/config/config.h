// Loads the broker configuration from YAML into BrokerConfig and validates it.
//
// Every problem is reported (not only the first) as file:line:column and a plain sentence;
// a config with any error is refused as a whole. Connector settings are typed by the
// connector's `type`, so the loader asks a ConnectorTypes for each type's settings message.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bridgeline/v1/config.pb.h"
#include "broker/common/status.h"

namespace bridgeline::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is not tied to a place
  int column = 0;  // 1-based
  std::string message;

  // "config/example.yaml:12:7: contract 'x' has no catch-all route"
  std::string ToString() const;
};

// What the loader needs to know about connectors, without depending on them.
struct ConnectorTypes {
  // An empty settings message for `type`, or nullptr when no such type is registered.
  std::function<std::unique_ptr<google::protobuf::Message>(std::string_view type)> new_settings;
  // Checks parsed settings beyond their types (a URL that parses, a positive size...).
  std::function<Status(std::string_view type, const google::protobuf::Message& settings)> validate;
  // Registered type names, for the error that names the choices.
  std::vector<std::string> names;
};

struct LoadResult {
  bridgeline::v1::BrokerConfig config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// Parses and validates `text`; `file_name` is only used in error messages.
LoadResult LoadConfigText(const std::string& text, const std::string& file_name,
                          const ConnectorTypes& connector_types);

// Reads `path` and loads it as LoadConfigText does.
LoadResult LoadConfigFile(const std::string& path, const ConnectorTypes& connector_types);

// A problem with one value of a YAML-loaded message: its field path ("arrivals[2].per_hour")
// and a sentence.
struct FieldProblem {
  std::string path;
  std::string message;
};

// Fills `message` from the YAML file at `path` by the config's own rules (durations such as
// "4h", RFC 3339 times, enums by name, unknown keys refused), then checks it with `validate`.
// Every problem comes back with file, line and column; none means `message` is good. For files
// that sit beside the config, such as a simulation scenario.
std::vector<ConfigError> LoadYamlFile(
    const std::string& path, google::protobuf::Message* message,
    const std::function<std::vector<FieldProblem>(const google::protobuf::Message&)>& validate);

// Parses a duration such as "90s", "30m", "4h", "1h30m", "2d" or "250ms".
Result<std::int64_t> ParseDurationMs(std::string_view text);

// Hex SHA-256 of an API token, as stored in `token_sha256`.
std::string HashToken(std::string_view token);

// A one-screen description of a valid config, for `bridgeline check-config`.
std::string Summarize(const bridgeline::v1::BrokerConfig& config);

}  // namespace bridgeline::config
