#include "scheduler.h"

#include <algorithm>
#include <utility>

namespace holdfast::simulation {
namespace {

// The simulated server a worker thread runs for; -1 on every other thread.
thread_local int tls_server = -1;

}  // namespace

Scheduler::Scheduler(std::shared_ptr<ManualClock> time, int servers) : time_(std::move(time)) {
  for (int i = 0; i < servers; ++i) slots_.push_back(std::make_unique<Slot>());
  threads_.reserve(slots_.size());
  for (int i = 0; i < servers; ++i) threads_.emplace_back([this, i] { Work(i); });
}

Scheduler::~Scheduler() { Shutdown(); }

void Scheduler::Work(int server) {
  tls_server = server;
  std::unique_lock<std::mutex> lock(mu_);
  Slot& slot = SlotOf(server);
  for (;;) {
    slot.wake.wait(lock, [&] { return slot.op != nullptr || shutdown_; });
    if (slot.op == nullptr) return;  // shut down
    std::function<void()> op = std::move(slot.op);
    slot.op = nullptr;
    lock.unlock();
    op();
    lock.lock();
    slot.state = WorkerState::kIdle;
    driver_cv_.notify_all();
  }
}

Grant Scheduler::ParkCall(int server, std::string_view call) {
  std::unique_lock<std::mutex> lock(mu_);
  Slot& slot = SlotOf(server);
  if (slot.crashed) return Grant::kCrashBefore;
  slot.state = WorkerState::kParked;
  slot.call = std::string(call);
  slot.go = false;
  driver_cv_.notify_all();
  slot.wake.wait(lock, [&] { return slot.go; });
  slot.go = false;
  return slot.grant;
}

void Scheduler::SleepFor(std::chrono::milliseconds d) {
  const int server = tls_server;
  if (server < 0) {
    time_->Advance(d);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  Slot& slot = SlotOf(server);
  if (slot.crashed) return;
  slot.state = WorkerState::kSleeping;
  slot.wake_at = time_->Now() + std::max(d, std::chrono::milliseconds(0));
  slot.go = false;
  driver_cv_.notify_all();
  slot.wake.wait(lock, [&] { return slot.go; });
  slot.go = false;
}

void Scheduler::Post(int server, std::function<void()> op) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = SlotOf(server);
  slot.op = std::move(op);
  slot.state = WorkerState::kRunning;
  slot.wake.notify_one();
}

bool Scheduler::QuiescentLocked() const {
  return std::none_of(slots_.begin(), slots_.end(), [](const std::unique_ptr<Slot>& s) {
    return s->state == WorkerState::kRunning;
  });
}

void Scheduler::WaitQuiescent() {
  std::unique_lock<std::mutex> lock(mu_);
  driver_cv_.wait(lock, [&] { return QuiescentLocked(); });
}

Scheduler::View Scheduler::Inspect(int server) {
  std::lock_guard<std::mutex> lock(mu_);
  const Slot& slot = SlotOf(server);
  return View{slot.state, slot.call, slot.wake_at};
}

void Scheduler::GrantCall(int server, Grant how) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = SlotOf(server);
  if (slot.state != WorkerState::kParked) return;
  slot.grant = how;
  slot.go = true;
  slot.state = WorkerState::kRunning;
  slot.wake.notify_one();
}

void Scheduler::Wake(int server) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = SlotOf(server);
  if (slot.state != WorkerState::kSleeping) return;
  if (!slot.crashed && slot.wake_at > time_->Now()) time_->Set(slot.wake_at);
  slot.go = true;
  slot.state = WorkerState::kRunning;
  slot.wake.notify_one();
}

void Scheduler::SetCrashed(int server, bool crashed) {
  std::lock_guard<std::mutex> lock(mu_);
  SlotOf(server).crashed = crashed;
}

void Scheduler::Shutdown() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (threads_.empty()) return;
    // Let whatever still runs fail fast to the end of its operation.
    for (;;) {
      driver_cv_.wait(lock, [&] { return QuiescentLocked(); });
      bool busy = false;
      for (auto& s : slots_) {
        s->crashed = true;
        if (s->state == WorkerState::kParked || s->state == WorkerState::kSleeping) {
          s->grant = Grant::kCrashBefore;
          s->go = true;
          s->state = WorkerState::kRunning;
          s->wake.notify_one();
          busy = true;
        }
      }
      if (!busy) break;
    }
    shutdown_ = true;
    for (auto& s : slots_) s->wake.notify_one();
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

template <typename F>
auto SchedulingBackend::Run(const std::string& call, bool write, F&& run) -> decltype(run()) {
  switch (scheduler_->ParkCall(server_, call)) {
    case Grant::kRun:
      return run();
    case Grant::kCrashBefore:
      return Err(UnavailableError("simulated crash before " + call));
    case Grant::kCrashAfter: {
      auto ignored = run();
      static_cast<void>(ignored);
      if (write) return Err(OutcomeUnknownError("simulated crash after " + call));
      return Err(UnavailableError("simulated crash after " + call));
    }
  }
  return run();
}

Result<Timestamp> SchedulingBackend::Now() {
  return Run("Now", false, [&] { return BackendWrapper::Now(); });
}

Result<std::optional<StoredVersion>> SchedulingBackend::Read(const EntryKey& key) {
  return Run("Read " + key.key, false, [&] { return BackendWrapper::Read(key); });
}

Result<std::optional<StoredVersion>> SchedulingBackend::ReadVersion(const EntryKey& key,
                                                                    std::int64_t version) {
  return Run("ReadVersion " + key.key, false,
             [&] { return BackendWrapper::ReadVersion(key, version); });
}

Result<std::vector<CommitResult>> SchedulingBackend::Commit(std::span<const Mutation> mutations) {
  std::string call = "Commit";
  for (const Mutation& m : mutations) call += " " + m.key.key;
  return Run(call, true, [&] { return BackendWrapper::Commit(mutations); });
}

Result<std::optional<std::int64_t>> SchedulingBackend::FindOperation(const EntryKey& key,
                                                                     std::string_view op_id) {
  return Run("FindOperation " + key.key, false,
             [&] { return BackendWrapper::FindOperation(key, op_id); });
}

Result<std::vector<KeyListing>> SchedulingBackend::ListKeys(const ListKeysQuery& query) {
  return Run("ListKeys", false, [&] { return BackendWrapper::ListKeys(query); });
}

Result<std::vector<StoredVersion>> SchedulingBackend::ListVersions(const ListVersionsQuery& query) {
  return Run("ListVersions " + query.key.key, false,
             [&] { return BackendWrapper::ListVersions(query); });
}

}  // namespace holdfast::simulation
