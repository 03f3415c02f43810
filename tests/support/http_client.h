// A small synchronous HTTP/1.1 client over loopback, for tests and benchmarks.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace bridgeline::testing {

struct HttpResponse {
  int status = 0;  // 0 when the connection failed or was closed without an answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;
};

// One keep-alive connection; reconnects when the server closed it.
class HttpClient {
 public:
  HttpClient(std::string host, unsigned short port,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));
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

}  // namespace bridgeline::testing
