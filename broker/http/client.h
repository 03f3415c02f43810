// A small synchronous HTTP/1.1 client: what the command line (backup, tail) and the tests use
// to talk to a broker. One keep-alive connection, a deadline on every exchange.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace bridgeline::http {

struct HttpResponse {
  int status = 0;  // 0 when the connection failed or was closed without an answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;
};

// One keep-alive connection. When `retry_stale` is set, a request that fails on a reused
// connection is sent once more on a fresh one (the server may have closed an idle connection);
// callers that must not send a request twice (crash tests) turn it off.
class HttpClient {
 public:
  HttpClient(std::string host, unsigned short port,
             std::chrono::milliseconds timeout = std::chrono::seconds(10), bool retry_stale = true);
  ~HttpClient();

  HttpResponse Request(const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});
  // Sends raw bytes and returns what the server answered (for malformed HTTP).
  HttpResponse Raw(const std::string& bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bridgeline::http
