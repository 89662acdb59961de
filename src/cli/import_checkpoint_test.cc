// The import checkpoint: saved and loaded exactly, replaced atomically, a missing one is no
// checkpoint, a damaged one is DATA_LOSS naming the file, and a resume of a different import is
// refused naming the field that differs.
#include "import_checkpoint.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace holdfast::cli {
namespace {

namespace fs = std::filesystem;

class ImportCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "holdfast_checkpoint_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "backup.jsonl.import-checkpoint").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static ImportCheckpoint Sample() {
    return {.input = "backup.jsonl",
            .input_size = 12'345,
            .input_mtime_ns = 1'796'000'000'123'456'789,
            .store_uri = "sqlite:copy.db",
            .if_absent = true,
            .offset = 6'000,
            .line = 200,
            .written = 190,
            .skipped = 7,
            .failed = 3};
  }
  fs::path dir_;
  std::string path_;
};

TEST_F(ImportCheckpointTest, SavedCheckpointLoadsBackExactly) {
  ASSERT_TRUE(SaveCheckpoint(path_, Sample()).ok());
  auto loaded = LoadCheckpoint(path_);
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  ASSERT_TRUE(loaded->has_value());
  const ImportCheckpoint& c = **loaded;
  EXPECT_EQ(c.input, "backup.jsonl");
  EXPECT_EQ(c.input_size, 12'345u);
  EXPECT_EQ(c.input_mtime_ns, 1'796'000'000'123'456'789);
  EXPECT_EQ(c.store_uri, "sqlite:copy.db");
  EXPECT_TRUE(c.if_absent);
  EXPECT_EQ(c.offset, 6'000u);
  EXPECT_EQ(c.line, 200);
  EXPECT_EQ(c.written, 190);
  EXPECT_EQ(c.skipped, 7);
  EXPECT_EQ(c.failed, 3);
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));  // replaced through a renamed temporary file
}

TEST_F(ImportCheckpointTest, SavingAgainReplacesTheCheckpoint) {
  ASSERT_TRUE(SaveCheckpoint(path_, Sample()).ok());
  ImportCheckpoint later = Sample();
  later.line = 400;
  later.offset = 12'000;
  ASSERT_TRUE(SaveCheckpoint(path_, later).ok());
  EXPECT_EQ((*LoadCheckpoint(path_))->line, 400);
}

TEST_F(ImportCheckpointTest, MissingFileIsNoCheckpoint) {
  auto loaded = LoadCheckpoint(path_);
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(ImportCheckpointTest, DamagedFilesAreDataLossNamingTheFile) {
  const std::string cases[] = {
      "",                                // truncated to nothing
      "{\"format\":1,\"input\":",        // cut mid-write
      "[1,2]",                           // not an object
      "{\"format\":2}",                  // a newer format
      "{\"format\":1,\"input\":\"x\"}",  // fields missing
  };
  for (const std::string& text : cases) {
    std::ofstream(path_, std::ios::binary) << text;
    auto loaded = LoadCheckpoint(path_);
    ASSERT_FALSE(loaded.has_value()) << text;
    EXPECT_EQ(loaded.error().code(), StatusCode::kDataLoss) << text;
    EXPECT_NE(loaded.error().message().find(path_), std::string::npos) << loaded.error();
  }
  ImportCheckpoint past_end = Sample();
  past_end.offset = past_end.input_size + 1;
  ASSERT_TRUE(SaveCheckpoint(path_, past_end).ok());
  EXPECT_EQ(LoadCheckpoint(path_).error().code(), StatusCode::kDataLoss);
}

TEST_F(ImportCheckpointTest, ResumingADifferentImportNamesTheFieldThatDiffers) {
  struct Case {
    const char* field;
    void (*change)(ImportCheckpoint&);
  };
  const Case cases[] = {
      {"input", [](ImportCheckpoint& c) { c.input = "other.jsonl"; }},
      {"input size", [](ImportCheckpoint& c) { c.input_size += 1; }},
      {"input modification time (ns)", [](ImportCheckpoint& c) { c.input_mtime_ns += 1; }},
      {"store", [](ImportCheckpoint& c) { c.store_uri = "sqlite:elsewhere.db"; }},
      {"--if-absent", [](ImportCheckpoint& c) { c.if_absent = false; }},
  };
  EXPECT_TRUE(CheckSameImport(Sample(), Sample()).ok());
  for (const Case& c : cases) {
    ImportCheckpoint current = Sample();
    c.change(current);
    const Status differs = CheckSameImport(Sample(), current);
    EXPECT_EQ(differs.code(), StatusCode::kFailedPrecondition) << c.field;
    ASSERT_NE(differs.detail(), nullptr) << c.field;
    EXPECT_EQ(differs.detail()->rule, "checkpoint_mismatch");
    EXPECT_EQ(differs.detail()->path, c.field);
  }
}

}  // namespace
}  // namespace holdfast::cli
