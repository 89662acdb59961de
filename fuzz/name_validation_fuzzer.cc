// libFuzzer target for key, data store name, scope and page-size validation.
//
// Each input is checked against a deliberately naive reference model written here (decode every
// code point from its bits, then judge overlong forms, surrogates and range), so a fast-path bug
// in the library's UTF-8 decoder shows up as a disagreement. Properties:
//  - the verdict (accepted, or which rule) matches the model for all three kinds of name;
//  - a refusal is kInvalidArgument with the documented Roblox code, limit and actual value;
//  - a refusal's message never contains the input itself.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "holdfast/limits.h"

namespace {

[[noreturn]] void Violation(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "name_validation_fuzzer: %.*s: %.*s\n", static_cast<int>(property.size()),
               property.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

struct Verdict {
  std::string rule;  // empty: accepted
  std::string limit;
  std::string actual;
};

// The reference model.
Verdict Expected(std::string_view text, std::string_view prefix) {
  const std::string length_rule = std::string(prefix) + "_length";
  if (text.empty()) return {length_rule, "1", "0"};
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    }
    bool valid = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      valid = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && cp >= kMinForLength[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!valid) return {"utf8", "", "byte " + std::to_string(i)};
    ++count;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      char name[16];
      std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(cp));
      return {std::string(prefix) + "_characters", "no control characters", name};
    }
    i += len;
  }
  if (count > 50) return {length_rule, "50", std::to_string(count)};
  return {};
}

void Check(const holdfast::Status& status, std::string_view text, std::string_view prefix,
           bool is_key) {
  const Verdict expected = Expected(text, prefix);
  if (expected.rule.empty()) {
    if (!status.ok()) Violation("refused a valid name", status.ToString());
    return;
  }
  if (status.ok()) Violation("accepted an invalid name", expected.rule);
  if (status.code() != holdfast::StatusCode::kInvalidArgument) {
    Violation("not kInvalidArgument", status.ToString());
  }
  const holdfast::ErrorDetail* detail = status.detail();
  if (detail == nullptr) Violation("no detail", status.ToString());
  if (detail->rule != expected.rule || detail->limit != expected.limit ||
      detail->actual != expected.actual) {
    Violation("detail differs from the model", status.ToString() + " / expected " + expected.rule +
                                                   " " + expected.limit + " " + expected.actual);
  }
  int roblox = 0;
  if (is_key && expected.rule == "key_length") {
    roblox = text.empty() ? holdfast::kRobloxKeyNameEmpty : holdfast::kRobloxKeyNameLimit;
  }
  if (detail->roblox_code != roblox) Violation("wrong Roblox code", status.ToString());
  if (!text.empty() && status.message().find(text) != std::string::npos) {
    Violation("message repeats the input", status.message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(holdfast::ValidateKey(text), text, "key", /*is_key=*/true);
  Check(holdfast::ValidateStoreName(text), text, "store_name", /*is_key=*/false);
  Check(holdfast::ValidateScope(text), text, "scope", /*is_key=*/false);

  if (size >= sizeof(std::int32_t)) {
    std::int32_t page_size;
    std::memcpy(&page_size, data, sizeof page_size);
    const holdfast::Status status = holdfast::ValidatePageSize(page_size);
    const bool expected_ok = page_size >= 1 && page_size <= 100;
    if (status.ok() != expected_ok) Violation("page size verdict", std::to_string(page_size));
    if (!expected_ok && (status.detail() == nullptr || status.detail()->roblox_code != 106 ||
                         status.detail()->actual != std::to_string(page_size))) {
      Violation("page size detail", status.ToString());
    }
  }
  return 0;
}
