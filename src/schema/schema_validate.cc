// Schema::Validate / ValidateAll (see holdfast/schema.h): one walk over the document guided by
// the schema, reporting violations in document order. The walk recurses along the schema, whose
// depth is fixed by the program, never along arbitrary document nesting: a kAny node is not
// entered.
#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "holdfast/json.h"
#include "holdfast/schema.h"
#include "json_error.h"
#include "schema_internal.h"
#include "utf8.h"

namespace holdfast {

namespace bj = boost::json;

namespace internal {

const char* SchemaTypeName(SchemaType type) {
  switch (type) {
    case SchemaType::kAny:
      return "any";
    case SchemaType::kObject:
      return "object";
    case SchemaType::kArray:
      return "array";
    case SchemaType::kString:
      return "string";
    case SchemaType::kInteger:
      return "integer";
    case SchemaType::kNumber:
      return "number";
    case SchemaType::kBoolean:
      return "boolean";
    case SchemaType::kNull:
      return "null";
  }
  return "unknown";
}

namespace {

template <typename A, typename B>
int Sign(A a, B b) {
  return (a > b) - (a < b);
}

// `d` (finite) against an integer, exactly.
int CompareDoubleToInteger(double d, const bj::value& n) {
  constexpr double kTwo63 = 9223372036854775808.0;
  constexpr double kTwo64 = 18446744073709551616.0;
  const double whole = std::trunc(d);
  const int fraction = Sign(d, whole);  // breaks a tie on the whole part
  if (n.is_int64()) {
    if (d < -kTwo63) return -1;
    if (d >= kTwo63) return 1;
    const int by_whole = Sign(static_cast<std::int64_t>(whole), n.get_int64());
    return by_whole != 0 ? by_whole : fraction;
  }
  if (d < 0) return -1;
  if (d >= kTwo64) return 1;
  const int by_whole = Sign(static_cast<std::uint64_t>(whole), n.get_uint64());
  return by_whole != 0 ? by_whole : fraction;
}

}  // namespace

int CompareNumbers(const bj::value& a, const bj::value& b) {
  if (a.is_double() && b.is_double()) return Sign(a.get_double(), b.get_double());
  if (a.is_double()) return CompareDoubleToInteger(a.get_double(), b);
  if (b.is_double()) return -CompareDoubleToInteger(b.get_double(), a);
  if (a.is_int64() && b.is_int64()) return Sign(a.get_int64(), b.get_int64());
  if (a.is_uint64() && b.is_uint64()) return Sign(a.get_uint64(), b.get_uint64());
  if (a.is_int64()) {  // b is uint64
    return a.get_int64() < 0 ? -1 : Sign(static_cast<std::uint64_t>(a.get_int64()), b.get_uint64());
  }
  return b.get_int64() < 0 ? 1 : Sign(a.get_uint64(), static_cast<std::uint64_t>(b.get_int64()));
}

}  // namespace internal

namespace {

constexpr std::size_t kMaxMessagePathBytes = 256;  // longer paths are cut in messages

bool IsFiniteNumber(const bj::value& v) {
  return v.is_int64() || v.is_uint64() || (v.is_double() && std::isfinite(v.get_double()));
}

bool HasType(SchemaType type, const bj::value& v) {
  switch (type) {
    case SchemaType::kAny:
      return true;
    case SchemaType::kObject:
      return v.is_object();
    case SchemaType::kArray:
      return v.is_array();
    case SchemaType::kString:
      return v.is_string();
    case SchemaType::kInteger:
      return v.is_int64() || v.is_uint64() ||
             (IsFiniteNumber(v) && v.get_double() == std::trunc(v.get_double()));
    case SchemaType::kNumber:
      return IsFiniteNumber(v);
    case SchemaType::kBoolean:
      return v.is_bool();
    case SchemaType::kNull:
      return v.is_null();
  }
  return false;
}

const char* WithArticle(SchemaType type) {
  switch (type) {
    case SchemaType::kObject:
      return "an object";
    case SchemaType::kArray:
      return "an array";
    case SchemaType::kString:
      return "a string";
    case SchemaType::kInteger:
      return "an integer";
    case SchemaType::kNumber:
      return "a number";
    case SchemaType::kBoolean:
      return "a boolean";
    case SchemaType::kNull:
      return "null";
    case SchemaType::kAny:
      break;
  }
  return "any value";
}

// A short text of the value for messages and ErrorDetail::actual: scalars as JSON (strings cut to
// 32 code points), containers by kind only, so no player data is dumped.
std::string Actual(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::object:
      return "an object";
    case bj::kind::array:
      return "an array";
    case bj::kind::string: {
      const bj::string& s = v.get_string();
      return internal::QuotedExcerpt(std::string_view(s.data(), s.size()));
    }
    case bj::kind::double_:
      if (!std::isfinite(v.get_double())) {
        return std::isnan(v.get_double()) ? "NaN" : (v.get_double() > 0 ? "Infinity" : "-Infinity");
      }
      return SerializeJson(v);
    default:
      return SerializeJson(v);
  }
}

bool Equal(const bj::value& a, const bj::value& b) {
  if (IsFiniteNumber(a) && IsFiniteNumber(b)) return internal::CompareNumbers(a, b) == 0;
  return a == b;
}

}  // namespace

class Schema::Walker {
 public:
  explicit Walker(std::size_t max_errors) : max_errors_(max_errors) {}

  bool Full() const { return errors_.size() >= max_errors_; }
  std::vector<Status> TakeErrors() { return std::move(errors_); }

  void Walk(const Schema& schema, const bj::value& v) {
    if (v.is_null() && schema.nullable_) return;
    if (!HasType(schema.type_, v)) {
      Report(internal::SchemaTypeName(schema.type_),
             Actual(v) + " is not " + WithArticle(schema.type_), "", Actual(v));
      return;
    }
    if (schema.one_of_ && !IsOneOf(*schema.one_of_, v)) {
      std::string allowed =
          SerializeJson(bj::array(schema.one_of_->begin(), schema.one_of_->end()));
      if (allowed.size() > 200) allowed = allowed.substr(0, 197) + "...";
      Report("enum", Actual(v) + " is not one of the allowed values " + allowed, allowed,
             Actual(v));
      return;
    }
    switch (schema.type_) {
      case SchemaType::kInteger:
      case SchemaType::kNumber:
        CheckRange(schema, v);
        break;
      case SchemaType::kString:
        CheckLength(schema, v.get_string());
        break;
      case SchemaType::kArray:
        WalkArray(schema, v.get_array());
        break;
      case SchemaType::kObject:
        WalkObject(schema, v.get_object());
        break;
      default:
        break;
    }
  }

 private:
  static bool IsOneOf(const std::vector<bj::value>& allowed, const bj::value& v) {
    for (const bj::value& candidate : allowed) {
      if (Equal(candidate, v)) return true;
    }
    return false;
  }

  void CheckRange(const Schema& schema, const bj::value& v) {
    if (schema.minimum_ && internal::CompareNumbers(v, *schema.minimum_) < 0) {
      const std::string limit = SerializeJson(*schema.minimum_);
      Report("minimum", Actual(v) + " is below the minimum " + limit, limit, Actual(v));
    } else if (schema.maximum_ && internal::CompareNumbers(v, *schema.maximum_) > 0) {
      const std::string limit = SerializeJson(*schema.maximum_);
      Report("maximum", Actual(v) + " is above the maximum " + limit, limit, Actual(v));
    }
  }

  void CheckLength(const Schema& schema, const bj::string& s) {
    if (!schema.min_length_ && !schema.max_length_) return;
    const std::string_view text(s.data(), s.size());
    const std::size_t length = internal::ScanUtf8(text).code_points;
    if (schema.min_length_ && length < *schema.min_length_) {
      const std::string limit = std::to_string(*schema.min_length_);
      Report("min_length",
             internal::QuotedExcerpt(text) + " has " + std::to_string(length) +
                 " code points, fewer than the minimum length " + limit,
             limit, std::to_string(length));
    } else if (schema.max_length_ && length > *schema.max_length_) {
      const std::string limit = std::to_string(*schema.max_length_);
      Report("max_length",
             internal::QuotedExcerpt(text) + " has " + std::to_string(length) +
                 " code points, more than the maximum length " + limit,
             limit, std::to_string(length));
    }
  }

  void WalkArray(const Schema& schema, const bj::array& array) {
    if (schema.min_items_ && array.size() < *schema.min_items_) {
      const std::string count = std::to_string(array.size());
      const std::string limit = std::to_string(*schema.min_items_);
      Report("min_items", "an array of " + count + " items, fewer than the minimum " + limit, limit,
             count);
      if (Full()) return;
    } else if (schema.max_items_ && array.size() > *schema.max_items_) {
      const std::string count = std::to_string(array.size());
      const std::string limit = std::to_string(*schema.max_items_);
      Report("max_items", "an array of " + count + " items, more than the maximum " + limit, limit,
             count);
      if (Full()) return;
    }
    if (!schema.element_) return;
    for (std::size_t i = 0; i < array.size() && !Full(); ++i) {
      path_.push_back(Segment{{}, i, true});
      Walk(*schema.element_, array[i]);
      path_.pop_back();
    }
  }

  void WalkObject(const Schema& schema, const bj::object& object) {
    for (const auto& member : object) {
      if (Full()) return;
      const std::string_view key(member.key().data(), member.key().size());
      const Schema* field = nullptr;
      for (const auto& decl : schema.fields_) {
        if (!decl->placeholder && decl->name == key) {
          field = &decl->schema;
          break;
        }
      }
      path_.push_back(Segment{key, 0, false});
      if (field == nullptr) field = schema.element_.get();  // a map's values
      if (field != nullptr) {
        Walk(*field, member.value());
      } else if (schema.refuse_unknown_) {
        Report("unknown_field", "the field is not declared and this object refuses unknown fields",
               "", internal::QuotedExcerpt(key));
      }
      path_.pop_back();
    }
    for (const auto& decl : schema.fields_) {
      if (Full()) return;
      if (decl->placeholder || !decl->required || object.contains(decl->name)) continue;
      path_.push_back(Segment{decl->name, 0, false});
      Report("required", "the required field is missing", "", "");
      path_.pop_back();
    }
  }

  // The JSON Pointer of the node being walked.
  std::string Path() const {
    std::string path;
    for (const Segment& segment : path_) {
      if (segment.is_index) {
        internal::AppendPointerIndex(&path, segment.index);
      } else {
        internal::AppendPointerSegment(&path, segment.key);
      }
    }
    return path;
  }

  void Report(std::string rule, const std::string& cause, std::string limit, std::string actual) {
    std::string path = Path();
    std::string where = path.empty() ? std::string("(root)") : path;
    if (where.size() > kMaxMessagePathBytes) {
      where = "..." + where.substr(where.size() - kMaxMessagePathBytes);
    }
    errors_.push_back(
        InvalidArgumentError(where + ": " + cause, ErrorDetail{.roblox_code = 0,
                                                               .rule = std::move(rule),
                                                               .path = std::move(path),
                                                               .limit = std::move(limit),
                                                               .actual = std::move(actual)}));
  }

  // One step of the path: an object member's key or an array index.
  // The pointer text is built only when a violation is reported: escaping and cutting every key
  // on the way down cost more than the checks themselves on a valid document.
  struct Segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };

  std::size_t max_errors_;
  std::vector<Segment> path_;
  std::vector<Status> errors_;
};

std::vector<Status> Schema::ValidateAll(const bj::value& value, std::size_t max_errors) const {
  Status definition = CheckDefinition();
  if (!definition.ok()) return {std::move(definition)};
  if (max_errors == 0) return {};
  Walker walker(max_errors);
  walker.Walk(*this, value);
  return walker.TakeErrors();
}

Status Schema::Validate(const bj::value& value) const {
  std::vector<Status> errors = ValidateAll(value, 1);
  return errors.empty() ? Status::Ok() : std::move(errors.front());
}

}  // namespace holdfast
