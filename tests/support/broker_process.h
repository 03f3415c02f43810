// Runs the real `bridgeline serve` binary on a free loopback port, for end-to-end tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace bridgeline::testing {

class BrokerProcess {
 public:
  // Starts `bridgeline serve --config <config> --data-dir <data_dir> --listen 127.0.0.1:<port>`
  // (port 0: a free one) and waits until it says where it listens and /readyz answers 200.
  // Its output goes to `log_path` (default: beside the data directory).
  BrokerProcess(std::string config, std::string data_dir, unsigned short port = 0,
                std::string log_path = {});
  ~BrokerProcess();  // SIGKILL if still running

  bool running() const { return pid_ > 0; }
  unsigned short port() const { return port_; }
  // What the broker printed so far (stdout and stderr).
  std::string output() const;
  // SIGTERM and wait; returns the exit status (or -1).
  int Terminate();
  // SIGKILL and wait: a crash.
  void Kill();
  // Sends `signal` (SIGHUP...) and returns at once.
  void Signal(int signal);

  // Path of the binary under test and of the example config, set by the build.
  static std::string Binary();
  static std::string ExampleConfig();
  // Writes `base` with each `from` text replaced by its `to` to <dir>/config.yaml and returns
  // that path: a variant of a config for one test.
  static std::string ConfigVariant(
      const std::string& base, const std::string& dir,
      const std::vector<std::pair<std::string, std::string>>& replacements);
  // A fresh, empty directory under the system's temporary directory.
  static std::string TempDir(const std::string& name);
  // A loopback port the system just handed out and let go, for a server a test starts itself.
  static unsigned short FreePort();

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::string log_path_;
};

}  // namespace bridgeline::testing
