// Internal helpers shared by the schema builders (schema.cc) and validation (schema_validate.cc).
// Thread safety: pure functions.
#ifndef HOLDFAST_SRC_SCHEMA_SCHEMA_INTERNAL_H_
#define HOLDFAST_SRC_SCHEMA_SCHEMA_INTERNAL_H_

#include <boost/json/value.hpp>

#include "holdfast/schema.h"

namespace holdfast::internal {

// "object", "array", "string", "integer", "number", "boolean", "null" or "any"; also the rule
// name of a type mismatch.
const char* SchemaTypeName(SchemaType type);

// Exact three-way comparison of two finite JSON numbers (int64, uint64 or double, in any mix):
// negative, zero or positive. No rounding: 9007199254740993 > 9007199254740992.0.
int CompareNumbers(const boost::json::value& a, const boost::json::value& b);

}  // namespace holdfast::internal

#endif  // HOLDFAST_SRC_SCHEMA_SCHEMA_INTERNAL_H_
