// A small synchronous HTTP/1.1 client, plain or over TLS: what the command line (backup, tail)
// and the tests use to talk to a broker, and connectors to call remote systems. One keep-alive
// connection, a deadline on every exchange.
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

// Where an http:// or https:// URL points.
struct HttpEndpoint {
  std::string host;
  unsigned short port = 80;  // 443 for https unless the URL names one
  std::string target;        // path and query, "/" at least
  bool tls = false;          // https
};

// Parses an absolute http:// or https:// URL; InvalidArgument naming `field` and what is wrong.
Result<HttpEndpoint> ParseHttpUrl(const std::string& url, const std::string& field = "url");

// Whether `host` is this machine (localhost, 127.0.0.0/8, ::1): traffic to it never crosses a
// network, so plain HTTP to it exposes nothing.
bool IsLoopbackHost(const std::string& host);

// How a client speaks TLS. It trusts the certificate authorities of the system (Debian's
// ca-certificates) or those of one PEM file (a private CA, a self-signed server): a server is
// accepted only when its chain ends at one of them and its certificate names the host (or IP
// address) dialled. To a server that asks for one, it presents its own certificate, if given.
// Loading is not free: make one per remote and share it among that remote's connections.
// Thread-safe: Reload may run while connections are being made.
class ClientTls {
 public:
  // Trusting the system's authorities when `ca_file` is empty. A file that cannot be read or
  // holds no certificate is InvalidArgument naming `field`.
  static Result<std::shared_ptr<ClientTls>> Load(const std::string& ca_file,
                                                 const std::string& field = "ca_file");
  ~ClientTls();

  // Presents this certificate chain and its private key (PEM files) to servers that ask for a
  // client's: mutual TLS. Before the first connection only. InvalidArgument naming
  // `certificate_file` or `private_key_file` when one cannot be read or the two do not match.
  Status Present(const std::string& certificate_file, const std::string& private_key_file);
  // Reads the files again (a renewed client certificate, a rotated authority). When all of
  // them load, connections opened from now on use them and idle kept-alive ones are not
  // reused; otherwise what is in use stays, and the error names the setting at fault.
  Status Reload();

  struct Impl;  // the OpenSSL context, for client.cc
  Impl& impl() { return *impl_; }

 private:
  ClientTls();
  std::unique_ptr<Impl> impl_;
};

struct HttpResponse {
  int status = 0;  // 0 when the connection failed or was closed without an answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;
  // The server's TLS certificate was refused (untrusted, expired, for another name): trying
  // again will not help until the server or the trust changes.
  bool certificate_refused = false;
};

// One keep-alive connection. When `retry_stale` is set, a request that fails on a reused
// connection is sent once more on a fresh one (the server may have closed an idle connection);
// callers that must not send a request twice (crash tests) turn it off. With `tls`, every
// connection is TLS (1.2 or later) to a server that `tls` vouches for; a server it does not
// vouch for fails the request with `error` saying why ("... certificate verify failed (SSL
// routines): hostname mismatch") and `certificate_refused` set.
class HttpClient {
 public:
  HttpClient(std::string host, unsigned short port,
             std::chrono::milliseconds timeout = std::chrono::seconds(10), bool retry_stale = true,
             std::shared_ptr<ClientTls> tls = nullptr);
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
  HttpClientPool(std::string host, unsigned short port, std::chrono::milliseconds timeout,
                 std::shared_ptr<ClientTls> tls = nullptr);
  ~HttpClientPool();

  HttpResponse Request(const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});

 private:
  std::string host_;
  unsigned short port_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<ClientTls> tls_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<HttpClient>> idle_;
};

}  // namespace bridgeline::http
