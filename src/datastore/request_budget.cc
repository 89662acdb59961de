#include "holdfast/request_budget.h"

#include <algorithm>
#include <cmath>

#include "holdfast/limits.h"

namespace holdfast {
namespace {

std::size_t Index(RequestType type) { return static_cast<std::size_t>(type); }

// Roblox's throttle error number for a full queue, by operation.
int ThrottleCode(RequestType type, std::string_view operation) {
  if (operation == "increment") return kRobloxIncrementThrottle;
  if (operation == "remove") return kRobloxRemoveThrottle;
  switch (type) {
    case RequestType::kGet:
    case RequestType::kGetVersion:
    case RequestType::kList:
      return kRobloxGetThrottle;
    case RequestType::kSetIncrement:
    case RequestType::kSetIncrementSorted:
      return kRobloxSetThrottle;
    case RequestType::kUpdate:
      return kRobloxUpdateThrottle;
    case RequestType::kGetSorted:
      return kRobloxGetSortedThrottle;
  }
  return 0;
}

Status QueueFull(RequestType type, std::string_view operation, std::size_t limit,
                 std::size_t waiting) {
  return ResourceExhaustedError(
      std::string(operation) + " request dropped: the " + std::string(RequestTypeName(type)) +
          " budget is spent and its throttle queue is full (" + std::to_string(limit) + " waiting)",
      ErrorDetail{ThrottleCode(type, operation), "throttle_queue", "", std::to_string(limit),
                  std::to_string(waiting)});
}

}  // namespace

std::string_view RequestTypeName(RequestType type) {
  switch (type) {
    case RequestType::kGet:
      return "get";
    case RequestType::kSetIncrement:
      return "set_increment";
    case RequestType::kUpdate:
      return "update";
    case RequestType::kGetSorted:
      return "get_sorted";
    case RequestType::kSetIncrementSorted:
      return "set_increment_sorted";
    case RequestType::kGetVersion:
      return "get_version";
    case RequestType::kList:
      return "list";
  }
  return "unknown";
}

RequestBudget::RequestBudget(BudgetOptions options, std::shared_ptr<Clock> clock)
    : options_(options), clock_(std::move(clock)) {
  const Timestamp now = clock_->Now();
  for (std::size_t i = 0; i < kRequestTypeCount; ++i) {
    buckets_[i].tokens = RatePerMinute(static_cast<RequestType>(i));  // one minute's worth
    buckets_[i].refilled = now;
  }
}

double RequestBudget::RatePerMinute(RequestType type) const {
  const BudgetRate& rate = options_.rates[Index(type)];
  return rate.base + rate.per_player * std::max(0, options_.players);
}

void RequestBudget::Refill(Bucket& bucket, RequestType type, Timestamp now) {
  if (now <= bucket.refilled) return;
  const double minutes =
      std::chrono::duration<double, std::ratio<60>>(now - bucket.refilled).count();
  const double cap = RatePerMinute(type) * options_.max_minutes;
  bucket.tokens = std::min(cap, bucket.tokens + minutes * RatePerMinute(type));
  bucket.refilled = now;
}

std::int64_t RequestBudget::Remaining(RequestType type) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& bucket = buckets_[Index(type)];
  Refill(bucket, type, clock_->Now());
  return static_cast<std::int64_t>(std::floor(bucket.tokens));
}

std::size_t RequestBudget::Waiting(RequestType type) {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_[Index(type)].waiting;
}

void RequestBudget::SetPlayers(int players) {
  std::lock_guard<std::mutex> lock(mu_);
  const Timestamp now = clock_->Now();
  for (std::size_t i = 0; i < kRequestTypeCount; ++i) {
    Refill(buckets_[i], static_cast<RequestType>(i), now);
  }
  options_.players = players;
  turn_.notify_all();
}

Status RequestBudget::Acquire(RequestType type, std::string_view operation) {
  if (!options_.enabled) return Status::Ok();
  std::unique_lock<std::mutex> lock(mu_);
  Bucket& bucket = buckets_[Index(type)];
  Refill(bucket, type, clock_->Now());
  if (bucket.waiting == 0 && bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return Status::Ok();
  }
  if (bucket.waiting >= options_.queue_limit) {
    return QueueFull(type, operation, options_.queue_limit, bucket.waiting);
  }
  const std::uint64_t ticket = bucket.next_ticket++;
  ++bucket.waiting;
  for (;;) {
    if (bucket.serving != ticket) {
      turn_.wait(lock);  // FIFO: wait until every earlier request of this type is served
      continue;
    }
    Refill(bucket, type, clock_->Now());
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      ++bucket.serving;
      --bucket.waiting;
      turn_.notify_all();
      return Status::Ok();
    }
    const auto wait = UntilNextUnit(bucket, type);
    lock.unlock();
    clock_->SleepFor(wait);
    lock.lock();
  }
}

std::chrono::milliseconds RequestBudget::UntilNextUnit(const Bucket& bucket,
                                                       RequestType type) const {
  const double rate = std::max(RatePerMinute(type), 1e-9);
  const auto wait = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::ceil((1 - bucket.tokens) / rate * 60'000.0)));
  return std::max(wait, std::chrono::milliseconds(1));
}

Result<std::chrono::milliseconds> RequestBudget::TryAcquire(RequestType type,
                                                            std::string_view operation,
                                                            bool& queued) {
  if (!options_.enabled) return std::chrono::milliseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& bucket = buckets_[Index(type)];
  Refill(bucket, type, clock_->Now());
  const bool blocking_waiters = bucket.serving != bucket.next_ticket;
  if (!blocking_waiters && bucket.tokens >= 1 && (queued || bucket.waiting == 0)) {
    bucket.tokens -= 1;
    if (queued) {
      queued = false;
      --bucket.waiting;
      turn_.notify_all();
    }
    return std::chrono::milliseconds(0);
  }
  if (!queued) {
    if (bucket.waiting >= options_.queue_limit) {
      return Err(QueueFull(type, operation, options_.queue_limit, bucket.waiting));
    }
    ++bucket.waiting;
    queued = true;
  }
  return UntilNextUnit(bucket, type);
}

}  // namespace holdfast
