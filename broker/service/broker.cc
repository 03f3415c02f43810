#include "broker/service/broker.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <unordered_map>

namespace bridgeline::service {

namespace v1 = bridgeline::v1;

namespace {
// Enough to share one fsync among many writers without making any wait long.
constexpr std::size_t kMaxBatch = 512;

// The answer to a request whose Idempotency-Key already holds `record`: the answer given then,
// or a refusal when the request is not the one that made it.
Answer AnswerToRepeat(const Idempotency& repeat, v1::IdempotencyRecord record) {
  if (record.request_hash() != repeat.request_hash) {
    return {Status::AlreadyExists("Idempotency-Key '" + repeat.key +
                                  "' was already used for a different request"),
            {},
            {}};
  }
  return {Status::Ok(), {}, std::move(record)};
}
}  // namespace

// A batch the writer has written (or refused): what to answer, and what to hand on to the
// lanes and the live log, once the sync stage has made it durable.
struct Broker::Commit {
  std::vector<std::pair<Done, Answer>> replies;  // in arrival order
  std::vector<store::OutboxEntry> enqueued;
  std::vector<std::string> logged;
  // Set when the batch wrote: the store's generation, for Store::Sync.
  std::optional<std::uint64_t> generation;
  // Cases the write changed, read back from the store should its sync fail.
  std::vector<std::string> touched;
};

struct Broker::Request {
  enum class Kind { kEscalate, kEvent, kForwarded } kind;
  v1::EscalateRequest escalate;
  v1::EventRequest event;
  std::string case_id;
  std::string connector;
  std::string remote_ref;
  std::string outbox_key;
  v1::Actor actor;
  std::optional<Idempotency> idempotency;
  Done done;
};

Broker::Broker(std::shared_ptr<const engine::Rules> rules, store::Store* store, Clock clock)
    : rules_(rules), store_(store), clock_(std::move(clock)), engine_(std::move(rules)) {}

Broker::~Broker() { Stop(); }

Result<std::size_t> Broker::Recover(std::uint64_t reserve_open_cases) {
  std::size_t loaded = 0;
  const std::uint64_t estimate = store_->EstimateOpenCases();
  spdlog::info("recovery: about {} open cases to load", estimate);
  engine_.Reserve(std::max(estimate, reserve_open_cases));
  v1::Case state;
  Status status = store_->ForEachOpenCase([&](std::string&& bytes) {
    if (!state.ParseFromString(bytes))
      return Status::Internal("storage: cannot decode an open case");
    if (rules_->Contract(state.contract()) == nullptr) {
      return Status::FailedPrecondition("open case " + state.id() + " belongs to contract '" +
                                        state.contract() + "', which the config no longer has");
    }
    engine_.RestoreParsed(state, std::move(bytes));
    ++loaded;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  engine_.SetNextCaseNumber(std::max(engine_.next_case_number(), store_->next_case_number()));
  {
    std::lock_guard lock(mutex_);
    stats_.open_cases = engine_.open_counts();
    stats_.pending_deadlines = engine_.pending_deadlines();
  }
  return loaded;
}

void Broker::Start(Enqueued on_enqueued, Logged on_logged) {
  on_enqueued_ = std::move(on_enqueued);
  on_logged_ = std::move(on_logged);
  sync_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "bl-sync");  // how ops (and profilers) find it
    RunSync();
  });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "bl-writer");
    Run();
  });
}

void Broker::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The writer has written all it will; the sync stage answers what is left, then ends.
  {
    std::lock_guard lock(sync_mutex_);
    sync_stopping_ = true;
  }
  sync_wake_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
}

BrokerStats Broker::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Broker::Enqueue(std::unique_ptr<Request> request) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (request->done)
        request->done({Status::Unavailable("the broker is shutting down"), {}, {}});
      return;
    }
    queue_.push_back(std::move(request));
  }
  wake_.notify_one();
}

void Broker::Escalate(v1::EscalateRequest request, v1::Actor actor,
                      std::optional<Idempotency> idempotency, Done done) {
  auto item = std::make_unique<Request>();
  item->kind = Request::Kind::kEscalate;
  item->escalate = std::move(request);
  item->actor = std::move(actor);
  item->idempotency = std::move(idempotency);
  item->done = std::move(done);
  Enqueue(std::move(item));
}

void Broker::Handle(std::string case_id, v1::EventRequest request, v1::Actor actor,
                    std::optional<Idempotency> idempotency, Done done) {
  auto item = std::make_unique<Request>();
  item->kind = Request::Kind::kEvent;
  item->case_id = std::move(case_id);
  item->event = std::move(request);
  item->actor = std::move(actor);
  item->idempotency = std::move(idempotency);
  item->done = std::move(done);
  Enqueue(std::move(item));
}

void Broker::Forwarded(std::string case_id, std::string connector, std::string remote_ref,
                       std::string outbox_key) {
  auto item = std::make_unique<Request>();
  item->outbox_key = std::move(outbox_key);
  item->kind = Request::Kind::kForwarded;
  item->case_id = std::move(case_id);
  item->connector = std::move(connector);
  item->remote_ref = std::move(remote_ref);
  Enqueue(std::move(item));
}

void Broker::Run() {
  std::vector<std::unique_ptr<Request>> batch;
  while (true) {
    batch.clear();
    {
      std::unique_lock lock(mutex_);
      std::optional<TimeMs> deadline = engine_.NextDeadline();
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (deadline) {
        TimeMs wait_ms = std::max<TimeMs>(0, *deadline - clock_());
        wake_.wait_for(lock, std::chrono::milliseconds(std::min<TimeMs>(wait_ms, kMinuteMs)),
                       ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (stopping_ && queue_.empty()) return;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    auto commit = std::make_unique<Commit>();
    Process(batch, commit.get());
    if (commit->replies.empty() && !commit->generation) continue;
    {
      std::lock_guard lock(sync_mutex_);
      commits_.push_back(std::move(commit));
    }
    sync_wake_.notify_one();
  }
}

void Broker::Process(std::vector<std::unique_ptr<Request>>& batch, Commit* commit) {
  // Every answer waits for the commit's sync, even one that writes nothing: a replay or a
  // refusal may rest on an earlier commit that is written but not yet durable.
  auto reply = [&](Request* request, Answer answer) {
    if (request->done) commit->replies.emplace_back(std::move(request->done), std::move(answer));
  };
  if (Status recovered = RecoverFromSyncFault(); !recovered.ok()) {
    for (auto& request : batch) reply(request.get(), {recovered, {}, {}});
    return;
  }
  const TimeMs now = clock_();
  std::vector<store::Mutation> mutations;
  mutations.reserve(batch.size() + 16);
  // Which mutation answers which request; requests answered early are left out.
  std::vector<std::pair<Request*, std::size_t>> waiting;
  // Idempotency keys claimed in this batch: a concurrent retry waits for the first's answer.
  std::unordered_map<std::string, std::size_t> claimed;
  std::vector<std::pair<Request*, std::string>> retries_in_batch;

  auto add_mutation = [&](engine::Outcome&& outcome) {
    store::Mutation mutation;
    mutation.cases.push_back(std::move(outcome.state));
    mutation.case_bytes.push_back(std::move(outcome.state_bytes));
    mutation.events = std::move(outcome.events);
    for (const auto& delivery : outcome.deliveries) {
      mutation.deliveries.push_back({delivery.connector, delivery.event_index, 0});
    }
    mutation.next_case_number = engine_.next_case_number();
    mutations.push_back(std::move(mutation));
    return mutations.size() - 1;
  };

  for (auto& request : batch) {
    if (request->idempotency) {
      const Idempotency& idempotency = *request->idempotency;
      std::string claim = idempotency.organization + '\0' + idempotency.key;
      if (claimed.count(claim)) {
        retries_in_batch.emplace_back(request.get(), claim);
        continue;
      }
      auto stored = store_->GetIdempotency(idempotency.organization, idempotency.key);
      if (!stored.ok()) {
        reply(request.get(), {stored.status(), {}, {}});
        continue;
      }
      if (stored->has_value() && FromTimestamp((*stored)->expires_at()) > now) {
        reply(request.get(), AnswerToRepeat(idempotency, std::move(**stored)));
        continue;
      }
    }

    Result<engine::Outcome> outcome = Status::Internal("unknown request");
    switch (request->kind) {
      case Request::Kind::kEscalate:
        outcome = engine_.Escalate(request->escalate, request->actor, now);
        break;
      case Request::Kind::kEvent:
        outcome = engine_.Handle(request->case_id, request->event, request->actor, now);
        break;
      case Request::Kind::kForwarded:
        outcome = engine_.Forwarded(request->case_id, request->connector, request->remote_ref, now);
        break;
    }
    if (!outcome.ok()) {
      if (request->kind == Request::Kind::kForwarded && !request->outbox_key.empty()) {
        // Already forwarded (or closed): the delivery is done all the same.
        store::Mutation done_delivery;
        done_delivery.delivered_outbox_keys.push_back(request->outbox_key);
        mutations.push_back(std::move(done_delivery));
      }
      reply(request.get(), {outcome.status(), {}, {}});
      continue;
    }
    engine::Outcome result = std::move(*outcome);
    std::size_t index = add_mutation(std::move(result));
    if (!request->outbox_key.empty())
      mutations[index].delivered_outbox_keys.push_back(request->outbox_key);
    // The mutation took the events; keep the rest of the outcome for the answer.
    if (request->idempotency) {
      claimed[request->idempotency->organization + '\0' + request->idempotency->key] = index;
    }
    waiting.emplace_back(request.get(), index);
  }

  for (auto& outcome : engine_.AdvanceClocks(now)) add_mutation(std::move(outcome));
  if (mutations.empty()) {
    for (auto& [request, claim] : retries_in_batch) {
      reply(request,
            {Status::Unavailable("the first request with this Idempotency-Key failed"), {}, {}});
    }
    return;
  }

  // The answer to each request, taken from its mutation once written.
  auto answer_of = [&](std::size_t index) {
    engine::Outcome answer;
    answer.state = std::move(mutations[index].cases.front());
    answer.state_bytes = std::move(mutations[index].case_bytes.front());
    answer.events = std::move(mutations[index].events);
    answer.created = answer.state.version() == 1;
    answer.repeat_contact =
        !answer.events.empty() && answer.events.front().type() == v1::EventType::repeat_contact;
    return answer;
  };
  // Idempotent answers are rendered before the write so that replays are stored with it.
  for (auto& [request, index] : waiting) {
    if (request->idempotency && request->idempotency->render) {
      engine::Outcome answer;
      answer.state = mutations[index].cases.front();
      answer.repeat_contact =
          !mutations[index].events.empty() &&
          mutations[index].events.front().type() == v1::EventType::repeat_contact;
      auto [http_status, body] = request->idempotency->render(answer);
      store::Mutation::Idempotency record;
      record.organization = request->idempotency->organization;
      record.key = request->idempotency->key;
      record.record.set_request_hash(request->idempotency->request_hash);
      record.record.set_http_status(http_status);
      record.record.set_body(std::move(body));
      *record.record.mutable_expires_at() = ToTimestamp(now + request->idempotency->ttl_ms);
      mutations[index].idempotency.push_back(std::move(record));
    }
  }

  std::vector<store::Mutation*> pointers;
  for (auto& mutation : mutations) pointers.push_back(&mutation);
  std::uint64_t generation = 0;
  Status written = store_->Write(pointers, &commit->enqueued,
                                 on_logged_ ? &commit->logged : nullptr, &generation);
  if (written.ok()) commit_sizes_.Observe(static_cast<double>(mutations.size()));
  {
    std::lock_guard lock(mutex_);
    stats_.commands += waiting.size();
    stats_.failed_commits += !written.ok();
    if (written.ok()) {
      stats_.open_cases = engine_.open_counts();
      stats_.pending_deadlines = engine_.pending_deadlines();
    }
  }
  if (!written.ok()) {
    spdlog::error("commit of {} command(s) failed: {}", mutations.size(), written.ToString());
    Rollback(TouchedCases(mutations));
    // Answers given before the write (refusals, replays) stand; the rest share its failure.
    for (auto& [request, index] : waiting) reply(request, {written, {}, {}});
    for (auto& [request, claim] : retries_in_batch) reply(request, {written, {}, {}});
    return;
  }
  commit->generation = generation;
  commit->touched = TouchedCases(mutations);
  for (auto& [request, index] : waiting) {
    if (!request->done) continue;
    if (request->idempotency && !mutations[index].idempotency.empty()) {
      // Concurrent retries get exactly what the first one got.
      for (auto& [retry, claim] : retries_in_batch) {
        if (claim == request->idempotency->organization + '\0' + request->idempotency->key) {
          reply(retry,
                AnswerToRepeat(*retry->idempotency, mutations[index].idempotency.front().record));
          retry = nullptr;
        }
      }
    }
    reply(request, {Status::Ok(), answer_of(index), {}});
  }
  for (auto& [retry, claim] : retries_in_batch) {
    if (retry)
      reply(
          retry,
          {Status::Unavailable("the first request with this Idempotency-Key was refused; retry it"),
           {},
           {}});
  }
}

void Broker::RunSync() {
  std::deque<std::unique_ptr<Commit>> group;
  while (true) {
    {
      std::unique_lock lock(sync_mutex_);
      syncing_ = false;
      synced_.notify_all();
      sync_wake_.wait(lock, [&] { return sync_stopping_ || !commits_.empty(); });
      if (commits_.empty()) return;
      group.swap(commits_);
      syncing_ = true;
    }
    // One sync covers every commit written to the same database before it started.
    std::optional<std::uint64_t> synced_generation;
    Status synced;
    {
      std::lock_guard lock(sync_mutex_);
      if (sync_fault_)
        synced = Status::Unavailable("storage: an earlier commit failed to sync; retry");
    }
    for (auto& commit : group) {
      if (synced.ok() && commit->generation && synced_generation != commit->generation) {
        const auto started = std::chrono::steady_clock::now();
        synced = store_->Sync(*commit->generation);
        sync_durations_.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        synced_generation = commit->generation;
        if (!synced.ok()) spdlog::error("{}", synced.ToString());
      }
      Finish(*commit, synced);
    }
    group.clear();
  }
}

void Broker::Finish(Commit& commit, const Status& synced) {
  if (commit.generation) {
    std::lock_guard lock(mutex_);
    stats_.commits += synced.ok();
    stats_.failed_commits += !synced.ok();
  }
  if (synced.ok()) {
    for (auto& [done, answer] : commit.replies) done(std::move(answer));
    if (on_enqueued_ && !commit.enqueued.empty()) on_enqueued_(std::move(commit.enqueued));
    if (on_logged_ && !commit.logged.empty()) on_logged_(std::move(commit.logged));
  } else {
    // This commit, and every one after it until the writer has read back what survived, may
    // rest on changes that were lost.
    {
      std::lock_guard lock(sync_mutex_);
      sync_fault_ = true;
      lost_cases_.insert(lost_cases_.end(), commit.touched.begin(), commit.touched.end());
    }
    for (auto& [done, answer] : commit.replies) done({synced, {}, {}});
  }
}

Status Broker::RecoverFromSyncFault() {
  std::vector<std::string> lost;
  {
    std::unique_lock lock(sync_mutex_);
    if (!sync_fault_) return Status::Ok();
    synced_.wait(lock, [&] { return commits_.empty() && !syncing_; });
    lost = lost_cases_;
  }
  BRIDGELINE_RETURN_IF_ERROR(store_->ReadyToWrite());
  spdlog::warn("reading back {} case(s) whose commits failed to sync", lost.size());
  Rollback(lost);
  std::lock_guard lock(sync_mutex_);
  lost_cases_.clear();
  sync_fault_ = false;
  return Status::Ok();
}

std::vector<std::string> Broker::TouchedCases(const std::vector<store::Mutation>& mutations) {
  std::vector<std::string> touched;
  for (const auto& mutation : mutations) {
    for (const auto& state : mutation.cases) touched.push_back(state.id());
  }
  return touched;
}

// A write failed, so the engine must forget what it applied: reload each touched case from
// the store, the only truth.
void Broker::Rollback(const std::vector<std::string>& case_ids) {
  std::set<std::string> touched(case_ids.begin(), case_ids.end());
  for (const auto& case_id : touched) {
    auto stored = store_->GetCase(case_id);
    if (!stored.ok()) {
      spdlog::error("rollback cannot read case {}: {}; it is dropped from memory until restart",
                    case_id, stored.status().ToString());
      engine_.Forget(case_id);
    } else if (stored->has_value()) {
      engine_.Restore(std::move(**stored));
    } else {
      engine_.Forget(case_id);
    }
  }
  engine_.SetNextCaseNumber(store_->next_case_number());
}

}  // namespace bridgeline::service
