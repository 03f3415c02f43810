#include "broker/common/write_behind.h"

#include <fcntl.h>
#include <unistd.h>

namespace bridgeline {

void WriteBehind::Wrote(std::uint64_t bytes) {
  pending_ += bytes;
  if (pending_ < every_bytes_) return;
  pending_ = 0;
  // By name, not by the writer's handle: the file may have been rotated since, and then the
  // new file is the one growing (the old one's last pages are left to the kernel).
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0) ++started_;
  ::close(fd);
}

}  // namespace bridgeline
