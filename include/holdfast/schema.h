// Schema: the declared shape of profile data — JSON types, required and optional fields, integer
// and number ranges, string lengths (in code points), allowed values, array lengths and element
// shapes, nested objects, and whether unknown fields are allowed — and validation of a JSON
// document against it. Derive it from a BOOST_DESCRIBE_STRUCT type with SchemaFor<T>() so it
// cannot drift from T, then add constraints per member; or build one by hand for dynamic JSON.
// Thread safety: a Schema is a value. Building it is not thread-safe; once built, Validate and
// ValidateAll are const and may run on any number of threads at once.
//
//   struct Item { std::string id; std::int32_t count = 0; };
//   BOOST_DESCRIBE_STRUCT(Item, (), (id, count))
//   struct PlayerData { std::int64_t coins = 0; std::vector<Item> inventory; };
//   BOOST_DESCRIBE_STRUCT(PlayerData, (), (coins, inventory))
//
//   Schema schema = SchemaFor<PlayerData>();
//   schema.Field(&PlayerData::coins).Range(0, 1'000'000);
//   schema.Field(&PlayerData::inventory).MaxItems(200).Elements().Field(&Item::count).Minimum(1);
//   Status status = schema.Validate(json);  // "/inventory/3/count: 1.5 is not an integer"
//
// See docs/schemas.md for every rule, the error format, and how schemas plug into ProfileStore.
#ifndef HOLDFAST_SCHEMA_H_
#define HOLDFAST_SCHEMA_H_

#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "holdfast/status.h"

namespace holdfast {

enum class SchemaType {
  kAny,  // any JSON value; nothing below it is checked
  kObject,
  kArray,
  kString,
  kInteger,  // a JSON number with no fractional part (1 and 1.0 both are)
  kNumber,   // any finite JSON number
  kBoolean,
  kNull,
};

class Schema {
 public:
  // Factories, one per JSON type. Object: no fields, unknown fields allowed.
  static Schema Any() { return Schema(SchemaType::kAny); }
  static Schema Object() { return Schema(SchemaType::kObject); }
  static Schema Array(Schema element);
  // An object whose members, whatever their names, each have the shape `value` (a dictionary;
  // std::map<std::string, U> derives to this). Fields may still be declared beside it; the
  // value schema then applies to the undeclared members only, and RefuseUnknownFields is moot.
  static Schema Map(Schema value);
  static Schema String() { return Schema(SchemaType::kString); }
  static Schema Integer() { return Schema(SchemaType::kInteger); }
  static Schema Number() { return Schema(SchemaType::kNumber); }
  static Schema Boolean() { return Schema(SchemaType::kBoolean); }
  static Schema Null() { return Schema(SchemaType::kNull); }

  Schema(const Schema& other);
  Schema& operator=(const Schema& other);
  Schema(Schema&&) noexcept = default;
  Schema& operator=(Schema&&) noexcept = default;
  ~Schema();

  SchemaType type() const { return type_; }

  // Builders; each returns *this. A builder that does not apply to this type (MaxLength on an
  // integer, a field declared twice, Field() of a member this object lacks) is a definition
  // error: recorded, and reported by CheckDefinition, Validate and ValidateAll as kInternal.

  // Also accept null (std::optional<U> members derive to this).
  Schema& Nullable();
  // Integer and Number: inclusive bounds; the limits of a derived integer member's C++ type are
  // already in place (a std::int32_t member refuses 2147483648).
  template <typename N>
  Schema& Minimum(N bound) {
    return SetBound(&minimum_, ToBound(bound), "Minimum");
  }
  template <typename N>
  Schema& Maximum(N bound) {
    return SetBound(&maximum_, ToBound(bound), "Maximum");
  }
  template <typename Lo, typename Hi>
  Schema& Range(Lo min, Hi max) {
    Minimum(min);
    return Maximum(max);
  }
  // String: inclusive length bounds in Unicode code points.
  Schema& MinLength(std::size_t code_points);
  Schema& MaxLength(std::size_t code_points);
  Schema& Length(std::size_t min, std::size_t max) { return MinLength(min).MaxLength(max); }
  // Array: inclusive bounds on the number of elements.
  Schema& MinItems(std::size_t count);
  Schema& MaxItems(std::size_t count);
  Schema& Items(std::size_t min, std::size_t max) { return MinItems(min).MaxItems(max); }
  // Any type: the value must equal one of these (numbers compare by value: 1 == 1.0).
  Schema& OneOf(std::vector<boost::json::value> allowed);
  // Object: declare fields, in order. Required fields must be present; optional ones may be absent.
  Schema& Required(std::string name, Schema field);
  Schema& Optional(std::string name, Schema field);
  // Object: whether fields not declared are accepted (the default) or refused.
  Schema& AllowUnknownFields();
  Schema& RefuseUnknownFields();

  // References returned below stay valid while more fields are declared; not across a copy.
  // Object: the schema of a declared field, to add constraints to it.
  Schema& Field(std::string_view name);
  // Object derived from a described struct C: the schema of member `member`, found by
  // Boost.Describe (a renamed member is a compile error here, not a silently ignored name).
  template <typename C, typename M>
  Schema& Field(M C::*member);
  // Array: the element schema, to add constraints to it.
  Schema& Elements();
  // Map: the schema every undeclared member must have, to add constraints to it.
  Schema& Values();

  // OK, or kInternal naming the first definition error and where it is in the schema.
  Status CheckDefinition() const;

  // OK when `value` has this shape. Otherwise kInvalidArgument for the first violation in document
  // order (an object's members in their stored order, then its missing required fields in
  // declaration order; an array's elements by index), with ErrorDetail{rule, path (a JSON
  // Pointer), limit, actual} and the message "<path>: <cause>", e.g.
  // "/inventory/3/count: 1.5 is not an integer". Expects strict JSON (see holdfast/json.h).
  Status Validate(const boost::json::value& value) const;
  // Up to `max_errors` violations, in the same order; empty when `value` is valid. A definition
  // error is returned alone.
  std::vector<Status> ValidateAll(const boost::json::value& value, std::size_t max_errors) const;

 private:
  struct FieldDecl;
  class Walker;

  explicit Schema(SchemaType type);
  template <typename N>
  static boost::json::value ToBound(N bound) {
    static_assert(std::is_arithmetic_v<N> && !std::is_same_v<N, bool>, "bounds are numbers");
    if constexpr (std::is_floating_point_v<N>) {
      return boost::json::value(static_cast<double>(bound));
    } else if constexpr (std::is_signed_v<N>) {
      return boost::json::value(static_cast<std::int64_t>(bound));
    } else {
      return boost::json::value(static_cast<std::uint64_t>(bound));
    }
  }
  Schema& SetBound(std::optional<boost::json::value>* slot, boost::json::value bound,
                   const char* builder);
  Schema& Declare(std::string name, Schema field, bool required);
  void DefinitionError(std::string cause);
  Status CheckDefinitionAt(std::string* path) const;

  SchemaType type_;
  bool nullable_ = false;
  bool refuse_unknown_ = false;
  std::optional<boost::json::value> minimum_;
  std::optional<boost::json::value> maximum_;
  std::optional<std::size_t> min_length_, max_length_;
  std::optional<std::size_t> min_items_, max_items_;
  std::optional<std::vector<boost::json::value>> one_of_;
  std::vector<std::unique_ptr<FieldDecl>> fields_;  // stable addresses: Field() refs stay valid
  std::unique_ptr<Schema> element_;                 // array elements, or a map's values
  std::string definition_error_;                    // the first one, empty when none
};

struct Schema::FieldDecl {
  std::string name;
  bool required = true;
  bool placeholder = false;  // stands in for a field Field() could not find; never validated
  Schema schema;
};

namespace internal {

template <typename T>
struct SchemaDeriver;

template <typename T>
Schema DeriveSchema() {
  return SchemaDeriver<std::remove_cv_t<T>>::Get();
}

template <typename T>
inline constexpr bool kAlwaysFalse = false;

template <typename T>
inline constexpr bool kIsOptional = false;
template <typename U>
inline constexpr bool kIsOptional<std::optional<U>> = true;

template <typename T>
struct SchemaDeriver {
  static Schema Get() {
    if constexpr (std::is_same_v<T, bool>) {
      return Schema::Boolean();
    } else if constexpr (std::is_integral_v<T>) {
      return Schema::Integer().Range(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    } else if constexpr (std::is_floating_point_v<T>) {
      return Schema::Number();
    } else if constexpr (std::is_same_v<T, std::string>) {
      return Schema::String();
    } else if constexpr (std::is_same_v<T, boost::json::value>) {
      return Schema::Any();
    } else if constexpr (boost::describe::has_describe_enumerators<T>::value) {
      // Boost.JSON writes a described enum as the enumerator's name.
      std::vector<boost::json::value> names;
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>(
          [&](auto e) { names.emplace_back(e.name); });
      return Schema::String().OneOf(std::move(names));
    } else if constexpr (boost::describe::has_describe_members<T>::value) {
      Schema object = Schema::Object();
      using Members = boost::describe::describe_members<T, boost::describe::mod_public |
                                                               boost::describe::mod_inherited>;
      boost::mp11::mp_for_each<Members>([&](auto member) {
        using M =
            std::remove_cv_t<std::remove_reference_t<decltype(std::declval<T&>().*member.pointer)>>;
        if constexpr (kIsOptional<M>) {
          object.Optional(member.name, DeriveSchema<M>());
        } else {
          object.Required(member.name, DeriveSchema<M>());
        }
      });
      return object;
    } else {
      static_assert(
          kAlwaysFalse<T>,
          "SchemaFor: no schema for this member type (supported: bool, integers, "
          "floating point, std::string, std::vector, std::map and std::unordered_map with "
          "string keys, std::optional, boost::json::value, "
          "described enums and described structs)");
      return Schema::Any();
    }
  }
};

template <typename U, typename A>
struct SchemaDeriver<std::vector<U, A>> {
  static Schema Get() { return Schema::Array(DeriveSchema<U>()); }
};

template <typename U, typename C, typename A>
struct SchemaDeriver<std::map<std::string, U, C, A>> {
  static Schema Get() { return Schema::Map(DeriveSchema<U>()); }
};

template <typename U, typename H, typename E, typename A>
struct SchemaDeriver<std::unordered_map<std::string, U, H, E, A>> {
  static Schema Get() { return Schema::Map(DeriveSchema<U>()); }
};

template <typename U>
struct SchemaDeriver<std::optional<U>> {
  static Schema Get() { return std::move(DeriveSchema<U>().Nullable()); }
};

}  // namespace internal

// The schema of a BOOST_DESCRIBE_STRUCT type T as Boost.JSON's value_from writes it: an object
// with one field per public (and inherited) member, in declaration order, required unless the
// member is a std::optional (then optional and nullable); unknown fields allowed (TypedProfile
// keeps members another version of T wrote). Member types map as: bool -> boolean; integers ->
// integer within the C++ type's limits; floating point -> number; std::string -> string;
// std::vector<U> -> array of U; std::map / std::unordered_map<std::string, U> -> map of U;
// described enum -> string, one of the enumerator names;
// boost::json::value -> any; described struct -> nested object. Other types do not compile.
template <typename T>
Schema SchemaFor() {
  static_assert(boost::describe::has_describe_members<T>::value,
                "SchemaFor<T>: T must be described with BOOST_DESCRIBE_STRUCT");
  return internal::DeriveSchema<T>();
}

template <typename C, typename M>
Schema& Schema::Field(M C::*member) {
  static_assert(boost::describe::has_describe_members<C>::value,
                "Schema::Field(&C::member): C must be described with BOOST_DESCRIBE_STRUCT");
  std::string_view name;
  using Members = boost::describe::describe_members<C, boost::describe::mod_public |
                                                           boost::describe::mod_protected |
                                                           boost::describe::mod_private>;
  boost::mp11::mp_for_each<Members>([&](auto d) {
    if constexpr (std::is_same_v<std::remove_cv_t<decltype(d.pointer)>, M C::*>) {
      if (d.pointer == member) name = d.name;
    }
  });
  if (name.empty()) {
    DefinitionError("Field(&member): the member is not described in BOOST_DESCRIBE_STRUCT");
    return Field(std::string_view("(undescribed member)"));
  }
  return Field(name);
}

}  // namespace holdfast

#endif  // HOLDFAST_SCHEMA_H_
