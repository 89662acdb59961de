// Runs the backend conformance suite against the PostgreSQL backend with every single write
// fenced on the version read just before it, as the DataStore layer writes: those commits take
// the one-round-trip shape (pg_commit.h), the rest of the suite the two-round-trip one. Each
// test runs twice: on the blocking calls, and on the asynchronous ones (async_calls.h).
#include <memory>

#include "async_calls.h"
#include "backend_conformance.h"
#include "fenced_writes_backend.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast::conformance {
namespace {

BackendFactory PostgresFencedFactory() {
  return BackendFactory{.name = "postgres_fenced",
                        .make = [](std::shared_ptr<ManualClock> clock) -> std::shared_ptr<Backend> {
                          auto backend = testing::OpenSharedTestPostgres(
                              std::move(clock), /*one_round_trip_commits=*/true);
                          if (backend == nullptr) return nullptr;
                          return std::make_shared<FencedWritesBackend>(std::move(backend));
                        }};
}

// Fenced writes reaching AsyncCommit: FencedWritesBackend over AsyncCallsBackend over PostgreSQL.
BackendFactory PostgresFencedAsyncFactory() {
  return BackendFactory{.name = "postgres_fenced_async",
                        .make = [](std::shared_ptr<ManualClock> clock) -> std::shared_ptr<Backend> {
                          auto backend = testing::OpenSharedTestPostgres(
                              std::move(clock), /*one_round_trip_commits=*/true);
                          if (backend == nullptr) return nullptr;
                          return std::make_shared<FencedWritesBackend>(
                              std::make_shared<AsyncCallsBackend>(std::move(backend)));
                        }};
}

INSTANTIATE_TEST_SUITE_P(PostgresFenced, BackendConformanceTest,
                         ::testing::Values(PostgresFencedFactory(), PostgresFencedAsyncFactory()),
                         FactoryName);

}  // namespace
}  // namespace holdfast::conformance
