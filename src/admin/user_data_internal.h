// Shared by the user data tools' files. Internal header.
#ifndef HOLDFAST_SRC_ADMIN_USER_DATA_INTERNAL_H_
#define HOLDFAST_SRC_ADMIN_USER_DATA_INTERNAL_H_

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "holdfast/user_data.h"

namespace holdfast::admin_internal {

// Calls options.on_progress, if set.
void Report(const UserDataOptions& options, std::string phase, std::int64_t done,
            std::int64_t total);

// A ProfileStore record ({"data": .., "meta": {"format": n, ..}}), by its shape.
bool IsProfileRecord(const boost::json::value& value);

}  // namespace holdfast::admin_internal

#endif  // HOLDFAST_SRC_ADMIN_USER_DATA_INTERNAL_H_
