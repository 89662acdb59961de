// ProfileEdit's operations, filter and JSON form (include/holdfast/profile_edit.h). Boost.JSON
// 1.81 has find_pointer but no set_at_pointer: a write resolves the parent with find_pointer and
// applies the last reference token itself.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <limits>
#include <set>

#include "holdfast/json.h"
#include "holdfast/profile_edit.h"

namespace holdfast {
namespace {

namespace json = boost::json;

Status Invalid(std::string_view rule, std::string_view path, std::string message,
               std::string actual = "") {
  return InvalidArgumentError("profile edit: " + message,
                              ErrorDetail{0, std::string(rule), std::string(path), "", actual});
}

std::string_view TypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a fractional number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// RFC 6901 syntax: "" or "/"-separated tokens where '~' is only followed by '0' or '1'.
Status CheckPointer(std::string_view pointer) {
  if (pointer.empty()) return Status::Ok();
  if (pointer.front() != '/') {
    return Invalid(
        "edit_pointer", pointer,
        "path '" + std::string(pointer) + "' is not a JSON Pointer (must start with '/')",
        std::string(pointer));
  }
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' &&
        (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) {
      return Invalid("edit_pointer", pointer,
                     "path '" + std::string(pointer) + "' has a '~' not followed by 0 or 1",
                     std::string(pointer));
    }
  }
  return Status::Ok();
}

// The parent pointer and the unescaped last reference token of a non-empty pointer.
std::pair<std::string_view, std::string> SplitLast(std::string_view pointer) {
  const std::size_t slash = pointer.rfind('/');
  std::string token;
  for (std::size_t i = slash + 1; i < pointer.size(); ++i) {
    if (pointer[i] == '~') {
      token.push_back(pointer[++i] == '0' ? '~' : '/');
    } else {
      token.push_back(pointer[i]);
    }
  }
  return {pointer.substr(0, slash), std::move(token)};
}

// An array index token: "0" or digits without a leading zero. nullopt otherwise.
std::optional<std::size_t> ArrayIndex(std::string_view token) {
  if (token.empty() || (token.size() > 1 && token.front() == '0')) return std::nullopt;
  std::size_t index = 0;
  auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (error != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return index;
}

json::value* FindParent(json::value& data, std::string_view parent) {
  if (parent.empty()) return &data;
  boost::system::error_code ignored;
  return data.find_pointer(parent, ignored);
}

// Where the last token of `path` lives in `parent`: the existing value, or null when absent.
json::value* Child(json::value& parent, const std::string& token) {
  if (auto* object = parent.if_object()) return object->if_contains(token);
  if (auto* array = parent.if_array()) {
    auto index = ArrayIndex(token);
    return index && *index < array->size() ? &(*array)[*index] : nullptr;
  }
  return nullptr;
}

Status MissingParent(std::string_view path, std::string_view parent) {
  return Invalid(
      "edit_apply", path,
      "path '" + std::string(path) + "': the parent '" + std::string(parent) + "' does not exist");
}

Status Put(json::value& data, const std::string& path, const json::value& value,
           std::optional<json::value>& before) {
  if (path.empty()) {
    before = data;
    data = value;
    return Status::Ok();
  }
  auto [parent_path, token] = SplitLast(path);
  json::value* parent = FindParent(data, parent_path);
  if (parent == nullptr) return MissingParent(path, parent_path);
  if (auto* object = parent->if_object()) {
    if (auto* existing = object->if_contains(token)) before = *existing;
    (*object)[token] = value;
    return Status::Ok();
  }
  if (auto* array = parent->if_array()) {
    auto index = token == "-" ? std::optional<std::size_t>(array->size()) : ArrayIndex(token);
    if (!index || *index > array->size()) {
      return Invalid("edit_apply", path,
                     "path '" + path + "': index '" + token + "' is outside 0.." +
                         std::to_string(array->size()) + " of the array",
                     token);
    }
    if (*index == array->size()) {
      array->push_back(value);
    } else {
      before = (*array)[*index];
      (*array)[*index] = value;
    }
    return Status::Ok();
  }
  return Invalid("edit_apply", path,
                 "path '" + path + "': the parent is " + std::string(TypeName(*parent)) +
                     ", not an object or array",
                 std::string(TypeName(*parent)));
}

// Applies one operation; fills `change` (before/after) when it altered the data.
Status ApplyOne(const EditOperation& op, json::value& data, std::optional<EditChange>& change) {
  std::optional<json::value> before;
  std::optional<json::value> after;
  switch (op.kind) {
    case EditOpKind::kSet: {
      HOLDFAST_RETURN_IF_ERROR(Put(data, op.path, op.value, before));
      after = op.value;
      break;
    }
    case EditOpKind::kRemove: {
      auto [parent_path, token] = SplitLast(op.path);
      json::value* parent = FindParent(data, parent_path);
      json::value* target = parent ? Child(*parent, token) : nullptr;
      if (target == nullptr) return Status::Ok();  // nothing to wipe
      before = *target;
      if (auto* object = parent->if_object()) {
        object->erase(token);
      } else {
        auto& array = parent->as_array();
        array.erase(array.begin() + static_cast<std::ptrdiff_t>(*ArrayIndex(token)));
      }
      break;
    }
    case EditOpKind::kIncrement: {
      std::int64_t current = 0;
      json::value* target = nullptr;
      if (op.path.empty()) {
        target = &data;
      } else {
        auto [parent_path, token] = SplitLast(op.path);
        json::value* parent = FindParent(data, parent_path);
        if (parent == nullptr) return MissingParent(op.path, parent_path);
        target = Child(*parent, token);
      }
      if (target != nullptr) {
        before = *target;
        if (const auto* i = target->if_int64()) {
          current = *i;
        } else if (const auto* u = target->if_uint64();
                   u &&
                   *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          current = static_cast<std::int64_t>(*u);
        } else {
          return Invalid("edit_apply", op.path,
                         "increment '" + op.path + "': the value there is " +
                             std::string(TypeName(*target)) + ", not an integer",
                         std::string(TypeName(*target)));
        }
      }
      std::int64_t sum = 0;
      if (__builtin_add_overflow(current, op.delta, &sum)) {
        return Invalid("edit_apply", op.path,
                       "increment '" + op.path + "' by " + std::to_string(op.delta) +
                           " leaves the int64 range",
                       std::to_string(op.delta));
      }
      if (target != nullptr) {
        *target = sum;
      } else {
        std::optional<json::value> absent;
        HOLDFAST_RETURN_IF_ERROR(Put(data, op.path, json::value(sum), absent));
      }
      after = json::value(sum);
      break;
    }
  }
  if (before != after) change = EditChange{op.path, std::move(before), std::move(after)};
  return Status::Ok();
}

Status Syntax(std::string message, std::string actual = "") {
  return Invalid("edit_syntax", "", std::move(message), std::move(actual));
}

Status OnlyMembers(const json::object& object, std::string_view where,
                   std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : object) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(name)) == allowed.end()) {
      return Syntax(std::string(where) + " has an unknown member '" + std::string(name) + "'",
                    std::string(name));
    }
  }
  return Status::Ok();
}

Result<std::string> StringMember(const json::object& object, std::string_view name,
                                 std::string_view where) {
  const json::value* v = object.if_contains(name);
  if (v == nullptr || !v->is_string()) {
    return Err(Syntax(std::string(where) + " needs a string member '" + std::string(name) + "'"));
  }
  return std::string(v->get_string());
}

Result<std::int64_t> IntMember(const json::value& v, std::string_view where) {
  if (const auto* i = v.if_int64()) return *i;
  if (const auto* u = v.if_uint64();
      u && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(*u);
  }
  return Err(Syntax(std::string(where) + " must be an integer, not " + std::string(TypeName(v)),
                    std::string(TypeName(v))));
}

Result<EditOperation> DecodeOperation(const json::value& value, std::size_t index) {
  const std::string where = "ops[" + std::to_string(index) + "]";
  const json::object* object = value.if_object();
  if (object == nullptr) return Err(Syntax(where + " is not an object"));
  auto op = StringMember(*object, "op", where);
  if (!op) return Err(op.error());
  auto path = StringMember(*object, "path", where);
  if (!path) return Err(path.error());
  EditOperation out;
  out.path = std::move(*path);
  if (*op == "set") {
    HOLDFAST_RETURN_IF_ERROR(OnlyMembers(*object, where, {"op", "path", "value"}));
    const json::value* v = object->if_contains("value");
    if (v == nullptr) return Err(Syntax(where + " (set) needs a member 'value'"));
    out.kind = EditOpKind::kSet;
    out.value = *v;
  } else if (*op == "remove") {
    HOLDFAST_RETURN_IF_ERROR(OnlyMembers(*object, where, {"op", "path"}));
    out.kind = EditOpKind::kRemove;
  } else if (*op == "increment") {
    HOLDFAST_RETURN_IF_ERROR(OnlyMembers(*object, where, {"op", "path", "delta"}));
    const json::value* v = object->if_contains("delta");
    if (v == nullptr) return Err(Syntax(where + " (increment) needs a member 'delta'"));
    auto delta = IntMember(*v, where + ".delta");
    if (!delta) return Err(delta.error());
    out.kind = EditOpKind::kIncrement;
    out.delta = *delta;
  } else {
    return Err(Invalid("edit_op", "",
                       where + " has unknown op '" + *op + "' (set, remove, increment)", *op));
  }
  return out;
}

Result<EditFilter> DecodeFilter(const json::value& value) {
  const json::object* object = value.if_object();
  if (object == nullptr) return Err(Syntax("filter is not an object"));
  HOLDFAST_RETURN_IF_ERROR(
      OnlyMembers(*object, "filter", {"created_before", "created_after", "path", "equals"}));
  EditFilter filter;
  for (const char* name : {"created_before", "created_after"}) {
    if (const json::value* v = object->if_contains(name)) {
      auto millis = IntMember(*v, std::string("filter.") + name);
      if (!millis) return Err(millis.error());
      (std::string_view(name) == "created_before" ? filter.created_before : filter.created_after) =
          FromUnixMillis(*millis);
    }
  }
  const json::value* path = object->if_contains("path");
  const json::value* equals = object->if_contains("equals");
  if ((path == nullptr) != (equals == nullptr)) {
    return Err(Syntax("filter needs both 'path' and 'equals', or neither"));
  }
  if (path != nullptr) {
    if (!path->is_string()) return Err(Syntax("filter.path must be a string"));
    filter.equals_path = std::string(path->get_string());
    filter.equals_value = *equals;
  }
  return filter;
}

}  // namespace

Status CheckProfileEdit(const ProfileEdit& edit) {
  if (edit.migrate && !edit.operations.empty()) {
    return Invalid(
        "edit_migrate", "",
        "a migration run has no operations (got " + std::to_string(edit.operations.size()) + ")",
        std::to_string(edit.operations.size()));
  }
  if (!edit.migrate && edit.operations.empty()) {
    return Invalid("edit_empty", "", "an edit needs at least one operation", "0");
  }
  for (const EditOperation& op : edit.operations) {
    HOLDFAST_RETURN_IF_ERROR(CheckPointer(op.path));
    if (op.kind == EditOpKind::kRemove && op.path.empty()) {
      return Invalid("edit_remove_root", "", "the whole document ('') cannot be removed");
    }
    if (op.kind == EditOpKind::kSet) {
      if (Status status = ValidateJson(op.value); !status.ok()) {
        return Invalid(
            "edit_value", op.path,
            "the value to set at '" + op.path + "' is not strict JSON: " + status.message());
      }
    }
  }
  if (edit.filter.equals_path) {
    HOLDFAST_RETURN_IF_ERROR(CheckPointer(*edit.filter.equals_path));
    if (Status status = ValidateJson(edit.filter.equals_value); !status.ok()) {
      return Invalid("edit_value", *edit.filter.equals_path,
                     "the filter's value is not strict JSON: " + status.message());
    }
  }
  if (edit.filter.created_after && edit.filter.created_before &&
      *edit.filter.created_after >= *edit.filter.created_before) {
    return Invalid("edit_filter", "",
                   "filter created_after " +
                       std::to_string(ToUnixMillis(*edit.filter.created_after)) +
                       " is not before created_before " +
                       std::to_string(ToUnixMillis(*edit.filter.created_before)),
                   std::to_string(ToUnixMillis(*edit.filter.created_after)));
  }
  return Status::Ok();
}

json::value EncodeProfileEdit(const ProfileEdit& edit) {
  json::object out;
  if (edit.migrate) {
    out["migrate"] = true;
  } else {
    json::array ops;
    for (const EditOperation& op : edit.operations) {
      switch (op.kind) {
        case EditOpKind::kSet:
          ops.push_back(json::object{{"op", "set"}, {"path", op.path}, {"value", op.value}});
          break;
        case EditOpKind::kRemove:
          ops.push_back(json::object{{"op", "remove"}, {"path", op.path}});
          break;
        case EditOpKind::kIncrement:
          ops.push_back(json::object{{"op", "increment"}, {"path", op.path}, {"delta", op.delta}});
          break;
      }
    }
    out["ops"] = std::move(ops);
  }
  json::object filter;
  if (edit.filter.created_before) {
    filter["created_before"] = ToUnixMillis(*edit.filter.created_before);
  }
  if (edit.filter.created_after) filter["created_after"] = ToUnixMillis(*edit.filter.created_after);
  if (edit.filter.equals_path) {
    filter["path"] = *edit.filter.equals_path;
    filter["equals"] = edit.filter.equals_value;
  }
  if (!filter.empty()) out["filter"] = std::move(filter);
  return out;
}

Result<ProfileEdit> DecodeProfileEdit(const json::value& value) {
  const json::object* object = value.if_object();
  if (object == nullptr) return Err(Syntax("an edit is a JSON object"));
  HOLDFAST_RETURN_IF_ERROR(OnlyMembers(*object, "the edit", {"ops", "filter", "migrate"}));
  ProfileEdit edit;
  if (const json::value* migrate = object->if_contains("migrate")) {
    if (!migrate->is_bool()) return Err(Syntax("migrate must be a boolean"));
    edit.migrate = migrate->get_bool();
  }
  if (const json::value* ops = object->if_contains("ops")) {
    if (!ops->is_array()) return Err(Syntax("ops must be an array"));
    for (std::size_t i = 0; i < ops->get_array().size(); ++i) {
      auto op = DecodeOperation(ops->get_array()[i], i);
      if (!op) return Err(op.error());
      edit.operations.push_back(std::move(*op));
    }
  }
  if (const json::value* filter = object->if_contains("filter")) {
    auto decoded = DecodeFilter(*filter);
    if (!decoded) return Err(decoded.error());
    edit.filter = std::move(*decoded);
  }
  HOLDFAST_RETURN_IF_ERROR(CheckProfileEdit(edit));
  return edit;
}

bool EditFilterMatches(const EditFilter& filter, const json::value& data, Timestamp created) {
  if (filter.created_before && !(created < *filter.created_before)) return false;
  if (filter.created_after && created < *filter.created_after) return false;
  if (filter.equals_path) {
    boost::system::error_code ignored;
    const json::value* found = data.find_pointer(*filter.equals_path, ignored);
    if (found == nullptr || *found != filter.equals_value) return false;
  }
  return true;
}

Result<std::vector<EditChange>> ApplyProfileEdit(const ProfileEdit& edit, json::value& data) {
  HOLDFAST_RETURN_IF_ERROR(CheckProfileEdit(edit));
  json::value copy = data;
  std::vector<EditChange> changes;
  for (const EditOperation& op : edit.operations) {
    std::optional<EditChange> change;
    HOLDFAST_RETURN_IF_ERROR(ApplyOne(op, copy, change));
    if (change) changes.push_back(std::move(*change));
  }
  data = std::move(copy);
  return changes;
}

}  // namespace holdfast
