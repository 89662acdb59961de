#include "progress_bar.h"

#include <gtest/gtest.h>

namespace holdfast::cli {
namespace {

TEST(FormatCompact, ShortensLargeNumbers) {
  EXPECT_EQ(FormatCompact(0), "0");
  EXPECT_EQ(FormatCompact(999.7), "999");
  EXPECT_EQ(FormatCompact(1000), "1.0k");
  EXPECT_EQ(FormatCompact(1234), "1.2k");
  EXPECT_EQ(FormatCompact(56789), "57k");
  EXPECT_EQ(FormatCompact(3'400'000), "3.4M");
  EXPECT_EQ(FormatCompact(-1), "-");
}

TEST(FormatProgress, WithoutATotalShowsCountAndRate) {
  ProgressState state{.verb = "exported", .items = 2500, .elapsed_seconds = 2.0};
  EXPECT_EQ(FormatProgress(state, 80), "exported 2500 keys  1.2k keys/s");
}

TEST(FormatProgress, AtTheStartThereIsNoRate) {
  ProgressState state{.verb = "exported", .items = 0, .elapsed_seconds = 0};
  EXPECT_EQ(FormatProgress(state, 80), "exported 0 keys");
}

TEST(FormatProgress, WithATotalDrawsABarAndPercentage) {
  ProgressState state{.verb = "imported",
                      .items = 45,
                      .elapsed_seconds = 1.0,
                      .bytes_done = 450,
                      .bytes_total = 1000};
  const std::string line = FormatProgress(state, 80);
  EXPECT_EQ(line, "imported 45 keys  45 keys/s  [##################......................]   45%");
  EXPECT_LE(line.size(), 80u);
}

TEST(FormatProgress, NeverExceedsTheWidthWhenItCanFit) {
  ProgressState state{.verb = "imported",
                      .items = 123456,
                      .elapsed_seconds = 3.0,
                      .bytes_done = 1,
                      .bytes_total = 3};
  for (int width = 30; width <= 120; ++width) {
    EXPECT_LE(FormatProgress(state, width).size(), static_cast<std::size_t>(width)) << width;
  }
}

TEST(FormatProgress, NarrowTerminalsDropTheBarThenTheRate) {
  ProgressState state{
      .verb = "imported", .items = 10, .elapsed_seconds = 1.0, .bytes_done = 1, .bytes_total = 2};
  EXPECT_EQ(FormatProgress(state, 36), "imported 10 keys  10 keys/s   50%");
  EXPECT_EQ(FormatProgress(state, 25), "imported 10 keys   50%");
  EXPECT_EQ(FormatProgress(state, 5), "imported 10 keys");
}

TEST(FormatProgress, CompleteAndOverfullShowAHundredPercent) {
  ProgressState state{.verb = "imported",
                      .items = 10,
                      .elapsed_seconds = 1.0,
                      .bytes_done = 200,
                      .bytes_total = 100};
  const std::string line = FormatProgress(state, 80);
  EXPECT_NE(line.find("100%"), std::string::npos);
  EXPECT_EQ(line.find('.'), std::string::npos) << line;
}

TEST(ProgressBar, DisabledBarWritesNothing) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    ProgressBar bar("imported", out, /*enabled=*/false, 100);
    bar.Update(5, 50);
    bar.Finish();
  }
  EXPECT_EQ(std::ftell(out), 0);
  std::fclose(out);
}

TEST(ProgressBar, EnabledBarRedrawsInPlaceAndErasesItself) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    ProgressBar bar("imported", out, /*enabled=*/true);
    bar.Update(5);
    bar.Finish();
  }
  std::rewind(out);
  char buf[256] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, out);
  const std::string text(buf, n);
  EXPECT_EQ(text.rfind("\r\033[Kimported 5 keys", 0), 0u) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");
  EXPECT_EQ(text.find('\n'), std::string::npos);
  std::fclose(out);
}

}  // namespace
}  // namespace holdfast::cli
