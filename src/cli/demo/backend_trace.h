// TracingBackend: a BackendWrapper that logs every failed Commit and every FindOperation (the
// read-back of an unknown outcome) to stderr with a steady timestamp, for diagnosing a failed
// duplication run. The game server uses it when HOLDFAST_DUP_TRACE_COMMITS=1.
// Thread safety: as the wrapped backend's; each line is written with one fprintf.
#ifndef HOLDFAST_CLI_DEMO_BACKEND_TRACE_H_
#define HOLDFAST_CLI_DEMO_BACKEND_TRACE_H_

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "holdfast/backend.h"

namespace holdfast::demo {

class TracingBackend : public BackendWrapper {
 public:
  TracingBackend(std::shared_ptr<Backend> target, std::string name)
      : BackendWrapper(std::move(target)), name_(std::move(name)) {}

  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    const double start = Millis();
    auto result = BackendWrapper::Commit(mutations);
    if (!result && !mutations.empty()) {
      std::string keys;
      for (const Mutation& m : mutations) keys += m.key.key + "@" + m.op_id + " ";
      std::fprintf(stderr, "[trace %s %.1f..%.1f] commit %sfailed: %s\n", name_.c_str(), start,
                   Millis(), keys.c_str(), result.error().ToString().c_str());
    }
    return result;
  }

  Result<std::optional<std::int64_t>> FindOperation(const EntryKey& key,
                                                    std::string_view op_id) override {
    const double start = Millis();
    auto result = BackendWrapper::FindOperation(key, op_id);
    std::fprintf(stderr, "[trace %s %.1f..%.1f] find %s@%.*s: %s\n", name_.c_str(), start, Millis(),
                 key.key.c_str(), static_cast<int>(op_id.size()), op_id.data(),
                 !result   ? result.error().ToString().c_str()
                 : *result ? ("version " + std::to_string(**result)).c_str()
                           : "not found");
    return result;
  }

 private:
  static double Millis() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::string name_;
};

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_BACKEND_TRACE_H_
