// Fills a protobuf message from a YAML tree by reflection, remembering where each value stood.
// Internal to the config module.
#pragma once

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config/config.h"

namespace bridgeline::config {

// Places of values by field path ("contracts[0].routes[1].owner"), for later errors.
class SourceMap {
 public:
  void Record(const std::string& path, const YAML::Mark& mark) { marks_[path] = mark; }
  // The place of `path`, or of its nearest recorded parent.
  YAML::Mark Find(std::string path) const;

 private:
  std::map<std::string, YAML::Mark> marks_;
};

class YamlToProto {
 public:
  YamlToProto(std::string file_name, const ConnectorTypes& connector_types,
              std::vector<ConfigError>* errors, SourceMap* source_map)
      : file_name_(std::move(file_name)),
        connector_types_(connector_types),
        errors_(errors),
        source_map_(source_map) {}

  // Fills `message` from the mapping `node`; problems are appended to the error list.
  void Fill(const YAML::Node& node, google::protobuf::Message* message, const std::string& path);

 private:
  void FillField(const YAML::Node& node, google::protobuf::Message* message,
                 const google::protobuf::FieldDescriptor* field, const std::string& path,
                 const YAML::Node& parent);
  bool FillScalar(const YAML::Node& node, google::protobuf::Message* message,
                  const google::protobuf::FieldDescriptor* field, const std::string& path);
  void FillSettings(const YAML::Node& node, google::protobuf::Message* message,
                    const google::protobuf::FieldDescriptor* field, const std::string& path,
                    const YAML::Node& parent);
  void Error(const YAML::Mark& mark, std::string message);

  // The keys of one mapping read so far, and where each was. YAML requires a mapping's keys to
  // be unique, and yaml-cpp does not check: the later value would win (or a second list be
  // joined to the first), whichever one the operator meant.
  using KeysSeen = std::map<std::string, YAML::Mark>;
  // Records `key` (at `mark`, in the mapping `where`); false, after saying so, when it was there.
  bool FirstTime(KeysSeen* seen, const std::string& key, const YAML::Mark& mark,
                 const std::string& where);

  std::string file_name_;
  const ConnectorTypes& connector_types_;
  std::vector<ConfigError>* errors_;
  SourceMap* source_map_;
};

}  // namespace bridgeline::config
