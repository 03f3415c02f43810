#include "broker/http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "broker/common/json.h"

namespace bridgeline::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

Response Problem(unsigned status, const std::string& slug, const std::string& title,
                 const std::string& detail, const std::string& field) {
  // Members in RFC 9457's order, the same in every answer (a map would print them in any).
  std::string body = "{\"type\":";
  AppendJsonString("urn:bridgeline:problem:" + slug, &body);
  body += ",\"title\":";
  AppendJsonString(title, &body);
  body += ",\"status\":" + std::to_string(status) + ",\"detail\":";
  AppendJsonString(detail, &body);
  if (!field.empty()) {
    body += ",\"field\":";
    AppendJsonString(field, &body);
  }
  body += "}\n";
  Response response{static_cast<bhttp::status>(status), 11};
  response.set(bhttp::field::content_type, "application/problem+json");
  response.body() = std::move(body);
  return response;
}

void Respond::operator()(Response response) const {
  if (ways_->observe) ways_->observe(response.result_int());
  ways_->answer(std::move(response));
}

void Respond::StartStream(Response head, std::shared_ptr<StreamBody> body) const {
  if (!ways_->stream) {
    return (*this)(Problem(501, "not-implemented", "Streaming not available",
                           "this endpoint streams, which this connection cannot"));
  }
  if (ways_->observe) ways_->observe(head.result_int());
  ways_->stream(std::move(head), std::move(body));
}

void Respond::Rendered(Render render) const {
  if (!ways_->later) return (*this)(render());
  if (!ways_->observe) return ways_->later(std::move(render));
  ways_->later([render = std::move(render), ways = ways_] {
    Response response = render();
    ways->observe(response.result_int());
    return response;
  });
}

Respond Respond::Observed(Observe observe) const {
  auto ways = std::make_shared<Ways>(*ways_);
  if (ways->observe) {
    // The newest observer first, as if it wrapped the answer the earlier one had wrapped.
    ways->observe = [outer = std::move(observe),
                     inner = std::move(ways->observe)](unsigned status) {
      outer(status);
      inner(status);
    };
  } else {
    ways->observe = std::move(observe);
  }
  return Respond(std::shared_ptr<const Ways>(std::move(ways)));
}

struct Server::Shared {
  ServerOptions options;
  Handler handler;
  // Null: plain HTTP. Read and replaced on the acceptor's thread (the first context's) only.
  std::shared_ptr<ssl::context> tls;
  // Contexts a reload replaced: connections made before it may still use them. A few a year.
  std::vector<std::shared_ptr<ssl::context>> retired_tls;
  std::string certificate_file, private_key_file;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> stopping{false};

  // Per open connection, what asks it (on its own thread) to close if it is idle; used once,
  // when the server stops. Touched once per connection, never per request.
  std::mutex idle_closers_mutex;
  std::unordered_map<const void*, std::function<void()>> idle_closers;

  void AddIdleCloser(const void* connection, std::function<void()> close_if_idle) {
    std::lock_guard lock(idle_closers_mutex);
    idle_closers.emplace(connection, std::move(close_if_idle));
  }
  void RemoveIdleCloser(const void* connection) {
    std::lock_guard lock(idle_closers_mutex);
    idle_closers.erase(connection);
  }
  void CloseIdleConnections() {
    std::vector<std::function<void()>> closers;
    {
      std::lock_guard lock(idle_closers_mutex);
      for (const auto& [connection, close_if_idle] : idle_closers) closers.push_back(close_if_idle);
    }
    for (const auto& close_if_idle : closers) close_if_idle();
  }
};

namespace {

// A connection's executor is its io_context's own. Each context is run by one thread, so its
// handlers never run at once and need no strand; the concrete type (not any_io_executor) spares
// every operation a type-erased copy of the executor.
using Executor = net::io_context::executor_type;
using PlainStream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using TlsStream = ssl::stream<PlainStream>;

// One connection, plain or TLS; `Stream` is PlainStream or TlsStream.
// As in Beast's advanced_server_flex, the two differ only in how they start and end.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... StreamArguments>
  Session(std::shared_ptr<Server::Shared> shared, StreamArguments&&... arguments)
      : stream_(std::forward<StreamArguments>(arguments)...),
        request_timer_(stream_.get_executor()),
        shared_(std::move(shared)) {
    ++shared_->connections;
  }
  ~Session() {
    shared_->RemoveIdleCloser(this);
    --shared_->connections;
  }

  // `refuse`: over the connection limit, answer 503 and close rather than leave the peer hanging.
  void Run(bool refuse) {
    std::weak_ptr<Session> weak = this->shared_from_this();
    shared_->AddIdleCloser(this, [weak, executor = stream_.get_executor()] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->CloseIfIdle();
      });
    });
    net::dispatch(stream_.get_executor(),
                  [self = this->shared_from_this(), refuse] { self->Start(refuse); });
  }

 private:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  void Start(bool refuse) {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(shared_->options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this(), refuse](beast::error_code error) {
                                if (error) return;  // not TLS, or a failed handshake: drop it
                                self->Begin(refuse);
                              });
    } else {
      Begin(refuse);
    }
  }

  void Begin(bool refuse) {
    if (!refuse) return Read();
    keep_alive_ = false;
    auto response = Problem(503, "too-many-connections", "Too many connections",
                            "the broker has reached its connection limit; retry shortly");
    response.set(bhttp::field::retry_after, "1");
    Write(std::move(response));
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(shared_->options.max_header_bytes);
    // Stopping, between two requests with nothing of the next one come: close rather than wait
    // for a request that would only hold up the shutdown.
    if (IdleWhileStopping()) return Close();
    // A request must arrive whole within the read timeout. On a kept-alive connection the wait
    // for the next request is idle time, allowed up to the idle timeout: the timer tells the two
    // apart when it fires (OnRequestTimer). One timer per request, not the stream's expiry,
    // which arms and cancels a timer for every read the parser makes.
    beast::get_lowest_layer(stream_).expires_never();
    timed_out_ = false;
    extra_time_given_ = false;
    read_started_ = std::chrono::steady_clock::now();
    ArmRequestTimer(first_request_
                        ? shared_->options.read_timeout
                        : std::min(shared_->options.read_timeout, shared_->options.idle_timeout));
    // The head first: a client that sent `Expect: 100-continue` waits for a word before it
    // sends the body (RFC 9110, 10.1.1). A body that came with its head is parsed from the
    // buffer without another read.
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(beast::error_code error, std::size_t bytes) {
    if (!error) {
      if (auto refused = RefusedHead(parser_->get())) {
        // The body, if any, is left unread, so the connection cannot carry another request.
        request_timer_.cancel();
        first_request_ = false;
        keep_alive_ = false;
        answering_head_ = parser_->get().method() == bhttp::verb::head;
        return Write(std::move(*refused));
      }
    }
    if (error || parser_->is_done()) return OnRead(error, bytes);
    const auto& head = parser_->get();
    if (head.version() >= 11 && beast::iequals(head[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(
          stream_, net::buffer(kContinue.data(), kContinue.size()),
          [self = this->shared_from_this()](beast::error_code error, std::size_t) {
            if (error) return self->Close();  // the peer left, or the read timed out
            self->ReadBody();
          });
    }
    ReadBody();
  }

  // What a request's head alone says is wrong with it (RFC 9112): an HTTP/1.1 request names
  // exactly one Host (3.2), and a body is framed by a transfer coding this server decodes,
  // which is chunked alone (6.1: 501 for any other).
  static std::optional<Response> RefusedHead(const Request& head) {
    if (head.version() >= 11 && head.count(bhttp::field::host) != 1) {
      return Problem(400, "bad-http", "Malformed HTTP request",
                     "an HTTP/1.1 request needs exactly one Host header");
    }
    // Beast's parser has already trimmed the whitespace around a field's value.
    if (head.count(bhttp::field::transfer_encoding) > 0) {
      if (head.count(bhttp::field::transfer_encoding) > 1 ||
          !beast::iequals(head[bhttp::field::transfer_encoding], "chunked")) {
        return Problem(501, "unsupported-transfer-coding", "Transfer coding not implemented",
                       "the body must be sent as it is or chunked; Transfer-Encoding: " +
                           std::string(head[bhttp::field::transfer_encoding]) +
                           " is not decoded here");
      }
    }
    return std::nullopt;
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  // Whether any of the request has come in: parsed, or read and waiting for the parser.
  bool RequestUnderWay() const { return parser_->got_some() || buffer_.size() > 0; }

  // The server is stopping and no byte of a next request has come, read or not: nobody is
  // waiting for an answer on this connection. A connection's first request is always read:
  // its client has just connected to send it. (While a request is read, handled or answered
  // the parser holds it, so it counts as under way.)
  bool IdleWhileStopping() const {
    if (!shared_->stopping || first_request_ || RequestUnderWay()) return false;
    beast::error_code error;
    const std::size_t unread = beast::get_lowest_layer(stream_).socket().available(error);
    return !error && unread == 0;
  }

  // Asked once when the server stops: a kept-alive connection waiting for its next request,
  // with none begun, is closed now; any other finishes its request and closes after it.
  void CloseIfIdle() {
    if (closed_ || !IdleWhileStopping()) return;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().cancel(ignored);  // OnRead closes it
  }

  void ArmRequestTimer(std::chrono::steady_clock::duration after) {
    request_timer_.expires_after(after);
    request_timer_.async_wait([self = this->shared_from_this()](beast::error_code error) {
      if (!error) self->OnRequestTimer();  // else cancelled: the request arrived
    });
  }

  // The request's time is up, unless the connection was only idle between two requests: then
  // it may wait on for the idle timeout. A request found under way when the timer fires began
  // at some moment since the last check, so it gets one more read timeout from here (a slow
  // sender on a kept-alive connection is cut off within twice the read timeout of its start).
  void OnRequestTimer() {
    if (!first_request_) {
      const bool under_way = RequestUnderWay();
      const auto idle = std::chrono::steady_clock::now() - read_started_;
      if (!under_way && idle < shared_->options.idle_timeout) {
        return ArmRequestTimer(std::min<std::chrono::steady_clock::duration>(
            shared_->options.read_timeout, shared_->options.idle_timeout - idle));
      }
      if (under_way && !extra_time_given_) {
        extra_time_given_ = true;
        return ArmRequestTimer(shared_->options.read_timeout);
      }
    }
    timed_out_ = true;
    beast::error_code ignored;
    // Shut for reading as well as cancelled: the parser may be between two reads, with nothing
    // to cancel, and its next read must end at once rather than wait on.
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_receive, ignored);
    socket.cancel(ignored);
  }

  void OnRead(beast::error_code error, std::size_t) {
    request_timer_.cancel();
    first_request_ = false;
    answering_head_ = false;  // an answer to a request that did not arrive whole has a body
    // Cut off part-way through a request: say so. (A request that completed as the timer
    // fired is served; an idle connection that timed out just closes.)
    if (error && timed_out_ && RequestUnderWay()) {
      keep_alive_ = false;
      return Write(Problem(408, "request-timeout", "Request timeout",
                           "the request did not arrive within " +
                               std::to_string(shared_->options.read_timeout.count()) + " ms"));
    }
    if (error == bhttp::error::end_of_stream || error == net::error::connection_reset ||
        error == net::error::eof || error == beast::error::timeout ||
        error == net::error::operation_aborted) {
      return Close();  // the peer left, or an idle connection timed out
    }
    if (error) {
      keep_alive_ = false;
      if (error == bhttp::error::body_limit) {
        return Write(Problem(413, "body-too-large", "Request body too large",
                             "the body is larger than " +
                                 std::to_string(shared_->options.max_body_bytes) + " bytes"));
      }
      if (error == bhttp::error::header_limit) {
        return Write(Problem(431, "headers-too-large", "Request headers too large",
                             "the headers are larger than " +
                                 std::to_string(shared_->options.max_header_bytes) + " bytes"));
      }
      return Write(Problem(400, "bad-http", "Malformed HTTP request", error.message()));
    }
    Request request = parser_->release();
    keep_alive_ = request.keep_alive() && !shared_->stopping;
    answering_head_ = request.method() == bhttp::verb::head;
    ++shared_->in_flight;
    auto self = this->shared_from_this();
    Respond::Answer answer = [self](Response response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        --self->shared_->in_flight;
        self->Write(std::move(response));
      });
    };
    Respond::Stream stream = [self](Response head, std::shared_ptr<StreamBody> body) {
      net::post(self->stream_.get_executor(),
                [self, head = std::move(head), body = std::move(body)]() mutable {
                  --self->shared_->in_flight;
                  self->WriteStreamHead(std::move(head), std::move(body));
                });
    };
    Respond::Later later = [self](Respond::Render render) {
      net::post(self->stream_.get_executor(), [self, render = std::move(render)] {
        --self->shared_->in_flight;
        self->Write(render());
      });
    };
    shared_->handler(std::move(request),
                     Respond(std::move(answer), std::move(stream), std::move(later)));
  }

  // A streamed answer: the head without a length, then each piece the body gives, until it
  // ends, the peer leaves or a piece is not taken in time. The connection closes after it.
  void WriteStreamHead(Response head, std::shared_ptr<StreamBody> body) {
    keep_alive_ = false;
    // Pieces go out as soon as they are written: Nagle's algorithm would hold each piece's
    // tail until the reader's delayed acknowledgement.
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ignored);
    head.keep_alive(false);
    head.set(bhttp::field::server, "bridgeline");
    head.set("X-Content-Type-Options", "nosniff");
    auto message = std::make_shared<Response>(std::move(head));
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*message);
    beast::get_lowest_layer(stream_).expires_after(shared_->options.stream_write_timeout);
    bhttp::async_write_header(stream_, *serializer,
                              [self = this->shared_from_this(), message, serializer, body](
                                  beast::error_code error, std::size_t) {
                                if (error) {
                                  body->Stop();
                                  return self->Close();
                                }
                                self->WatchPeer(body);
                                self->NextPiece(body);
                              });
  }

  // A stream's peer sends nothing; a read that ends means it left. Noticing it here, rather
  // than at the next write, frees the reader's place at once.
  void WatchPeer(std::shared_ptr<StreamBody> body) {
    stream_.async_read_some(buffer_.prepare(512), [self = this->shared_from_this(), body](
                                                      beast::error_code error, std::size_t) {
      if (!error) return self->WatchPeer(body);  // stray bytes: ignored
      body->Stop();
      self->Close();
    });
  }

  void NextPiece(std::shared_ptr<StreamBody> body) {
    beast::get_lowest_layer(stream_).expires_never();
    body->Next([self = this->shared_from_this(), body](std::string bytes, bool last) {
      net::post(self->stream_.get_executor(),
                [self, body, bytes = std::move(bytes), last]() mutable {
                  self->WritePiece(std::move(body), std::move(bytes), last);
                });
    });
  }

  void WritePiece(std::shared_ptr<StreamBody> body, std::string bytes, bool last) {
    if (bytes.empty()) return last ? Close() : NextPiece(std::move(body));
    auto piece = std::make_shared<std::string>(std::move(bytes));
    beast::get_lowest_layer(stream_).expires_after(shared_->options.stream_write_timeout);
    net::async_write(
        stream_, net::buffer(*piece),
        [self = this->shared_from_this(), piece, body, last](beast::error_code error, std::size_t) {
          if (error || last) {
            body->Stop();
            return self->Close();
          }
          self->NextPiece(body);
        });
  }

  void Write(Response response) {
    if (shared_->stopping)
      keep_alive_ = false;  // shutting down: this is the connection's last answer
    response.keep_alive(keep_alive_);
    response.set(bhttp::field::server, "bridgeline");
    // Answers carry cases and customers' details: no cache along the way keeps a copy, and no
    // browser reads a JSON answer as anything else.
    if (response.find(bhttp::field::cache_control) == response.end())
      response.set(bhttp::field::cache_control, "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    response.prepare_payload();
    if (answering_head_) {  // the GET answer's head: its length, without the body (RFC 9110)
      const std::size_t length = response.body().size();
      response.body().clear();
      response.content_length(length);
    }
    auto message = std::make_shared<Response>(std::move(response));
    beast::get_lowest_layer(stream_).expires_after(shared_->options.read_timeout);
    bhttp::async_write(
        stream_, *message,
        [self = this->shared_from_this(), message](beast::error_code error, std::size_t) {
          if (error || !self->keep_alive_) return self->Close();
          self->Read();
        });
  }

  void Close() {
    if (closed_) return;  // a stream may end by its own last piece and by its watch at once
    closed_ = true;
    request_timer_.cancel();
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::get_lowest_layer(self->stream_).close();
      });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.close();
    }
  }

  Stream stream_;
  net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>,
                            Executor>
      request_timer_;
  bool timed_out_ = false;
  bool extra_time_given_ = false;  // a request found under way got one more read timeout
  std::chrono::steady_clock::time_point read_started_;  // when the wait for this request began
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Server::Shared> shared_;
  bool keep_alive_ = true;
  bool answering_head_ = false;  // the request being answered is a HEAD
  bool first_request_ = true;
  bool closed_ = false;
};

}  // namespace

class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::vector<net::io_context*> contexts, std::shared_ptr<Shared> shared)
      : contexts_(std::move(contexts)),
        acceptor_(contexts_.front()->get_executor()),
        shared_(std::move(shared)) {}

  Status Open(const tcp::endpoint& endpoint) {
    beast::error_code error;
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(net::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(net::socket_base::max_listen_connections, error);
    if (error) {
      return Status::Unavailable("cannot listen on " + endpoint.address().to_string() + ":" +
                                 std::to_string(endpoint.port()) + ": " + error.message());
    }
    return Status::Ok();
  }

  void Accept() {
    net::io_context& next = *contexts_[accepted_++ % contexts_.size()];
    acceptor_.async_accept(next.get_executor(),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

  tcp::endpoint endpoint() const {
    beast::error_code ignored;
    return acceptor_.local_endpoint(ignored);
  }

 private:
  void OnAccept(beast::error_code error, net::basic_stream_socket<tcp, Executor> socket) {
    if (error == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!error) {
      const bool refuse = shared_->connections >= shared_->options.max_connections;
      if (shared_->tls) {
        std::make_shared<Session<TlsStream>>(shared_, std::move(socket), *shared_->tls)
            ->Run(refuse);
      } else {
        std::make_shared<Session<PlainStream>>(shared_, std::move(socket))->Run(refuse);
      }
    } else {
      spdlog::warn("accept failed: {}", error.message());
    }
    Accept();
  }

  const std::vector<net::io_context*> contexts_;
  std::size_t accepted_ = 0;  // on the first context's thread, as every accept is
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
};

Server::Server(std::vector<net::io_context*> contexts, ServerOptions options, Handler handler)
    : contexts_(std::move(contexts)), shared_(std::make_shared<Shared>()) {
  shared_->options = options;
  shared_->handler = std::move(handler);
}

Server::~Server() {
  if (listener_) listener_->Stop();
}

Status Server::Listen(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos)
    return Status::InvalidArgument("listen address '" + host_port + "' is not host:port");
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code error;
  auto address = net::ip::make_address(host, error);
  if (error)
    return Status::InvalidArgument("listen address '" + host_port + "': '" + host +
                                   "' is not an IP address");
  unsigned long port = 0;
  try {
    port = std::stoul(host_port.substr(colon + 1));
  } catch (const std::exception&) {
    port = 70000;
  }
  if (port > 65535)
    return Status::InvalidArgument("listen address '" + host_port + "' has no valid port");
  listener_ = std::make_shared<Listener>(contexts_, shared_);
  BRIDGELINE_RETURN_IF_ERROR(
      listener_->Open(tcp::endpoint(address, static_cast<unsigned short>(port))));
  listener_->Accept();
  return Status::Ok();
}

tcp::endpoint Server::endpoint() const {
  return listener_ ? listener_->endpoint() : tcp::endpoint();
}

void Server::StopAccepting() {
  shared_->stopping = true;
  if (listener_) listener_->Stop();
  shared_->CloseIdleConnections();
}

namespace {

// A server context for TLS 1.2 and later with this PEM certificate chain and key.
Result<std::shared_ptr<ssl::context>> ServerContext(const std::string& certificate_file,
                                                    const std::string& private_key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  beast::error_code error;
  context->use_certificate_chain_file(certificate_file, error);
  if (error)
    return Status::InvalidArgument("TLS certificate " + certificate_file + ": " + error.message());
  context->use_private_key_file(private_key_file, ssl::context::pem, error);
  if (error)
    return Status::InvalidArgument("TLS private key " + private_key_file + ": " + error.message());
  return context;
}

}  // namespace

Status Server::UseTls(const std::string& certificate_file, const std::string& private_key_file) {
  auto context = ServerContext(certificate_file, private_key_file);
  if (!context.ok()) return context.status();
  shared_->tls = std::move(*context);
  shared_->certificate_file = certificate_file;
  shared_->private_key_file = private_key_file;
  return Status::Ok();
}

Status Server::ReloadTls() {
  if (shared_->certificate_file.empty())
    return Status::FailedPrecondition("the server speaks plain HTTP: no certificate to reload");
  auto context = ServerContext(shared_->certificate_file, shared_->private_key_file);
  if (!context.ok()) return context.status();
  net::post(*contexts_.front(), [shared = shared_, context = std::move(*context)]() mutable {
    shared->retired_tls.push_back(std::move(shared->tls));
    shared->tls = std::move(context);
  });
  return Status::Ok();
}

std::size_t Server::in_flight() const { return shared_->in_flight; }

std::size_t Server::connections() const { return shared_->connections; }

}  // namespace bridgeline::http
