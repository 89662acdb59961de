// Runs the backend conformance suite against the in-process memory backend.
// Each test runs twice: on the backend itself, and through its asynchronous calls
// (async_calls.h).
#include <memory>

#include "async_calls.h"
#include "backend_conformance.h"
#include "holdfast/memory_backend.h"

namespace holdfast::conformance {
namespace {

BackendFactory MemoryFactory() {
  return BackendFactory{.name = "memory", .make = [](std::shared_ptr<ManualClock> clock) {
                          return NewMemoryBackend(std::move(clock));
                        }};
}

INSTANTIATE_TEST_SUITE_P(Memory, BackendConformanceTest,
                         ::testing::Values(MemoryFactory(), ThroughAsyncCalls(MemoryFactory())),
                         FactoryName);

}  // namespace
}  // namespace holdfast::conformance
