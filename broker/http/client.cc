#include "broker/http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <optional>

namespace bridgeline::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace http = beast::http;
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

Result<HttpEndpoint> ParseHttpUrl(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return Status::InvalidArgument("'" + url + "' is not a URL", "url");
  if (parsed->scheme() != "http") {
    return Status::InvalidArgument(
        "only http:// is supported; put a TLS proxy in front for https (" + url + ")", "url");
  }
  HttpEndpoint endpoint;
  endpoint.host = parsed->host_address();
  if (endpoint.host.empty()) return Status::InvalidArgument("'" + url + "' has no host", "url");
  if (parsed->has_port()) {
    const auto port = parsed->port_number();
    if (port == 0) return Status::InvalidArgument("'" + url + "' has no valid port", "url");
    endpoint.port = port;
  }
  endpoint.target = std::string(parsed->encoded_resource());
  if (endpoint.target.empty() || endpoint.target.front() != '/')
    endpoint.target = std::string("/").append(endpoint.target);
  return endpoint;
}

struct HttpClient::Impl {
  std::string host;
  unsigned short port;
  std::chrono::milliseconds timeout;
  bool retry_stale = true;
  bool reused = false;  // the connection already carried a request
  net::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  bool Connect(std::string* error) {
    stream.emplace(io);
    beast::error_code code;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, std::to_string(port), code);
    if (!code) {
      code = RunWithTimeout([&](auto handler) {
        stream->async_connect(endpoints,
                              [handler](beast::error_code error, const tcp::endpoint&) mutable {
                                handler(error, 0);
                              });
      });
    }
    if (code) {
      *error = "connecting to " + host + ":" + std::to_string(port) + ": " + code.message();
      stream.reset();
      return false;
    }
    buffer.clear();
    return true;
  }

  // Runs one blocking operation with the deadline enforced by the io_context.
  template <typename Operation>
  beast::error_code RunWithTimeout(Operation operation) {
    beast::error_code result = net::error::would_block;
    stream->expires_after(timeout);
    operation([&](beast::error_code code, std::size_t) { result = code; });
    io.restart();
    io.run();
    return result;
  }

  HttpResponse Exchange(http::request<http::string_body>& request, bool retry) {
    HttpResponse response;
    if (!stream && !Connect(&response.error)) return response;
    const bool was_reused = reused;
    reused = true;
    beast::error_code code =
        RunWithTimeout([&](auto handler) { http::async_write(*stream, request, handler); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    if (!code)
      code =
          RunWithTimeout([&](auto handler) { http::async_read(*stream, buffer, parser, handler); });
    if (code) {
      stream.reset();
      reused = false;
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
    if (!message.keep_alive()) {
      stream.reset();
      reused = false;
    }
    return response;
  }
};

HttpClient::HttpClient(std::string host, unsigned short port, std::chrono::milliseconds timeout,
                       bool retry_stale)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
  impl_->retry_stale = retry_stale;
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, impl_->host);
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
  impl_->stream.reset();
  impl_->reused = false;
  if (!impl_->Connect(&response.error)) return response;
  beast::error_code code = impl_->RunWithTimeout(
      [&](auto handler) { net::async_write(*impl_->stream, net::buffer(bytes), handler); });
  http::response_parser<http::string_body> parser;
  if (!code) {
    code = impl_->RunWithTimeout(
        [&](auto handler) { http::async_read(*impl_->stream, impl_->buffer, parser, handler); });
  }
  impl_->stream.reset();
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
  impl_->stream.reset();
  impl_->reused = false;
  if (!impl_->Connect(&response.error)) return response;
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, impl_->host);
  for (const auto& [name, value] : headers) request.set(name, value);
  beast::error_code code = impl_->RunWithTimeout(
      [&](auto handler) { http::async_write(*impl_->stream, request, handler); });
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (!code) {
    code = impl_->RunWithTimeout([&](auto handler) {
      http::async_read_header(*impl_->stream, impl_->buffer, parser, handler);
    });
  }
  if (code) {
    impl_->stream.reset();
    response.error = code.message();
    return response;
  }
  TakeHead(parser.get(), &response);
  if (response.status != 200) {
    code = impl_->RunWithTimeout(
        [&](auto handler) { http::async_read(*impl_->stream, impl_->buffer, parser, handler); });
    impl_->stream.reset();
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
      impl_->stream->async_read_some(
          impl_->buffer.prepare(64 * 1024),
          [&read, handler](beast::error_code error, std::size_t bytes) mutable {
            read = bytes;
            handler(error, bytes);
          });
    });
    impl_->buffer.commit(read);
    if (code) {
      if (impl_->buffer.size() > 0) {
        const auto data = impl_->buffer.data();
        on_data(std::string_view(static_cast<const char*>(data.data()), data.size()));
      }
      if (code != net::error::eof) response.error = code.message();
      break;
    }
  }
  impl_->buffer.clear();
  impl_->stream.reset();
  return response;
}

HttpClientPool::HttpClientPool(std::string host, unsigned short port,
                               std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

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
  if (!client) client = std::make_unique<HttpClient>(host_, port_, timeout_);
  HttpResponse response = client->Request(method, target, body, headers);
  if (response.status != 0) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(client));
  }
  return response;
}

}  // namespace bridgeline::http
