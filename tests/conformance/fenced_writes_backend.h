// FencedWritesBackend: a test wrapper that turns every single unconditional write into the
// fenced write the DataStore layer sends (IfVersion on the latest version it reads first, or
// IfAbsent for a key without one), so the conformance suite's expectations also hold for the
// one-round-trip commit shape of the PostgreSQL backend (src/backend/postgres/pg_commit.h).
// Single-threaded tests only: between the read and the commit nobody else writes.
#ifndef HOLDFAST_TESTS_CONFORMANCE_FENCED_WRITES_BACKEND_H_
#define HOLDFAST_TESTS_CONFORMANCE_FENCED_WRITES_BACKEND_H_

#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "holdfast/backend.h"

namespace holdfast::conformance {

class FencedWritesBackend final : public BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;

  Result<std::vector<CommitResult>> Commit(std::span<const Mutation> mutations) override {
    if (mutations.size() != 1 || !std::holds_alternative<Unconditional>(mutations[0].condition)) {
      return target().Commit(mutations);
    }
    auto latest = target().Read(mutations[0].key);
    if (!latest) return Err(latest.error());
    Mutation fenced = mutations[0];
    if (*latest) {
      fenced.condition = IfVersion{(*latest)->version};
    } else {
      fenced.condition = IfAbsent{};
    }
    return target().Commit(std::span<const Mutation>(&fenced, 1));
  }
};

}  // namespace holdfast::conformance

#endif  // HOLDFAST_TESTS_CONFORMANCE_FENCED_WRITES_BACKEND_H_
