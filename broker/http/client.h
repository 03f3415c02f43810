// A small synchronous HTTP/1.1 client: what the command line (backup, tail) and the tests use
// to talk to a broker, and connectors to call remote systems. One keep-alive connection, a
// deadline on every exchange.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/status.h"

namespace bridgeline::http {

// Where an http:// URL points.
struct HttpEndpoint {
  std::string host;
  unsigned short port = 80;
  std::string target;  // path and query, "/" at least
};

// Parses an absolute http:// URL; InvalidArgument (field "url") naming what is wrong. https is
// refused: the client speaks plain HTTP (a TLS proxy in front serves https).
Result<HttpEndpoint> ParseHttpUrl(const std::string& url);

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

  // GETs a streamed answer (Server-Sent Events) on a fresh connection. On 200, hands each piece
  // of the body to `on_data` as it arrives until `on_data` returns false, the server closes
  // (`error` is then empty) or nothing arrives within the timeout; the body is not kept. Any
  // other status comes back whole, as from Request. The connection is closed after.
  HttpResponse Stream(const std::string& target, const std::map<std::string, std::string>& headers,
                      const std::function<bool(std::string_view data)>& on_data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Keep-alive connections to one server for callers on several threads: each request borrows
// an idle connection (or opens one) and gives it back when it is still usable.
class HttpClientPool {
 public:
  HttpClientPool(std::string host, unsigned short port, std::chrono::milliseconds timeout);
  ~HttpClientPool();

  HttpResponse Request(const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});

 private:
  std::string host_;
  unsigned short port_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<HttpClient>> idle_;
};

}  // namespace bridgeline::http
