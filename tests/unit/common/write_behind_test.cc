#include "broker/common/write_behind.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace bridgeline {
namespace {

std::string TempPath() {
  auto dir =
      std::filesystem::temp_directory_path() / ("write-behind-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / "growing.log").string();
}

void Append(const std::string& path, std::size_t bytes) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << std::string(bytes, 'x');
}

}  // namespace

TEST_CASE("a growing file is written back once per threshold, not per append") {
  const std::string path = TempPath();
  std::filesystem::remove(path);
  WriteBehind write_behind(path, 64 * 1024);

  SECTION("appends below the threshold start nothing; crossing it starts one write-back") {
    for (int i = 0; i < 63; ++i) {
      Append(path, 1024);
      write_behind.Wrote(1024);
    }
    CHECK(write_behind.started() == 0);
    Append(path, 1024);
    write_behind.Wrote(1024);
    CHECK(write_behind.started() == 1);
    // The count starts again after each write-back.
    Append(path, 63 * 1024);
    write_behind.Wrote(63 * 1024);
    CHECK(write_behind.started() == 1);
    Append(path, 1024);
    write_behind.Wrote(1024);
    CHECK(write_behind.started() == 2);
  }

  SECTION("a rotation between appends is no error and leaves both files whole") {
    Append(path, 1024);
    std::filesystem::rename(path, path + ".1");
    Append(path, 64 * 1024);
    write_behind.Wrote(65 * 1024);
    CHECK(write_behind.started() == 1);
    CHECK(std::filesystem::file_size(path) == 64 * 1024);
    CHECK(std::filesystem::file_size(path + ".1") == 1024);
  }

  SECTION("a file that is gone starts nothing and is no error") {
    write_behind.Wrote(1 << 20);
    CHECK(write_behind.started() == 0);
    Append(path, 64 * 1024);
    write_behind.Wrote(64 * 1024);
    CHECK(write_behind.started() == 1);
  }

  SECTION("what was written is left as it was") {
    Append(path, 100 * 1024);
    write_behind.Wrote(100 * 1024);
    CHECK(std::filesystem::file_size(path) == 100 * 1024);
  }
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

}  // namespace bridgeline
