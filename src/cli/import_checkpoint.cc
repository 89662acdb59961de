#include "import_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "holdfast/json.h"

namespace holdfast::cli {
namespace {

namespace json = boost::json;

constexpr int kCheckpointFormat = 1;

Status Malformed(const std::string& path, const std::string& why) {
  return DataLossError("import checkpoint " + path + ": " + why +
                       "; delete it to start the import over");
}

Status Differs(const std::string& field, const std::string& saved, const std::string& current) {
  return Status(StatusCode::kFailedPrecondition,
                "import --resume: the checkpoint was made for " + field + " " + saved +
                    ", this import has " + current +
                    "; delete the checkpoint to start this import from the beginning",
                ErrorDetail{0, "checkpoint_mismatch", field, saved, current});
}

}  // namespace

std::string CheckpointPathFor(const std::string& input) { return input + ".import-checkpoint"; }

Result<std::optional<ImportCheckpoint>> LoadCheckpoint(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error) && !error) return std::optional<ImportCheckpoint>();
  std::ifstream in(path, std::ios::binary);
  if (error || !in) return Err(Malformed(path, "cannot be read"));
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = ParseJson(text.str());
  if (!parsed || !parsed->is_object()) return Err(Malformed(path, "not a JSON object"));
  const json::object& o = parsed->get_object();
  ImportCheckpoint c;
  try {
    if (o.at("format").to_number<int>() != kCheckpointFormat) {
      return Err(Malformed(path, "unknown format " + SerializeJson(o.at("format"))));
    }
    c.input = std::string(o.at("input").as_string());
    c.input_size = o.at("input_size").to_number<std::uint64_t>();
    c.input_mtime_ns = o.at("input_mtime_ns").to_number<std::int64_t>();
    c.store_uri = std::string(o.at("store").as_string());
    c.if_absent = o.at("if_absent").as_bool();
    c.offset = o.at("offset").to_number<std::uint64_t>();
    c.line = o.at("line").to_number<std::int64_t>();
    c.written = o.at("written").to_number<std::int64_t>();
    c.skipped = o.at("skipped").to_number<std::int64_t>();
    c.failed = o.at("failed").to_number<std::int64_t>();
  } catch (const std::exception&) {  // Boost.JSON's accessors throw on a missing or odd field
    return Err(Malformed(path, "a field is missing or of the wrong type"));
  }
  if (c.offset > c.input_size) return Err(Malformed(path, "offset past the end of the input"));
  return std::optional<ImportCheckpoint>(std::move(c));
}

Status SaveCheckpoint(const std::string& path, const ImportCheckpoint& c) {
  const std::string text = SerializeJson(json::object{{"format", kCheckpointFormat},
                                                      {"input", c.input},
                                                      {"input_size", c.input_size},
                                                      {"input_mtime_ns", c.input_mtime_ns},
                                                      {"store", c.store_uri},
                                                      {"if_absent", c.if_absent},
                                                      {"offset", c.offset},
                                                      {"line", c.line},
                                                      {"written", c.written},
                                                      {"skipped", c.skipped},
                                                      {"failed", c.failed}}) +
                           "\n";
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return UnavailableError("import: cannot write checkpoint " + temp + ": " +
                            std::strerror(errno));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    const int why = ok ? errno : saved_errno;
    std::remove(temp.c_str());
    return UnavailableError("import: cannot write checkpoint " + path + ": " + std::strerror(why));
  }
  return Status::Ok();
}

Status CheckSameImport(const ImportCheckpoint& saved, const ImportCheckpoint& current) {
  if (saved.input != current.input) return Differs("input", saved.input, current.input);
  if (saved.input_size != current.input_size) {
    return Differs("input size", std::to_string(saved.input_size) + " bytes",
                   std::to_string(current.input_size) + " bytes");
  }
  if (saved.input_mtime_ns != current.input_mtime_ns) {
    return Differs("input modification time (ns)", std::to_string(saved.input_mtime_ns),
                   std::to_string(current.input_mtime_ns));
  }
  if (saved.store_uri != current.store_uri) {
    return Differs("store", saved.store_uri, current.store_uri);
  }
  if (saved.if_absent != current.if_absent) {
    return Differs("--if-absent", saved.if_absent ? "on" : "off", current.if_absent ? "on" : "off");
  }
  return Status::Ok();
}

}  // namespace holdfast::cli
