// The progress line's figures (progress.h) from samples whose answers are
// worked out by hand here, and InputFiles against a file read through stdio
// as libpcap reads a capture.
#include "app/progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

TEST(ProgressTest, HumanUnits) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1000), "1.00 kB");
  EXPECT_EQ(HumanBytes(12345), "12.3 kB");
  EXPECT_EQ(HumanBytes(999499), "999 kB");
  EXPECT_EQ(HumanBytes(999500), "1.00 MB");
  EXPECT_EQ(HumanBytes(1374024), "1.37 MB");
  EXPECT_EQ(HumanBytes(20'000'000'000ull), "20.0 GB");
  EXPECT_EQ(HumanCount(0), "0");
  EXPECT_EQ(HumanCount(999), "999");
  EXPECT_EQ(HumanCount(1500), "1.50k");
  EXPECT_EQ(HumanCount(14'880'000), "14.9M");
  EXPECT_EQ(HumanDuration(0), "0:00");
  EXPECT_EQ(HumanDuration(7.4), "0:07");
  EXPECT_EQ(HumanDuration(754), "12:34");
  EXPECT_EQ(HumanDuration(3723), "1:02:03");
}

ProgressSample At(double sec, uint64_t read, uint64_t packets) {
  ProgressSample p;
  p.seconds = sec;
  p.bytes_read = read;
  p.bytes_total = 1'000'000;
  p.packets = packets;
  p.flows_live = 1200;
  p.outputs = true;
  p.records_out = 3400;
  return p;
}

TEST(ProgressTest, LineFromSuccessiveSamples) {
  ProgressMeter m;
  // No rate yet: no packets/s, no time left.
  EXPECT_EQ(m.Line(At(0, 0, 0)),
            "skyprobe: 0.0% of 1.00 MB | - pkt/s | 1.20k flows live | 3.40k records out | "
            "-:-- left");
  EXPECT_EQ(m.Line(At(0.5, 50'000, 100)),
            "skyprobe: 5.0% of 1.00 MB | - pkt/s | 1.20k flows live | 3.40k records out | "
            "-:-- left");
  // 1 s in: 250 kB/s and 500 pkt/s since the start; 750 kB left = 3 s.
  EXPECT_EQ(m.Line(At(1.0, 250'000, 500)),
            "skyprobe: 25.0% of 1.00 MB | 500 pkt/s | 1.20k flows live | 3.40k records out | "
            "0:03 left");
  // 99.96%: shown as 99.9% (100% is only the last byte).
  EXPECT_EQ(m.Line(At(2.0, 999'600, 2000)).substr(0, 24), "skyprobe: 99.9% of 1.00 ");
  EXPECT_NE(m.Line(At(3.0, 1'000'000, 2100)).find("100.0% of 1.00 MB"), std::string::npos);
}

TEST(ProgressTest, RatesComeFromTheLastSecondsOnly) {
  ProgressMeter m;
  // 10 s at 1000 pkt/s, then 10 s at 100 pkt/s: the rate shown is the new pace.
  uint64_t pk = 0, rd = 0;
  std::string line;
  for (int t = 0; t <= 20; ++t) {
    line = m.Line(At(t, rd, pk));
    pk += t < 10 ? 1000 : 100;
    rd += t < 10 ? 40'000 : 4'000;
  }
  // At t = 20: read 400k + 10 * 4k = 440k; the last 5 s ran at 4 kB/s, so
  // 560k left take 140 s.
  EXPECT_NE(line.find("44.0% of"), std::string::npos) << line;
  EXPECT_NE(line.find("| 100 pkt/s |"), std::string::npos) << line;
  EXPECT_NE(line.find("| 2:20 left"), std::string::npos) << line;
}

TEST(ProgressTest, UnknownSizeLostRecordsAndNoOutputs) {
  ProgressMeter m;
  ProgressSample p = At(0, 12'345, 0);
  p.bytes_total = 0;
  p.records_lost = 7;
  EXPECT_EQ(m.Line(p),
            "skyprobe: 12.3 kB read | - pkt/s | 1.20k flows live | 3.40k records out "
            "(7 lost)");
  ProgressMeter m2;
  p.outputs = false;
  EXPECT_EQ(m2.Line(p), "skyprobe: 12.3 kB read | - pkt/s | 1.20k flows live");
}

std::string TempFile(size_t size) {
  char name[] = "/tmp/progress_test_XXXXXX";
  const int fd = mkstemp(name);
  const std::string data(size, 'x');
  EXPECT_EQ(write(fd, data.data(), data.size()), ssize_t(size));
  close(fd);
  return name;
}

TEST(InputFilesTest, FollowsAStdioReaderOfEachFile) {
  const std::string a = TempFile(100'000), b = TempFile(30'000);
  std::FILE* fa = std::fopen(a.c_str(), "rb");
  std::FILE* fb = std::fopen(b.c_str(), "rb");
  // The same file given twice is read twice.
  std::FILE* fa2 = std::fopen(a.c_str(), "rb");
  ASSERT_TRUE(fa && fb && fa2);
  InputFiles files({a, b, a});
  EXPECT_EQ(files.total(), 230'000u);
  EXPECT_EQ(files.Read(), 0u);
  char buf[50'000];
  ASSERT_EQ(std::fread(buf, 1, 50'000, fa), 50'000u);
  // stdio reads ahead by whole buffers: the descriptor is at least as far.
  const long pos_a = lseek(fileno(fa), 0, SEEK_CUR);
  EXPECT_GE(pos_a, 50'000);
  EXPECT_EQ(files.Read(), static_cast<uint64_t>(pos_a));
  ASSERT_EQ(std::fread(buf, 1, 30'000, fb), 30'000u);
  EXPECT_EQ(std::fread(buf, 1, 1, fb), 0u);  // at its end
  EXPECT_EQ(files.Read(), static_cast<uint64_t>(pos_a) + 30'000u);
  // A reader that closed its file counts it as read.
  std::fclose(fa2);
  EXPECT_EQ(files.Read(), static_cast<uint64_t>(pos_a) + 30'000u + 100'000u);
  std::fclose(fa);
  std::fclose(fb);
  unlink(a.c_str());
  unlink(b.c_str());
}

TEST(InputFilesTest, AFileNobodyReadsLeavesTheTotalUnknown) {
  const std::string a = TempFile(1000);
  InputFiles files({a});  // not open anywhere in this process
  EXPECT_EQ(files.total(), 0u);
  InputFiles missing({"/nonexistent/file.pcap"});
  EXPECT_EQ(missing.total(), 0u);
  unlink(a.c_str());
}

}  // namespace
}  // namespace skyprobe
