// A webhook receiver on loopback for tests and benchmarks: records every request and answers
// as the test scripts it (an error code, a Retry-After, a delay longer than the sender's
// timeout), so faults can be injected on purpose. Plain HTTP or TLS; one thread per
// connection, keep-alive.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_certificates.h"

namespace bridgeline::testing {

struct SinkRequest {
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;
};

struct SinkAnswer {
  int status = 200;
  std::map<std::string, std::string> headers;
  // Wait this long before answering (a sender with a shorter timeout gives up first).
  std::chrono::milliseconds delay{0};
  std::string body = "{}";
};

class WebhookSink {
 public:
  using Script = std::function<SinkAnswer(const SinkRequest& request, std::size_t index)>;

  // Listens on 127.0.0.1 at a free port; answers 200 until SetScript says otherwise.
  WebhookSink();
  // The same over TLS only, presenting `certificate`. With a `client_ca_file`, a client must
  // present a certificate that authority signed (mutual TLS).
  explicit WebhookSink(const CertificateFiles& certificate, const std::string& client_ca_file = "");
  ~WebhookSink();

  unsigned short port() const { return port_; }
  // How each next request is answered; `index` counts requests from 0 since the sink started.
  void SetScript(Script script);
  // Every request so far, in arrival order (only a count when `keep` was turned off).
  std::vector<SinkRequest> Requests() const;
  std::size_t count() const { return count_; }
  // Benchmarks turn off keeping requests, so memory stays flat.
  void KeepRequests(bool keep) { keep_ = keep; }
  // Waits until `n` requests arrived or `timeout` passed; whether they did.
  bool AwaitCount(std::size_t n, std::chrono::milliseconds timeout) const;
  // TLS handshakes that failed (a client that refused the certificate, or spoke plain HTTP).
  std::size_t failed_handshakes() const { return failed_handshakes_; }

 private:
  struct Impl;
  void Start();
  // Answers requests on one connection until it closes.
  template <typename Stream>
  void ServeRequests(Stream& stream);

  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
  std::atomic<bool> keep_{true};
  std::atomic<std::size_t> count_{0};
  std::atomic<std::size_t> failed_handshakes_{0};
  mutable std::mutex mutex_;
  Script script_;
  std::vector<SinkRequest> requests_;
};

}  // namespace bridgeline::testing
