#include "tests/support/broker_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "broker/http/client.h"

namespace bridgeline::testing {

std::string BrokerProcess::Binary() { return BRIDGELINE_BINARY; }
std::string BrokerProcess::ExampleConfig() { return BRIDGELINE_SOURCE_DIR "/config/example.yaml"; }

std::string BrokerProcess::ConfigVariant(
    const std::string& base, const std::string& dir,
    const std::vector<std::pair<std::string, std::string>>& replacements) {
  std::ifstream in(base);
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  for (const auto& [from, to] : replacements) {
    auto at = yaml.find(from);
    if (at == std::string::npos) throw std::runtime_error("'" + from + "' is not in " + base);
    yaml.replace(at, from.size(), to);
  }
  std::string path = dir + "/config.yaml";
  std::ofstream(path) << yaml;
  return path;
}

std::string BrokerProcess::TempDir(const std::string& name) {
  std::random_device random;
  auto dir =
      std::filesystem::temp_directory_path() /
      ("bridgeline-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

unsigned short BrokerProcess::FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!bound)
    throw std::runtime_error(std::string("binding a loopback socket to a free port: ") +
                             std::strerror(error));
  return ntohs(address.sin_port);
}

BrokerProcess::BrokerProcess(std::string config, std::string data_dir, unsigned short port,
                             std::string log_path) {
  log_path_ = log_path.empty() ? data_dir + ".log" : log_path;
  std::string listen = "127.0.0.1:" + std::to_string(port);
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* log = std::fopen(log_path_.c_str(), "w");
    if (log != nullptr) {
      ::dup2(fileno(log), 1);
      ::dup2(fileno(log), 2);
    }
    std::string binary = Binary();
    std::vector<char*> argv = {binary.data(),
                               const_cast<char*>("serve"),
                               const_cast<char*>("--config"),
                               config.data(),
                               const_cast<char*>("--data-dir"),
                               data_dir.data(),
                               const_cast<char*>("--listen"),
                               listen.data(),
                               nullptr};
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  static const std::regex kListening(R"(listening on (https?)://127\.0\.0\.1:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("bridgeline exited during start-up:\n" + output());
    }
    std::smatch match;
    std::string text = output();
    if (std::regex_search(text, match, kListening)) {
      port_ = static_cast<unsigned short>(std::stoi(match[2]));
      if (match[1] == "https")
        return;  // printed only once ready; the test client speaks plain HTTP
      http::HttpClient client("127.0.0.1", port_);
      if (client.Request("GET", "/readyz").status == 200) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  throw std::runtime_error("bridgeline did not become ready in 30 s:\n" + output());
}

BrokerProcess::~BrokerProcess() { Kill(); }

std::string BrokerProcess::output() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int BrokerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void BrokerProcess::Signal(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

void BrokerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace bridgeline::testing
