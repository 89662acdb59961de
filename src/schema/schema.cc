// Schema (see holdfast/schema.h): construction, builders and the definition check. Validation of
// documents is in schema_validate.cc.
#include "holdfast/schema.h"

#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json_error.h"
#include "schema_internal.h"

namespace holdfast {

namespace bj = boost::json;

Schema::Schema(SchemaType type) : type_(type) {}

Schema Schema::Array(Schema element) {
  Schema array(SchemaType::kArray);
  array.element_ = std::make_unique<Schema>(std::move(element));
  return array;
}

Schema Schema::Map(Schema value) {
  Schema map(SchemaType::kObject);
  map.element_ = std::make_unique<Schema>(std::move(value));
  return map;
}

Schema::Schema(const Schema& other)
    : type_(other.type_),
      nullable_(other.nullable_),
      refuse_unknown_(other.refuse_unknown_),
      minimum_(other.minimum_),
      maximum_(other.maximum_),
      min_length_(other.min_length_),
      max_length_(other.max_length_),
      min_items_(other.min_items_),
      max_items_(other.max_items_),
      one_of_(other.one_of_),
      definition_error_(other.definition_error_) {
  fields_.reserve(other.fields_.size());
  for (const auto& field : other.fields_) fields_.push_back(std::make_unique<FieldDecl>(*field));
  if (other.element_) element_ = std::make_unique<Schema>(*other.element_);
}

Schema& Schema::operator=(const Schema& other) {
  if (this != &other) *this = Schema(other);
  return *this;
}

Schema::~Schema() = default;

void Schema::DefinitionError(std::string cause) {
  if (definition_error_.empty()) definition_error_ = std::move(cause);
}

Schema& Schema::Nullable() {
  nullable_ = true;
  return *this;
}

Schema& Schema::SetBound(std::optional<bj::value>* slot, bj::value bound, const char* builder) {
  if (type_ != SchemaType::kInteger && type_ != SchemaType::kNumber) {
    DefinitionError(std::string(builder) + " applies to integer and number schemas, not to " +
                    internal::SchemaTypeName(type_));
  } else if (bound.is_double() && !std::isfinite(bound.get_double())) {
    DefinitionError(std::string(builder) + " needs a finite bound");
  } else {
    *slot = std::move(bound);
  }
  return *this;
}

Schema& Schema::MinLength(std::size_t code_points) {
  if (type_ != SchemaType::kString) {
    DefinitionError("MinLength applies to string schemas, not to " +
                    std::string(internal::SchemaTypeName(type_)));
  } else {
    min_length_ = code_points;
  }
  return *this;
}

Schema& Schema::MaxLength(std::size_t code_points) {
  if (type_ != SchemaType::kString) {
    DefinitionError("MaxLength applies to string schemas, not to " +
                    std::string(internal::SchemaTypeName(type_)));
  } else {
    max_length_ = code_points;
  }
  return *this;
}

Schema& Schema::MinItems(std::size_t count) {
  if (type_ != SchemaType::kArray) {
    DefinitionError("MinItems applies to array schemas, not to " +
                    std::string(internal::SchemaTypeName(type_)));
  } else {
    min_items_ = count;
  }
  return *this;
}

Schema& Schema::MaxItems(std::size_t count) {
  if (type_ != SchemaType::kArray) {
    DefinitionError("MaxItems applies to array schemas, not to " +
                    std::string(internal::SchemaTypeName(type_)));
  } else {
    max_items_ = count;
  }
  return *this;
}

Schema& Schema::OneOf(std::vector<bj::value> allowed) {
  if (allowed.empty()) {
    DefinitionError("OneOf needs at least one allowed value");
  } else {
    one_of_ = std::move(allowed);
  }
  return *this;
}

Schema& Schema::Declare(std::string name, Schema field, bool required) {
  if (type_ != SchemaType::kObject) {
    DefinitionError("fields apply to object schemas, not to " +
                    std::string(internal::SchemaTypeName(type_)));
    return *this;
  }
  for (const auto& existing : fields_) {
    if (existing->name == name) {
      DefinitionError("field \"" + name + "\" is declared twice");
      return *this;
    }
  }
  fields_.push_back(std::make_unique<FieldDecl>(
      FieldDecl{std::move(name), required, /*placeholder=*/false, std::move(field)}));
  return *this;
}

Schema& Schema::Required(std::string name, Schema field) {
  return Declare(std::move(name), std::move(field), true);
}

Schema& Schema::Optional(std::string name, Schema field) {
  return Declare(std::move(name), std::move(field), false);
}

Schema& Schema::AllowUnknownFields() {
  if (type_ != SchemaType::kObject) {
    DefinitionError("AllowUnknownFields applies to object schemas, not to " +
                    std::string(internal::SchemaTypeName(type_)));
  }
  refuse_unknown_ = false;
  return *this;
}

Schema& Schema::RefuseUnknownFields() {
  if (type_ != SchemaType::kObject) {
    DefinitionError("RefuseUnknownFields applies to object schemas, not to " +
                    std::string(internal::SchemaTypeName(type_)));
  }
  refuse_unknown_ = true;
  return *this;
}

Schema& Schema::Field(std::string_view name) {
  for (const auto& field : fields_) {
    if (field->name == name) return field->schema;
  }
  // Keep the returned reference valid: a placeholder that validation skips.
  if (type_ != SchemaType::kObject) {
    DefinitionError("Field(\"" + std::string(name) + "\") on a " +
                    std::string(internal::SchemaTypeName(type_)) + " schema");
  } else {
    DefinitionError("Field(\"" + std::string(name) + "\"): no such field is declared");
  }
  fields_.push_back(std::make_unique<FieldDecl>(
      FieldDecl{std::string(name), false, /*placeholder=*/true, Schema::Any()}));
  return fields_.back()->schema;
}

Schema& Schema::Elements() {
  if (type_ != SchemaType::kArray) {
    DefinitionError("Elements() on a " + std::string(internal::SchemaTypeName(type_)) + " schema");
  }
  if (!element_) element_ = std::make_unique<Schema>(Schema::Any());
  return *element_;
}

Schema& Schema::Values() {
  if (type_ != SchemaType::kObject || !element_) {
    DefinitionError("Values() on a schema that is not a map");
  }
  if (!element_) element_ = std::make_unique<Schema>(Schema::Any());
  return *element_;
}

Status Schema::CheckDefinitionAt(std::string* path) const {
  auto error = [&](std::string_view cause) {
    return InternalError("schema " + (path->empty() ? std::string("(root)") : *path) + ": " +
                         std::string(cause));
  };
  if (!definition_error_.empty()) return error(definition_error_);
  if (minimum_ && maximum_ && internal::CompareNumbers(*minimum_, *maximum_) > 0) {
    return error("the minimum is above the maximum");
  }
  if (min_length_ && max_length_ && *min_length_ > *max_length_) {
    return error("the minimum length is above the maximum length");
  }
  if (min_items_ && max_items_ && *min_items_ > *max_items_) {
    return error("the minimum item count is above the maximum item count");
  }
  for (const auto& field : fields_) {
    const std::size_t size = path->size();
    internal::AppendPointerSegment(path, field->name);
    Status status = field->schema.CheckDefinitionAt(path);
    path->resize(size);
    if (!status.ok()) return status;
  }
  if (element_ && (type_ == SchemaType::kArray || type_ == SchemaType::kObject)) {
    const std::size_t size = path->size();
    path->append("/*");
    Status status = element_->CheckDefinitionAt(path);
    path->resize(size);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status Schema::CheckDefinition() const {
  std::string path;
  return CheckDefinitionAt(&path);
}

}  // namespace holdfast
