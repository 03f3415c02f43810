#include "broker/common/gradual_remove.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/common/thread.h"

namespace bridgeline {

namespace {
Status Errno(const std::string& what, const std::string& path) {
  return Status::Unavailable(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

Status RemoveGradually(const std::string& path, std::uint64_t chunk_bytes,
                       std::chrono::milliseconds pause) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no file " + path);
    return Errno("opening", path);
  }
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_nlink == 1 && chunk_bytes > 0) {
    auto size = static_cast<std::uint64_t>(info.st_size);
    while (size > chunk_bytes) {
      size -= chunk_bytes;
      if (::ftruncate(fd, static_cast<off_t>(size)) != 0) break;  // unlinked whole below
      std::this_thread::sleep_for(pause);
    }
  }
  ::close(fd);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("removing", path);
  return Status::Ok();
}

BackgroundRemover::~BackgroundRemover() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status BackgroundRemover::Remove(const std::string& path) {
  const std::string removing = path + ".removing";
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !pending_ && !removing_; });
  if (::access(removing.c_str(), F_OK) == 0) {
    lock.unlock();
    (void)RemoveGradually(removing);
    lock.lock();
  }
  if (::rename(path.c_str(), removing.c_str()) != 0) {
    if (errno == ENOENT) return Status::NotFound("no file " + path);
    return Errno("renaming", path);
  }
  pending_ = removing;
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  changed_.notify_all();
  return Status::Ok();
}

void BackgroundRemover::Wait() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !pending_ && !removing_; });
}

void BackgroundRemover::Run() {
  pthread_setname_np(pthread_self(), "bl-remove");
  RunInBackground();
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || pending_; });
    if (!pending_) return;  // stopping, with nothing left
    std::string path = std::move(*pending_);
    pending_.reset();
    removing_ = true;
    lock.unlock();
    (void)RemoveGradually(path);  // a failure leaves it to the next removal of that name
    lock.lock();
    removing_ = false;
    changed_.notify_all();
  }
}

}  // namespace bridgeline
