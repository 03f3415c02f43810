// Removing large files a piece at a time, so that their blocks are not all freed at once.
#include "broker/common/gradual_remove.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "tests/support/broker_process.h"

namespace {

namespace fs = std::filesystem;
using bridgeline::BackgroundRemover;
using bridgeline::RemoveGradually;
using bridgeline::Status;
using bridgeline::testing::BrokerProcess;

constexpr std::uint64_t kMiB = 1 << 20;

void WriteFile(const fs::path& path, std::uint64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::string mebibyte(kMiB, 'x');
  for (std::uint64_t written = 0; written < bytes; written += kMiB) out << mebibyte;
}

}  // namespace

TEST_CASE("a file removed gradually shrinks a chunk at a time, then is gone") {
  const fs::path dir = BrokerProcess::TempDir("gradual-remove");
  const fs::path file = dir / "old.jsonl";
  WriteFile(file, 8 * kMiB);

  SECTION("the sizes it passes through are whole chunks below the start") {
    std::set<std::uintmax_t> seen;
    Status removed;  // checked on this thread: Catch's assertions are not thread-safe
    std::thread remover(
        [&] { removed = RemoveGradually(file.string(), kMiB, std::chrono::milliseconds(20)); });
    std::error_code error;
    while (true) {
      const auto size = fs::file_size(file, error);
      if (error) break;  // gone
      seen.insert(size);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    remover.join();
    CHECK(removed.ok());
    CHECK_FALSE(fs::exists(file));
    std::set<std::uintmax_t> between;
    for (auto size : seen) {
      CHECK(size % kMiB == 0);
      if (size > 0 && size < 8 * kMiB) between.insert(size);
    }
    // Seven steps of 20 ms each: a poll every 2 ms sees most of them.
    CHECK(between.size() >= 3);
  }
  SECTION("a file with another hard link is unlinked whole, and the link keeps every byte") {
    const fs::path link = dir / "backup.jsonl";
    fs::create_hard_link(file, link);
    REQUIRE(RemoveGradually(file.string()).ok());
    CHECK_FALSE(fs::exists(file));
    CHECK(fs::file_size(link) == 8 * kMiB);
  }
  SECTION("a missing file is NotFound") {
    fs::remove(file);
    CHECK(RemoveGradually(file.string()).code() == Status::Code::kNotFound);
  }
  fs::remove_all(dir);
}

TEST_CASE("a background removal frees the name at once and the file soon after") {
  const fs::path dir = BrokerProcess::TempDir("background-remove");
  const fs::path file = dir / "desk.jsonl.3";
  const fs::path removing = dir / "desk.jsonl.3.removing";
  WriteFile(file, 4 * kMiB);
  BackgroundRemover remover;

  SECTION("the name is free when Remove returns; Wait sees the file gone") {
    REQUIRE(remover.Remove(file.string()).ok());
    CHECK_FALSE(fs::exists(file));
    remover.Wait();
    CHECK_FALSE(fs::exists(removing));
    SECTION("the same name again, once it exists again") {
      WriteFile(file, 2 * kMiB);
      REQUIRE(remover.Remove(file.string()).ok());
      remover.Wait();
      CHECK_FALSE(fs::exists(file));
      CHECK_FALSE(fs::exists(removing));
    }
  }
  SECTION("a leftover of an interrupted removal goes first, and does not stay") {
    WriteFile(removing, 3 * kMiB);
    REQUIRE(remover.Remove(file.string()).ok());
    remover.Wait();
    CHECK(fs::is_empty(dir));
  }
  SECTION("a missing file is NotFound and changes nothing") {
    CHECK(remover.Remove((dir / "none").string()).code() == Status::Code::kNotFound);
    CHECK(fs::exists(file));
  }
  fs::remove_all(dir);
}
