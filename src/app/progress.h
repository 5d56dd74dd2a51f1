// progress.h: the progress line of a --pcap run on a terminal (issue 14):
// how much of the input is read, packets/s, flows live, records out, time left.
//
// Owner: the control lcore, which samples twice a second (a periodic task of
// the control loop) and hands the line to the TerminalRelay (terminal_relay.h).
//
//   InputFiles files(paths);          // after the ports opened their files
//   line = meter.Line(ProgressSample{seconds, files.Read(), files.total(), ...});
//
// How much is read. net_pcap reads each file through libpcap's stdio stream:
// the offset of that file descriptor is how far the reading got (to within a
// stdio buffer), whatever the format (pcap, pcapng) and however the frames are
// then spread to workers. The descriptors are found once, among this process's
// own, by device and inode; no byte of the data path is touched.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace skyprobe {

struct ProgressSample {
  double seconds = 0;        // since the start, wall time
  uint64_t bytes_read = 0;   // of the input files
  uint64_t bytes_total = 0;  // their sizes; 0: not known (no percent, no time left)
  uint64_t packets = 0;      // packets_in
  uint64_t flows_live = 0;
  bool outputs = false;  // records go to outputs: records_out and records_lost say something
  uint64_t records_out = 0;
  uint64_t records_lost = 0;
};

// Turns successive samples into the line. Rates are taken over the last
// kWindowSec seconds, so that a replay slowing down (or paced) shows it soon.
class ProgressMeter {
 public:
  static constexpr double kWindowSec = 5.0;
  std::string Line(const ProgressSample& now);

 private:
  std::deque<ProgressSample> window_;
};

// Human units, as the progress line writes them (decimal, three digits).
std::string HumanBytes(uint64_t bytes);     // "980 B", "12.3 kB", "1.02 GB"
std::string HumanCount(double n);           // "980", "12.3k", "4.56M"
std::string HumanDuration(double seconds);  // "0:07", "12:34", "1:02:03"

// The --pcap files as the probe reads them.
class InputFiles {
 public:
  // Looks each path up (size, device, inode) and the descriptors among this
  // process's open files that read it. Call once the ports are started.
  explicit InputFiles(const std::vector<std::string>& paths);
  // Sum of the files' sizes, 0 when one of them has no descriptor found
  // (then how much is read is not known).
  uint64_t total() const { return complete_ ? total_ : 0; }
  // How far the reading got, summed over the files; a file whose descriptor
  // was closed since counts as read.
  uint64_t Read() const;

 private:
  struct Open {
    int fd;
    dev_t dev;
    ino_t ino;
    uint64_t size;
  };
  std::vector<Open> open_;
  uint64_t total_ = 0;
  bool complete_ = false;
};

}  // namespace skyprobe
