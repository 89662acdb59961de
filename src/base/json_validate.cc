// ValidateJson (see holdfast/json.h): the checks ParseJson makes, for values built in memory.
// Finite numbers, valid UTF-8 in strings and keys (encoded surrogates are invalid UTF-8, so an
// unpaired surrogate cannot slip in), and nesting within Limits::kMaxJsonDepth. Objects built
// through Boost's API cannot hold duplicate keys. Iterative: any nesting depth is safe.
#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "holdfast/json.h"
#include "holdfast/limits.h"
#include "json_error.h"
#include "utf8.h"

namespace holdfast {

namespace bj = boost::json;

Status ValidateJson(const bj::value& value) {
  // Iterative walk: values built in memory may be nested arbitrarily deep.
  struct Frame {
    const bj::value* container;
    std::size_t next = 0;  // index of the next child; the child being checked is next - 1
  };
  std::vector<Frame> frames;
  auto path_of = [&frames](std::size_t depth) {
    std::string path;
    for (std::size_t i = 0; i < depth; ++i) {
      const Frame& frame = frames[i];
      if (frame.container->is_array()) {
        internal::AppendPointerIndex(&path, frame.next - 1);
      } else {
        const auto& member = *(frame.container->get_object().begin() + (frame.next - 1));
        const bj::string_view key = member.key();
        internal::AppendPointerSegment(&path, std::string_view(key.data(), key.size()));
      }
    }
    return path;
  };

  const bj::value* current = &value;
  while (true) {
    switch (current->kind()) {
      case bj::kind::array:
      case bj::kind::object:
        if (frames.size() >= internal::kMaxJsonDepth)
          return internal::JsonDepthError(path_of(frames.size()));
        frames.push_back(Frame{current});
        break;
      case bj::kind::double_: {
        const double d = current->get_double();
        if (!std::isfinite(d)) {
          const std::string token = std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
          return internal::JsonError(path_of(frames.size()), token + " is not a JSON number",
                                     "json_non_finite", kRobloxValueNotAllowed, "finite", token);
        }
        break;
      }
      case bj::kind::string: {
        const bj::string& s = current->get_string();
        const std::string_view text(s.data(), s.size());
        const internal::Utf8Scan scan = internal::ScanUtf8(text);
        if (!scan.valid)
          return internal::JsonUtf8Error(path_of(frames.size()), "string", text, scan.error_offset);
        break;
      }
      default:
        break;  // null, bool, int64, uint64: always valid
    }
    // Advance to the next unvisited child, closing finished containers.
    current = nullptr;
    while (!frames.empty() && current == nullptr) {
      Frame& frame = frames.back();
      if (frame.container->is_array()) {
        const bj::array& array = frame.container->get_array();
        if (frame.next < array.size()) current = &array[frame.next++];
      } else {
        const bj::object& object = frame.container->get_object();
        if (frame.next < object.size()) {
          const auto& member = *(object.begin() + frame.next);
          const std::string_view key(member.key().data(), member.key().size());
          const internal::Utf8Scan scan = internal::ScanUtf8(key);
          if (!scan.valid) {
            return internal::JsonUtf8Error(path_of(frames.size() - 1), "object key", key,
                                           scan.error_offset);
          }
          ++frame.next;
          current = &member.value();
        }
      }
      if (current == nullptr) frames.pop_back();
    }
    if (current == nullptr) return Status::Ok();
  }
}

}  // namespace holdfast
