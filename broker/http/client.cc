#include "broker/http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

namespace bridgeline::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {
// The status and the headers (names in lower case) of `message`.
void TakeHead(const http::response<http::string_body>& message, HttpResponse* response) {
  response->status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    response->headers[name] = std::string(field.value());
  }
}
}  // namespace

Result<HttpEndpoint> ParseHttpUrl(const std::string& url, const std::string& field) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return Status::InvalidArgument("'" + url + "' is not a URL", field);
  HttpEndpoint endpoint;
  if (parsed->scheme() == "https") {
    endpoint.tls = true;
    endpoint.port = 443;
  } else if (parsed->scheme() != "http") {
    return Status::InvalidArgument("'" + url + "' is neither http:// nor https://", field);
  }
  endpoint.host = parsed->host_address();
  if (endpoint.host.empty()) return Status::InvalidArgument("'" + url + "' has no host", field);
  if (parsed->has_port()) {
    const auto port = parsed->port_number();
    if (port == 0) return Status::InvalidArgument("'" + url + "' has no valid port", field);
    endpoint.port = port;
  }
  endpoint.target = std::string(parsed->encoded_resource());
  if (endpoint.target.empty() || endpoint.target.front() != '/')
    endpoint.target = std::string("/").append(endpoint.target);
  return endpoint;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  beast::error_code error;
  const auto address = net::ip::make_address(host, error);
  return !error && address.is_loopback();
}

// Everything a ClientTls loads from its files; Build makes an OpenSSL context of it.
struct ClientTls::Impl {
  std::string ca_file;
  std::string ca_field;
  std::string certificate_file;
  std::string private_key_file;

  std::mutex mutex;  // guards the two below: Reload swaps them while connections are made
  std::shared_ptr<ssl::context> context;
  std::uint64_t generation = 0;

  // A context trusting `ca_file` (the system's authorities when empty) and presenting the
  // client certificate, if any. Errors name the setting at fault.
  Result<std::shared_ptr<ssl::context>> Build() const {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    // TLS 1.0 and 1.1 are broken (RFC 8996); whatever a client system runs speaks 1.2.
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    context->set_verify_mode(ssl::verify_peer);
    beast::error_code error;
    if (ca_file.empty()) {
      context->set_default_verify_paths(error);
      if (error) {
        return Status::InvalidArgument("the system's certificate authorities: " + error.message(),
                                       ca_field);
      }
    } else if (!std::ifstream(ca_file)) {
      return Status::InvalidArgument(
          "cannot read '" + ca_file + "': " + std::generic_category().message(errno), ca_field);
    } else {
      context->load_verify_file(ca_file, error);
      if (error) {
        return Status::InvalidArgument(
            "'" + ca_file + "' holds no PEM certificate to trust (" + error.message() + ")",
            ca_field);
      }
    }
    if (certificate_file.empty()) return context;
    context->use_certificate_chain_file(certificate_file, error);
    if (error) {
      return Status::InvalidArgument("'" + certificate_file + "': " + error.message(),
                                     "certificate_file");
    }
    // OpenSSL checks the key against the certificate as it loads it ("key values mismatch").
    context->use_private_key_file(private_key_file, ssl::context::pem, error);
    if (error) {
      return Status::InvalidArgument("'" + private_key_file + "': " + error.message(),
                                     "private_key_file");
    }
    return context;
  }

  // The context new connections use, and its generation.
  std::pair<std::shared_ptr<ssl::context>, std::uint64_t> Current() {
    std::lock_guard lock(mutex);
    return {context, generation};
  }
};

ClientTls::ClientTls() : impl_(std::make_unique<Impl>()) {}
ClientTls::~ClientTls() = default;

Result<std::shared_ptr<ClientTls>> ClientTls::Load(const std::string& ca_file,
                                                   const std::string& field) {
  std::shared_ptr<ClientTls> tls(new ClientTls());
  tls->impl_->ca_file = ca_file;
  tls->impl_->ca_field = field;
  auto context = tls->impl_->Build();
  if (!context.ok()) return context.status();
  tls->impl_->context = std::move(*context);
  return tls;
}

Status ClientTls::Present(const std::string& certificate_file,
                          const std::string& private_key_file) {
  Impl& impl = *impl_;
  std::string kept_certificate = std::exchange(impl.certificate_file, certificate_file);
  std::string kept_key = std::exchange(impl.private_key_file, private_key_file);
  auto context = impl.Build();
  if (!context.ok()) {
    impl.certificate_file = std::move(kept_certificate);
    impl.private_key_file = std::move(kept_key);
    return context.status();
  }
  std::lock_guard lock(impl.mutex);
  impl.context = std::move(*context);
  return Status::Ok();
}

Status ClientTls::Reload() {
  auto context = impl_->Build();
  if (!context.ok()) return context.status();
  std::lock_guard lock(impl_->mutex);
  impl_->context = std::move(*context);
  ++impl_->generation;
  return Status::Ok();
}

struct HttpClient::Impl {
  std::string host;
  unsigned short port;
  std::chrono::milliseconds timeout;
  bool retry_stale = true;
  std::shared_ptr<ClientTls> tls;  // null: plain HTTP
  bool reused = false;             // the connection already carried a request
  net::io_context io;
  // What the TLS connection was made with: it must outlive `secure`; a Reload since (a newer
  // generation) means the next request opens a fresh connection with the new settings.
  std::shared_ptr<ssl::context> tls_context;
  std::uint64_t tls_generation = 0;
  // The connection: exactly one of these while connected.
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  bool connected() const { return plain || secure; }
  // Host as RFC 9110 has it: the port only when it is not the scheme's own, an IPv6 address
  // in brackets.
  std::string HostHeader() const {
    std::string value = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) value += ":" + std::to_string(port);
    return value;
  }
  void Close() {
    plain.reset();
    secure.reset();
    reused = false;
  }
  beast::tcp_stream& Socket() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  // Calls `operation` with the connection's stream, whichever kind it is.
  template <typename Operation>
  void On(Operation operation) {
    if (secure) {
      operation(*secure);
    } else {
      operation(*plain);
    }
  }

  // A fresh connection, TLS handshake included; false with `response` saying why.
  bool Connect(HttpResponse* response) {
    Close();
    if (tls) {
      std::tie(tls_context, tls_generation) = tls->impl().Current();
      secure.emplace(io, *tls_context);
    } else {
      plain.emplace(io);
    }
    beast::error_code code;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, std::to_string(port), code);
    if (!code) {
      code = RunWithTimeout([&](auto handler) {
        Socket().async_connect(endpoints,
                               [handler](beast::error_code error, const tcp::endpoint&) mutable {
                                 handler(error, 0);
                               });
      });
    }
    if (code) {
      response->error =
          "connecting to " + host + ":" + std::to_string(port) + ": " + code.message();
      Close();
      return false;
    }
    if (secure && !Handshake(response)) {
      Close();
      return false;
    }
    buffer.clear();
    return true;
  }

  // TLS over the connected socket, to a server whose certificate names `host`: the DNS name
  // (also sent as SNI) or the IP address dialled.
  bool Handshake(HttpResponse* response) {
    SSL* session = secure->native_handle();
    beast::error_code not_an_address;
    net::ip::make_address(host, not_an_address);
    if (not_an_address) {
      SSL_set_tlsext_host_name(session, host.c_str());
      SSL_set1_host(session, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(session), host.c_str());
    }
    beast::error_code code = RunWithTimeout([&](auto handler) {
      secure->async_handshake(ssl::stream_base::client,
                              [handler](beast::error_code error) mutable { handler(error, 0); });
    });
    if (!code) return true;
    response->error = "TLS with " + host + ":" + std::to_string(port) + ": " + code.message();
    // OpenSSL's own words for a refused certificate ("hostname mismatch", "certificate has
    // expired"): the handshake's error says only that verification failed.
    const long verified = SSL_get_verify_result(session);
    if (verified != X509_V_OK) {
      response->error += ": " + std::string(X509_verify_cert_error_string(verified));
      response->certificate_refused = true;
    }
    return false;
  }

  // Runs one blocking operation with the deadline enforced by the io_context.
  template <typename Operation>
  beast::error_code RunWithTimeout(Operation operation) {
    beast::error_code result = net::error::would_block;
    Socket().expires_after(timeout);
    operation([&](beast::error_code code, std::size_t) { result = code; });
    io.restart();
    io.run();
    return result;
  }

  HttpResponse Exchange(http::request<http::string_body>& request, bool retry) {
    HttpResponse response;
    if (secure && tls->impl().Current().second != tls_generation) Close();
    if (!connected() && !Connect(&response)) return response;
    const bool was_reused = reused;
    reused = true;
    beast::error_code code = RunWithTimeout([&](auto handler) {
      On([&](auto& stream) { http::async_write(stream, request, handler); });
    });
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    if (!code) {
      code = RunWithTimeout([&](auto handler) {
        On([&](auto& stream) { http::async_read(stream, buffer, parser, handler); });
      });
    }
    if (code) {
      Close();
      // A reused connection the server closed fails at once: send again on a fresh one. A
      // timeout is not that; it is reported, so the caller's own retry policy decides.
      if (retry && retry_stale && was_reused && code != beast::error::timeout)
        return Exchange(request, false);
      response.error = code.message();
      return response;
    }
    auto message = parser.release();
    TakeHead(message, &response);
    response.body = std::move(message.body());
    if (!message.keep_alive()) Close();
    return response;
  }
};

HttpClient::HttpClient(std::string host, unsigned short port, std::chrono::milliseconds timeout,
                       bool retry_stale, std::shared_ptr<ClientTls> tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
  impl_->retry_stale = retry_stale;
  impl_->tls = std::move(tls);
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, impl_->HostHeader());
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() && headers.find("Content-Type") == headers.end()) {
    request.set(http::field::content_type, "application/json");
  }
  request.body() = body;
  request.prepare_payload();
  request.keep_alive(true);
  return impl_->Exchange(request, true);
}

HttpResponse HttpClient::Raw(const std::string& bytes) {
  HttpResponse response;
  if (!impl_->Connect(&response)) return response;
  beast::error_code code = impl_->RunWithTimeout([&](auto handler) {
    impl_->On([&](auto& stream) { net::async_write(stream, net::buffer(bytes), handler); });
  });
  http::response_parser<http::string_body> parser;
  if (!code) {
    code = impl_->RunWithTimeout([&](auto handler) {
      impl_->On([&](auto& stream) { http::async_read(stream, impl_->buffer, parser, handler); });
    });
  }
  impl_->Close();
  if (code) {
    response.error = code.message();
    return response;
  }
  auto message = parser.release();
  response.status = static_cast<int>(message.result_int());
  response.body = std::move(message.body());
  return response;
}

HttpResponse HttpClient::Stream(const std::string& target,
                                const std::map<std::string, std::string>& headers,
                                const std::function<bool(std::string_view data)>& on_data) {
  HttpResponse response;
  if (!impl_->Connect(&response)) return response;
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, impl_->HostHeader());
  for (const auto& [name, value] : headers) request.set(name, value);
  beast::error_code code = impl_->RunWithTimeout([&](auto handler) {
    impl_->On([&](auto& stream) { http::async_write(stream, request, handler); });
  });
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (!code) {
    code = impl_->RunWithTimeout([&](auto handler) {
      impl_->On(
          [&](auto& stream) { http::async_read_header(stream, impl_->buffer, parser, handler); });
    });
  }
  if (code) {
    impl_->Close();
    response.error = code.message();
    return response;
  }
  TakeHead(parser.get(), &response);
  if (response.status != 200) {
    code = impl_->RunWithTimeout([&](auto handler) {
      impl_->On([&](auto& stream) { http::async_read(stream, impl_->buffer, parser, handler); });
    });
    impl_->Close();
    if (code) response.error = code.message();
    response.body = parser.release().body();
    return response;
  }
  // The body runs until the server closes: hand over the bytes read past the head, then the rest.
  bool more = true;
  while (more) {
    if (impl_->buffer.size() > 0) {
      const auto data = impl_->buffer.data();
      more = on_data(std::string_view(static_cast<const char*>(data.data()), data.size()));
      impl_->buffer.consume(impl_->buffer.size());
      if (!more) break;
    }
    std::size_t read = 0;
    code = impl_->RunWithTimeout([&](auto handler) {
      impl_->On([&](auto& stream) {
        stream.async_read_some(
            impl_->buffer.prepare(64 * 1024),
            [&read, handler](beast::error_code error, std::size_t bytes) mutable {
              read = bytes;
              handler(error, bytes);
            });
      });
    });
    impl_->buffer.commit(read);
    if (code) {
      if (impl_->buffer.size() > 0) {
        const auto data = impl_->buffer.data();
        on_data(std::string_view(static_cast<const char*>(data.data()), data.size()));
      }
      // The server's close: a TCP end, or over TLS one without close_notify (as it stops).
      if (code != net::error::eof && code != ssl::error::stream_truncated)
        response.error = code.message();
      break;
    }
  }
  impl_->buffer.clear();
  impl_->Close();
  return response;
}

HttpClientPool::HttpClientPool(std::string host, unsigned short port,
                               std::chrono::milliseconds timeout, std::shared_ptr<ClientTls> tls)
    : host_(std::move(host)), port_(port), timeout_(timeout), tls_(std::move(tls)) {}

HttpClientPool::~HttpClientPool() = default;

HttpResponse HttpClientPool::Request(const std::string& method, const std::string& target,
                                     const std::string& body,
                                     const std::map<std::string, std::string>& headers) {
  std::unique_ptr<HttpClient> client;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!client) client = std::make_unique<HttpClient>(host_, port_, timeout_, true, tls_);
  HttpResponse response = client->Request(method, target, body, headers);
  if (response.status != 0) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(client));
  }
  return response;
}

}  // namespace bridgeline::http
