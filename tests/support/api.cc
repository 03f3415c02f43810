#include "tests/support/api.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/wait.h>

#include <cstdio>
#include <thread>

#include "tests/support/broker_process.h"

namespace bridgeline::testing {

bool ParseJson(const std::string& json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(json, message, options).ok();
}

std::string ProblemField(const http::HttpResponse& response, const std::string& name) {
  google::protobuf::Struct problem;
  if (!ParseJson(response.body, &problem)) return "(not JSON: " + response.body + ")";
  auto found = problem.fields().find(name);
  return found == problem.fields().end() ? std::string() : found->second.string_value();
}

std::vector<v1::CaseView> ListAllCases(http::HttpClient& client,
                                       const std::map<std::string, std::string>& headers,
                                       bool* ok) {
  std::vector<v1::CaseView> cases;
  std::string cursor;
  *ok = false;
  do {
    auto response = client.Request(
        "GET", "/v1/escalations?limit=200" + (cursor.empty() ? "" : "&cursor=" + cursor), {},
        headers);
    v1::CaseList page;
    if (response.status != 200 || !ParseJson(response.body, &page)) return {};
    for (auto& view : *page.mutable_escalations()) cases.push_back(std::move(view));
    cursor = page.next_cursor();
  } while (!cursor.empty());
  *ok = true;
  return cases;
}

std::pair<int, std::string> RunBridgeline(const std::string& arguments,
                                          std::chrono::seconds limit) {
  std::string command = BrokerProcess::Binary() + " " + arguments + " 2>&1";
  if (limit.count() > 0) command = "timeout " + std::to_string(limit.count()) + " " + command;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "cannot run " + command};
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string EscalationJson(const std::string& ticket, const std::string& severity,
                           const std::string& subject) {
  return R"({"contract":"northwind-globex","tier1_ticket_id":")" + ticket +
         R"(","customer":{"id":"C-)" + ticket + R"("},"severity":")" + severity +
         R"(","subject":")" + subject + R"("})";
}

double MetricValue(unsigned short port, const std::string& series) {
  http::HttpClient client("127.0.0.1", port);
  auto metrics =
      client.Request("GET", "/metrics", "", {{"Authorization", "Bearer demo-ops-token"}});
  if (metrics.status != 200) return -1;
  auto at = metrics.body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.body.substr(at + series.size() + 2));
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace bridgeline::testing
