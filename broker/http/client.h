// A small synchronous HTTP/1.1 client: what the command line (backup, tail) and the tests use
// to talk to a broker. One keep-alive connection, a deadline on every exchange.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

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

}  // namespace bridgeline::http
