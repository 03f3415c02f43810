#include "tests/support/webhook_sink.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <optional>

namespace bridgeline::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct WebhookSink::Impl {
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::mutex connections_mutex;
  std::list<std::pair<std::shared_ptr<tcp::socket>, std::thread>> connections;
  std::atomic<bool> stopping{false};
  std::optional<ssl::context> tls;  // set: TLS only
};

WebhookSink::WebhookSink() : impl_(std::make_unique<Impl>()) { Start(); }

WebhookSink::WebhookSink(const CertificateFiles& certificate, const std::string& client_ca_file)
    : impl_(std::make_unique<Impl>()) {
  impl_->tls.emplace(ssl::context::tls_server);
  impl_->tls->use_certificate_chain_file(certificate.certificate_file);
  impl_->tls->use_private_key_file(certificate.key_file, ssl::context::pem);
  if (!client_ca_file.empty()) {
    impl_->tls->load_verify_file(client_ca_file);
    impl_->tls->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  Start();
}

void WebhookSink::Start() {
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] {
    while (!impl_->stopping) {
      auto socket = std::make_shared<tcp::socket>(impl_->io);
      beast::error_code error;
      impl_->acceptor.accept(*socket, error);
      if (error || impl_->stopping) break;
      socket->set_option(tcp::no_delay(true), error);
      std::lock_guard lock(impl_->connections_mutex);
      auto serve = [this, socket] {
        if (!impl_->tls) {
          ServeRequests(*socket);
        } else {
          ssl::stream<tcp::socket&> stream(*socket, *impl_->tls);
          beast::error_code handshake_error;
          stream.handshake(ssl::stream_base::server, handshake_error);
          if (handshake_error) {
            ++failed_handshakes_;
          } else {
            ServeRequests(stream);
          }
        }
        beast::error_code ignored;
        socket->shutdown(tcp::socket::shutdown_both, ignored);
      };
      impl_->connections.emplace_back(socket, std::thread(serve));
    }
  });
}

template <typename Stream>
void WebhookSink::ServeRequests(Stream& stream) {
  beast::flat_buffer buffer;
  while (!impl_->stopping) {
    http::request<http::string_body> request;
    beast::error_code read_error;
    http::read(stream, buffer, request, read_error);
    if (read_error) break;
    SinkRequest received;
    received.target = std::string(request.target());
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      received.headers[name] = std::string(field.value());
    }
    received.body = std::move(request.body());
    received.at = std::chrono::steady_clock::now();
    SinkAnswer answer;
    {
      std::lock_guard script_lock(mutex_);
      const std::size_t index = count_++;
      if (script_) answer = script_(received, index);
      if (keep_) requests_.push_back(std::move(received));
    }
    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
    for (const auto& [name, value] : answer.headers) response.set(name, value);
    response.body() = answer.body;
    response.prepare_payload();
    response.keep_alive(request.keep_alive());
    http::write(stream, response, read_error);
    if (read_error || !request.keep_alive()) break;
  }
}

WebhookSink::~WebhookSink() {
  impl_->stopping = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  // Wake the blocked accept with a connection of our own.
  {
    net::io_context io;
    tcp::socket wake(io);
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ignored);
  }
  impl_->accept_thread.join();
  std::lock_guard lock(impl_->connections_mutex);
  for (auto& [socket, thread] : impl_->connections) {
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    thread.join();
  }
}

void WebhookSink::SetScript(Script script) {
  std::lock_guard lock(mutex_);
  script_ = std::move(script);
}

std::vector<SinkRequest> WebhookSink::Requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool WebhookSink::AwaitCount(std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (count_ < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return count_ >= n;
}

}  // namespace bridgeline::testing
