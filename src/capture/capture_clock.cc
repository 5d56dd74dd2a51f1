// capture_clock.cc: the limit of believable capture times.
#include "capture/capture_clock.h"

#include <chrono>

namespace skyprobe {

int64_t CaptureTimeLimitNs() {
  // Static initialisation runs once, thread-safely: every lcore and the
  // pacer agree on the limit.
  static const int64_t kLimit = [] {
    constexpr int64_t kOneDayNs = 86'400'000'000'000;
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return now + kOneDayNs;
  }();
  return kLimit;
}

}  // namespace skyprobe
