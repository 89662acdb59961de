// The in-process memory backend: a real, complete Backend kept in RAM. Unit tests, the offline
// mock store and development use it. Multi-key commits are atomic. Nothing survives the process.
// Thread safety: all methods may be called concurrently.
#ifndef HOLDFAST_MEMORY_BACKEND_H_
#define HOLDFAST_MEMORY_BACKEND_H_

#include <memory>

#include "holdfast/backend.h"
#include "holdfast/clock.h"

namespace holdfast {

// `clock` is the backend's clock (lease and version times). Default: the system clock.
std::shared_ptr<Backend> NewMemoryBackend(std::shared_ptr<Clock> clock = SystemClock());

}  // namespace holdfast

#endif  // HOLDFAST_MEMORY_BACKEND_H_
