// Helpers for tests that drive a broker as its users do: the API and the command line.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bridgeline/v1/api.pb.h"
#include "broker/http/client.h"

namespace bridgeline::testing {

// The body of a minimal escalation on the example's northwind-globex contract, for customer
// "C-<ticket>".
std::string EscalationJson(const std::string& ticket, const std::string& severity,
                           const std::string& subject);

// Parses JSON from the API into `message`, ignoring fields the message does not have.
bool ParseJson(const std::string& json, google::protobuf::Message* message);

// A member of a problem+json answer ("field", "detail"...): empty when absent, a note with
// the body when the body is not JSON.
std::string ProblemField(const http::HttpResponse& response, const std::string& name);

// Every case visible to `headers`' token, following next_cursor page by page; empty and
// `ok` false when a page fails.
std::vector<bridgeline::v1::CaseView> ListAllCases(
    http::HttpClient& client, const std::map<std::string, std::string>& headers, bool* ok);

// A gauge or counter without labels from the broker's GET /metrics (ops token): the
// `bridgeline_log_sequence`, say; -1 when the broker does not answer or has no such series.
double MetricValue(unsigned short port, const std::string& series);

// Polls `condition` until it holds or `timeout` passes; whether it held.
bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Runs the bridgeline binary with `arguments` (standard error joined to output): exit status
// and output. With a `limit`, a run still going then is stopped (status 124, as timeout(1)).
std::pair<int, std::string> RunBridgeline(const std::string& arguments,
                                          std::chrono::seconds limit = std::chrono::seconds(0));

}  // namespace bridgeline::testing
