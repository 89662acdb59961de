#include "json_error.h"

#include <string>
#include <string_view>
#include <utility>

#include "utf8.h"

namespace holdfast::internal {
namespace {

constexpr std::size_t kMaxPathKeyChars = 32;       // per key segment of a path
constexpr std::size_t kMaxMessagePathBytes = 256;  // paths longer than this are cut in messages

std::string HexBytes(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.append("\\x");
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

// The bytes of the invalid UTF-8 sequence at `offset` (1..4 bytes), for messages.
std::string_view BadSequence(std::string_view text, std::size_t offset) {
  std::size_t end = offset + 1;
  while (end < text.size() && end < offset + 4 &&
         (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    ++end;
  }
  return text.substr(offset, end - offset);
}

}  // namespace

void AppendPointerSegment(std::string* path, std::string_view key) {
  path->push_back('/');
  for (char c : Excerpt(key, kMaxPathKeyChars)) {
    if (c == '~') {
      path->append("~0");
    } else if (c == '/') {
      path->append("~1");
    } else {
      path->push_back(c);
    }
  }
}

void AppendPointerIndex(std::string* path, std::size_t index) {
  path->push_back('/');
  path->append(std::to_string(index));
}

Status JsonError(std::string path, std::string_view cause, std::string rule, int roblox_code,
                 std::string limit, std::string actual) {
  std::string message = "value";
  if (!path.empty()) {
    message.push_back(' ');
    if (path.size() <= kMaxMessagePathBytes) {
      message.append(path);
    } else {
      // Keep the innermost segments: cut at a '/' so no UTF-8 sequence is split.
      std::size_t cut = path.find('/', path.size() - kMaxMessagePathBytes);
      if (cut == std::string::npos) cut = path.rfind('/');
      message.append("...");
      message.append(path, cut);
    }
  }
  message.append(": ");
  message.append(cause);
  return InvalidArgumentError(std::move(message),
                              ErrorDetail{roblox_code, std::move(rule), std::move(path),
                                          std::move(limit), std::move(actual)});
}

Status JsonUtf8Error(std::string path, std::string_view what, std::string_view text,
                     std::size_t offset) {
  std::string bytes = HexBytes(BadSequence(text, offset));
  const std::string cause = std::string(what) + " is not valid UTF-8 (bytes " + bytes +
                            " at offset " + std::to_string(offset) + ")";
  return JsonError(std::move(path), cause, "json_utf8", kRobloxValueNotAllowed, "",
                   std::move(bytes));
}

Status JsonDepthError(std::string path) {
  return JsonError(std::move(path),
                   "nesting depth " + std::to_string(kMaxJsonDepth + 1) + " exceeds the limit of " +
                       std::to_string(kMaxJsonDepth),
                   "json_depth", kRobloxValueNotAllowed, std::to_string(kMaxJsonDepth),
                   std::to_string(kMaxJsonDepth + 1));
}

}  // namespace holdfast::internal
