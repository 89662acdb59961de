// Opening a backend from a URI, the one place that knows every engine's scheme:
//   sqlite:PATH          the embedded store (sqlite:./holdfast.db); "?unsafe=1" relaxes fsync
//   memory:              a fresh in-process store
//   postgres://user@host:port/db?schema=S&pool_size=N&async_pool_size=N&request_timeout_ms=T
//       &statement_timeout_ms=T
//                        PostgreSQL (also postgresql://); other parameters go to libpq as they are
// An unknown scheme or a malformed URI is kInvalidArgument naming the URI.
#ifndef HOLDFAST_STORE_URI_H_
#define HOLDFAST_STORE_URI_H_

#include <memory>
#include <string_view>

#include "holdfast/backend.h"
#include "holdfast/status.h"

namespace holdfast {

inline constexpr std::string_view kDefaultStoreUri = "sqlite:holdfast.db";

Result<std::shared_ptr<Backend>> OpenBackend(std::string_view uri);

}  // namespace holdfast

#endif  // HOLDFAST_STORE_URI_H_
