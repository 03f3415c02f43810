#include "broker/http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace bridgeline::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace http = beast::http;
using tcp = net::ip::tcp;

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
    stream->expires_after(timeout);
    beast::error_code code;
    stream->socket().connect(tcp::endpoint(net::ip::make_address(host), port), code);
    if (code) {
      *error = code.message();
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
    beast::error_code code = RunWithTimeout([&](auto handler) { http::async_write(*stream, request, handler); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    if (!code) code = RunWithTimeout([&](auto handler) { http::async_read(*stream, buffer, parser, handler); });
    if (code) {
      stream.reset();
      reused = false;
      if (retry && retry_stale && was_reused) return Exchange(request, false);
      response.error = code.message();
      return response;
    }
    auto message = parser.release();
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      response.headers[name] = std::string(field.value());
    }
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

HttpResponse HttpClient::Request(const std::string& method, const std::string& target, const std::string& body,
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

}  // namespace bridgeline::http
