// The engine: every rule of the business, applied to every open case.
//
// Pure and deterministic: commands and the current time go in; the events, the new case state
// and the deliveries to make come out. No I/O, no threads, no wall clock. The broker's single
// writer drives it live; tests and the simulator drive it on virtual time. A command that is
// refused changes nothing.
#pragma once

#include <array>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bridgeline/v1/api.pb.h"
#include "bridgeline/v1/case.pb.h"
#include "broker/common/status.h"
#include "broker/common/time.h"
#include "broker/engine/rules.h"

namespace bridgeline::engine {

// An event to carry to a connector.
struct Delivery {
  std::string connector;
  std::size_t event_index;  // into Outcome::events
};

// What one accepted command did to one case.
struct Outcome {
  bridgeline::v1::Case state;                 // the case after the command
  std::string state_bytes;                    // the same, serialized (what the store writes)
  std::vector<bridgeline::v1::Event> events;  // in order; sequences are assigned by the store
  std::vector<Delivery> deliveries;
  bool created = false;         // a new case (answered 201)
  bool repeat_contact = false;  // added to an open case (answered 200)
};

class Engine {
 public:
  explicit Engine(std::shared_ptr<const Rules> rules);

  // Opens a case for an outsourcer's escalation, or records a repeat contact on the open case
  // for the same customer and issue.
  Result<Outcome> Escalate(const bridgeline::v1::EscalateRequest& request,
                           const bridgeline::v1::Actor& actor, TimeMs now);

  // A lifecycle event sent by a person on one side (acknowledge, resolve, transfer...).
  // A case the actor's organization is not party to is NotFound. An actor with `via` set (a
  // change a connector brought in) acts as the case's client, if its contract uses that
  // connector.
  Result<Outcome> Handle(std::string_view case_id, const bridgeline::v1::EventRequest& request,
                         const bridgeline::v1::Actor& actor, TimeMs now);

  // A connector delivered the case to the client's desk; `remote_ref` names it there.
  Result<Outcome> Forwarded(std::string_view case_id, const std::string& connector,
                            const std::string& remote_ref, TimeMs now);

  // Fires every warning and breach due at or before `now`, each once, with the ladder's steps.
  std::vector<Outcome> AdvanceClocks(TimeMs now);

  // When AdvanceClocks next has something to do, so a scheduler can sleep until then.
  std::optional<TimeMs> NextDeadline();

  // Recovery and rollback: put a stored open case back (replacing what the engine has), or
  // drop one. Closed cases are not kept.
  void Restore(const bridgeline::v1::Case& state);
  // The same for a case already parsed from `bytes`, its stored form (recovery's fast path).
  void RestoreParsed(const bridgeline::v1::Case& state, std::string bytes);
  // Sizes the indexes for `open_cases` cases, before a recovery restores them and so that
  // commands never wait while one doubles: rehashing a few hundred thousand entries, or
  // copying the deadline heap, touches megabytes of fresh memory on the single writer.
  void Reserve(std::size_t open_cases);
  void Forget(std::string_view case_id);
  // Case numbers continue after the highest one ever stored.
  void SetNextCaseNumber(std::uint64_t next) { next_case_number_ = next; }
  std::uint64_t next_case_number() const { return next_case_number_; }

  // An open case, or nothing (closed or unknown cases live only in the store).
  std::optional<bridgeline::v1::Case> Find(std::string_view case_id) const;
  std::size_t open_cases() const { return cases_.size(); }
  // Entries in the deadline index, stale ones included until they are dropped.
  std::size_t pending_deadlines() const { return deadlines_.size(); }
  // Memory held by the deadline index (its capacity), for the benchmark.
  std::size_t deadline_index_bytes() const { return deadlines_.capacity() * sizeof(Deadline); }
  // Buckets of the case and repeat-contact indexes; it changes only when one rehashes.
  std::size_t index_buckets() const { return cases_.bucket_count() + repeat_keys_.bucket_count(); }
  const Rules& rules() const { return *rules_; }
  // Open cases by CaseStatus and Priority, kept as commands change them (for metrics).
  using OpenCounts = std::array<std::array<std::int64_t, 5>, 8>;
  const OpenCounts& open_counts() const { return open_counts_; }
  // Whether events carry an EventContext (the log's view of the case). On by default; the
  // simulator, which never writes a log, turns it off.
  void set_event_context(bool on) { event_context_ = on; }
  // Cases flagged as exceptions by this engine, by (route, reason). Reports count from the
  // store's log; this is the live view.
  const std::map<std::pair<std::string, std::string>, std::uint64_t>& exception_counts() const {
    return exception_counts_;
  }

  static std::string CaseId(std::uint64_t number) { return "BL-" + std::to_string(number); }
  // The number in "BL-<number>", or 0 when `id` is not a case id as CaseId spells it (a
  // leading zero, a sign or anything after the digits).
  static std::uint64_t CaseNumber(std::string_view id);

 private:
  // One pending warning or breach. Stale entries (the clock stopped, was re-timed or already
  // fired) stay in the heap and are skipped when popped: 24 bytes each, no per-clock node.
  struct Deadline {
    TimeMs at;
    std::uint64_t case_number;
    std::uint8_t clock;   // ClockKind
    std::uint8_t breach;  // 1 breach, 0 warning
    // For a min-heap through std::push_heap / std::pop_heap.
    bool operator>(const Deadline& other) const { return at > other.at; }
  };
  void PushDeadline(const Deadline& deadline);
  void PopDeadline();

  // An open case is kept serialized (one allocation, a few hundred bytes) and parsed only when
  // a command touches it; `marks` are its pending warning and breach times by ClockKind, so
  // the deadline index is checked without parsing.
  struct ClockMark {
    TimeMs warn_at = kNone;
    TimeMs due_at = kNone;
  };
  static constexpr TimeMs kNone = INT64_MIN;
  struct OpenCase {
    std::string bytes;
    std::array<ClockMark, 6> marks;
    // What the open-case counts hold it under.
    std::uint8_t status = 0;
    std::uint8_t priority = 0;
  };
  void Count(const OpenCase& open, int delta) { open_counts_[open.status][open.priority] += delta; }

  bool Load(std::uint64_t number, bridgeline::v1::Case* state) const;
  // Keeps `state` as the case's new version (or drops it when closed) and indexes what moved.
  void Save(std::uint64_t number, const bridgeline::v1::Case& state, Outcome* outcome);
  static std::array<ClockMark, 6> MarksOf(const bridgeline::v1::Case& state);
  void IndexMarks(std::uint64_t number, const std::array<ClockMark, 6>& marks,
                  const std::array<ClockMark, 6>* before);
  // Applies events built by a command and collects what to deliver.
  void Commit(const ContractRules& rules, bridgeline::v1::Case* state, bridgeline::v1::Event event,
              Outcome* outcome);
  bridgeline::v1::Event NewEvent(const bridgeline::v1::Case& state,
                                 bridgeline::v1::EventType::Value type,
                                 const bridgeline::v1::Actor& actor, TimeMs now) const;
  Result<Outcome> RepeatContact(bridgeline::v1::Case* state, const ContractRules& rules,
                                const bridgeline::v1::EscalateRequest& request,
                                const bridgeline::v1::Actor& actor, TimeMs now);
  void Fire(const Deadline& deadline, std::vector<Outcome>* outcomes);
  void IndexRepeatKeys(const bridgeline::v1::Case& state, std::uint64_t number, bool add);
  std::vector<std::string> RepeatKeys(const ContractRules& rules, std::string_view contract,
                                      std::string_view customer, std::string_view ticket,
                                      std::string_view category) const;

  std::shared_ptr<const Rules> rules_;
  std::unordered_map<std::uint64_t, OpenCase> cases_;
  std::unordered_map<std::string, std::uint64_t> repeat_keys_;
  // A binary min-heap on `at`.
  std::vector<Deadline> deadlines_;
  std::uint64_t next_case_number_ = 1;
  std::map<std::pair<std::string, std::string>, std::uint64_t> exception_counts_;
  OpenCounts open_counts_{};
  bool event_context_ = true;
};

}  // namespace bridgeline::engine
