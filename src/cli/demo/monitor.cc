#include "monitor.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "holdfast/clock.h"

namespace holdfast::demo {

Monitor::Monitor(std::shared_ptr<DataStoreService> service, std::string store_name,
                 std::vector<std::string> keys, std::chrono::milliseconds interval)
    : service_(std::move(service)),
      store_name_(std::move(store_name)),
      keys_(std::move(keys)),
      interval_(interval) {}

Monitor::~Monitor() { Stop(); }

void Monitor::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void Monitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<Violation> Monitor::TakeViolations() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(violations_, {});
}

void Monitor::Loop() {
  auto store = service_->GetDataStore(store_name_);
  if (!store) return;
  for (;;) {
    for (const std::string& key : keys_) {
      auto record = ReadStoredRecord(*store, key);
      if (!record || !record->present || !record->error.empty()) continue;
      Sample s;
      s.load_count = record->load_count;
      s.epoch = record->session ? record->session->epoch : 0;
      s.n = record->data.n;
      s.writer_epoch = record->data.writer_epoch;
      s.ops = record->data.ops;
      s.line = record->Describe(ToUnixMillis(SystemClock()->Now()));
      if (auto it = last_.find(key); it != last_.end()) Compare(key, it->second, s);
      last_[key] = std::move(s);
    }
    samples_.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock, interval_, [this] { return stop_; })) return;
  }
}

void Monitor::Compare(const std::string& key, const Sample& before, const Sample& after) {
  std::vector<Violation> found;
  auto add = [&](std::string invariant, std::string what) {
    found.push_back(Violation{
        std::move(invariant),
        key + ": " + what + "\n      before: " + before.line + "\n      after:  " + after.line,
        {key},
        {}});
  };
  if (after.load_count < before.load_count) add("I1", "load_count went back");
  if (after.epoch != 0 && before.epoch != 0 && after.epoch < before.epoch) {
    add("I1", "the session epoch went back");
  }
  if (after.epoch > after.load_count) add("I1", "the session epoch exceeds load_count");
  if (after.writer_epoch < before.writer_epoch) {
    add("I1", "data written by an older session (epoch " + std::to_string(after.writer_epoch) +
                  ") after a newer one (epoch " + std::to_string(before.writer_epoch) + ")");
  }
  if (after.n < before.n) {
    add("I4", "the op chain rolled back from " + std::to_string(before.n) + " to " +
                  std::to_string(after.n) + " ops");
  } else {
    // Positions [n - size, n) are in the list; the overlap must agree (no fork).
    const std::int64_t before_first = before.n - static_cast<std::int64_t>(before.ops.size());
    const std::int64_t after_first = after.n - static_cast<std::int64_t>(after.ops.size());
    for (std::int64_t pos = std::max(before_first, after_first); pos < before.n; ++pos) {
      const auto& a = before.ops[static_cast<std::size_t>(pos - before_first)];
      const auto& b = after.ops[static_cast<std::size_t>(pos - after_first)];
      if (a != b) {
        add("I4",
            "the op chain forked at position " + std::to_string(pos) + ": " + a + " became " + b);
        break;
      }
    }
  }
  if (found.empty()) return;
  // The offending ops: those in one sample's list and not the other's.
  const std::set<std::string> had(before.ops.begin(), before.ops.end());
  const std::set<std::string> has(after.ops.begin(), after.ops.end());
  std::set<std::string> changed;
  std::set_symmetric_difference(had.begin(), had.end(), has.begin(), has.end(),
                                std::inserter(changed, changed.end()));
  for (auto& v : found) v.ops = changed;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& v : found) violations_.push_back(std::move(v));
}

}  // namespace holdfast::demo
