// GET /v1/stream: the escalation log as Server-Sent Events (the WHATWG "text/event-stream"
// format), each event's log sequence as its id, so that a reader resumes with Last-Event-ID
// (or ?after=) with no gap and no duplicate.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "broker/http/server.h"
#include "broker/ops/escalation_log.h"

namespace bridgeline::http {

// A reader of `log` from after `after`, keeping to `filter`. `readers` counts the open ones.
std::shared_ptr<StreamBody> MakeLogStream(ops::EscalationLog* log, std::uint64_t after,
                                          ops::LogFilter filter,
                                          std::shared_ptr<std::atomic<int>> readers);

}  // namespace bridgeline::http
