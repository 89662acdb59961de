// Name, scope, key and page-size checks (see holdfast/limits.h).
//
// Decisions:
// - Lengths are Unicode code points of valid UTF-8, as limits.h promises. (Roblox itself measures
//   with string.len, i.e. bytes; a name of 50 code points may be longer than Roblox accepts.)
// - Bytes that are not valid UTF-8 are refused (rule "utf8"), before the length is judged.
// - Control characters (Unicode category Cc: U+0000..U+001F, U+007F..U+009F) are refused in keys,
//   names and scopes (rules "key_characters", "store_name_characters", "scope_characters"). NUL
//   truncates C strings; newlines and escape sequences forge log lines and corrupt terminals and
//   "store/key" messages. Every other character, including spaces and '/', is allowed.
// - Messages never repeat the input itself (keys are often player ids); they name the limit, the
//   actual value and, for a bad character, its code point and position.
#include "holdfast/limits.h"

#include <string>
#include <string_view>

#include "utf8.h"

namespace holdfast {
namespace {

struct NameRules {
  std::string_view what;  // "key", "data store name", "scope"
  std::string_view length_rule;
  std::string_view characters_rule;
  std::size_t max_length;
  int empty_code;     // Roblox error number when empty
  int too_long_code;  // Roblox error number when too long
};

constexpr NameRules kKeyRules{"key",
                              "key_length",
                              "key_characters",
                              Limits::kMaxKeyLength,
                              kRobloxKeyNameEmpty,
                              kRobloxKeyNameLimit};
constexpr NameRules kStoreNameRules{
    "data store name", "store_name_length", "store_name_characters", Limits::kMaxNameLength, 0, 0};
constexpr NameRules kScopeRules{
    "scope", "scope_length", "scope_characters", Limits::kMaxScopeLength, 0, 0};

Status Refuse(const NameRules& rules, std::string_view cause, std::string_view rule,
              int roblox_code, std::string limit, std::string actual) {
  std::string message(rules.what);
  message.append(": ");
  message.append(cause);
  return InvalidArgumentError(std::move(message), ErrorDetail{roblox_code, std::string(rule), "",
                                                              std::move(limit), std::move(actual)});
}

Status ValidateName(std::string_view text, const NameRules& rules) {
  if (text.empty()) {
    // Keys echo Roblox's own wording (error 101, "Key name can't be empty").
    const std::string_view cause =
        rules.what == "key" ? "key name can't be empty" : "can't be empty";
    return Refuse(rules, cause, rules.length_rule, rules.empty_code, "1", "0");
  }
  std::size_t pos = 0;
  std::size_t count = 0;
  while (pos < text.size()) {
    char32_t c;
    const std::size_t len = internal::DecodeUtf8(text, pos, &c);
    if (len == 0) {
      return Refuse(rules,
                    "invalid UTF-8 at byte " + std::to_string(pos) + " (character " +
                        std::to_string(count + 1) + ")",
                    "utf8", 0, "", "byte " + std::to_string(pos));
    }
    ++count;
    if (internal::IsControl(c)) {
      const std::string name = internal::CodePointName(c);
      return Refuse(rules,
                    "control character " + name + " at character " + std::to_string(count) +
                        " is not allowed",
                    rules.characters_rule, 0, "no control characters", name);
    }
    pos += len;
  }
  if (count > rules.max_length) {
    return Refuse(rules,
                  "length " + std::to_string(count) + " exceeds the " +
                      std::to_string(rules.max_length) + " character limit",
                  rules.length_rule, rules.too_long_code, std::to_string(rules.max_length),
                  std::to_string(count));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateStoreName(std::string_view name) { return ValidateName(name, kStoreNameRules); }

Status ValidateScope(std::string_view scope) { return ValidateName(scope, kScopeRules); }

Status ValidateKey(std::string_view key) { return ValidateName(key, kKeyRules); }

Status ValidatePageSize(int page_size) {
  if (page_size >= Limits::kMinPageSize && page_size <= Limits::kMaxPageSize) return Status::Ok();
  const std::string range =
      std::to_string(Limits::kMinPageSize) + ".." + std::to_string(Limits::kMaxPageSize);
  return InvalidArgumentError("page size: " + std::to_string(page_size) + " is outside " + range,
                              ErrorDetail{kRobloxPageSizeOrBoundInvalid, "page_size", "", range,
                                          std::to_string(page_size)});
}

}  // namespace holdfast
