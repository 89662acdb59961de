// Runs the backend conformance suite against the PostgreSQL backend: each test gets a fresh
// schema on the test run's throw-away cluster, and the suite's ManualClock stands in for the
// database clock (PostgresOptions::clock).
// Each test runs twice: on the backend itself, and through its asynchronous calls
// (async_calls.h). Every commit takes the two-round-trip shape here (one_round_trip_commits
// off); postgres_fenced_instantiation_test.cc runs the suite's writes in the one-round-trip one.
#include <memory>

#include "async_calls.h"
#include "backend_conformance.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast::conformance {
namespace {

BackendFactory PostgresFactory() {
  return BackendFactory{.name = "postgres",
                        .make = [](std::shared_ptr<ManualClock> clock) -> std::shared_ptr<Backend> {
                          return testing::OpenSharedTestPostgres(std::move(clock),
                                                                 /*one_round_trip_commits=*/false);
                        }};
}

INSTANTIATE_TEST_SUITE_P(Postgres, BackendConformanceTest,
                         ::testing::Values(PostgresFactory(), ThroughAsyncCalls(PostgresFactory())),
                         FactoryName);

}  // namespace
}  // namespace holdfast::conformance
