// The agent's host token file: written atomically with mode 0600, read back, and anything
// that is not a token the server issues is ignored rather than sent in a header.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "agent/agent.h"
#include "common/secret.h"

namespace nt::agent {

TEST(HostToken, WrittenPrivatelyAndReadBack) {
  auto dir = std::filesystem::temp_directory_path() / ("nt-token-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto file = (dir / "sub" / "cmp1.token").string();
  auto token = new_secret();
  ASSERT_TRUE(write_host_token(file, token));
  EXPECT_EQ(read_host_token(file), token);
  struct stat st{};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(file + ".new"));
  EXPECT_EQ(read_host_token((dir / "missing.token").string()), "");
  for (const char* bad : {"short", "X-Evil: 1\r\nHost: x", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"}) {
    std::ofstream(file) << bad << "\n";
    EXPECT_EQ(read_host_token(file), "") << bad;
  }
  std::filesystem::remove_all(dir);
}

TEST(HostToken, SecretsAreRandomAndMatchOnlyTheirHash) {
  auto a = new_secret(), b = new_secret();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 64u);
  auto hash = sha256_hex(a);
  EXPECT_TRUE(secret_matches(a, hash));
  EXPECT_FALSE(secret_matches(b, hash));
  EXPECT_FALSE(secret_matches("", hash));
  EXPECT_FALSE(secret_matches(a, ""));
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
}

}  // namespace nt::agent
