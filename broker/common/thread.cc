#include "broker/common/thread.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace bridgeline {

void RunInBackground() {
  // On Linux a nice value belongs to the thread (its tid), not to the whole process.
  constexpr int kBackgroundNice = 10;
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kBackgroundNice);
}

}  // namespace bridgeline
