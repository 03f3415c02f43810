#include "broker/http/log_stream.h"

#include <string>

namespace bridgeline::http {

namespace {

// Records per piece: a piece is one write, so this bounds what a slow reader holds.
constexpr std::size_t kRecordsPerPiece = 256;

class LogStream : public StreamBody, public std::enable_shared_from_this<LogStream> {
 public:
  LogStream(ops::EscalationLog* log, std::uint64_t after, ops::LogFilter filter,
            std::shared_ptr<std::atomic<int>> readers)
      : log_(log), cursor_(after), filter_(std::move(filter)), readers_(std::move(readers)) {}
  ~LogStream() override { Stop(); }

  // Gives the reader's place back once, whichever of the session or the end comes first.
  void Stop() override {
    if (!stopped_.exchange(true)) --*readers_;
  }

  void Next(std::function<void(std::string bytes, bool last)> deliver) override {
    if (!started_) {
      started_ = true;
      // Browsers' EventSource reconnects after `retry` ms, sending Last-Event-ID.
      return deliver(": bridgeline escalation log after sequence " + std::to_string(cursor_) +
                         "\nretry: 1000\n\n",
                     false);
    }
    log_->Next(cursor_, filter_, live_, kRecordsPerPiece,
               [self = shared_from_this(), deliver = std::move(deliver)](ops::LogBatch batch) {
                 deliver(self->Render(batch), batch.kind == ops::LogBatch::Kind::kTooSlow ||
                                                  batch.kind == ops::LogBatch::Kind::kClosed);
               });
  }

 private:
  std::string Render(const ops::LogBatch& batch) {
    using Kind = ops::LogBatch::Kind;
    std::string out;
    switch (batch.kind) {
      case Kind::kRecords:
        live_ = live_ || !batch.from_history;
        cursor_ = batch.last;
        for (const auto& record : batch.records) {
          out += "id: " + std::to_string(record->sequence) + "\ndata: " + record->line + "\n\n";
        }
        break;
      case Kind::kHeartbeat:
        out = ": keep-alive\n\n";
        break;
      case Kind::kTooSlow:
        out = Closing("too-slow",
                      "this reader fell too far behind the live log and was closed; reconnect with "
                      "Last-Event-ID: " +
                          std::to_string(cursor_) + " to resume");
        break;
      case Kind::kClosed:
        out = Closing("shutting-down", "the broker is stopping; reconnect with Last-Event-ID: " +
                                           std::to_string(cursor_) + " to resume");
        break;
    }
    return out;
  }

  // A last event naming why the stream ends and where to resume (its id is the cursor).
  std::string Closing(const std::string& reason, const std::string& detail) const {
    return "event: close\nid: " + std::to_string(cursor_) + "\ndata: {\"reason\":\"" + reason +
           "\",\"detail\":\"" + detail + "\",\"resume_after\":" + std::to_string(cursor_) + "}\n\n";
  }

  ops::EscalationLog* log_;
  std::uint64_t cursor_;
  ops::LogFilter filter_;
  std::shared_ptr<std::atomic<int>> readers_;
  bool started_ = false;
  bool live_ = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::shared_ptr<StreamBody> MakeLogStream(ops::EscalationLog* log, std::uint64_t after,
                                          ops::LogFilter filter,
                                          std::shared_ptr<std::atomic<int>> readers) {
  return std::make_shared<LogStream>(log, after, std::move(filter), std::move(readers));
}

}  // namespace bridgeline::http
