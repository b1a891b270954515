#include "common/huge_pages.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace nt {
namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb";

// "always [madvise] never": the bracketed word is the mode.
bool kernel_gives_huge_pages() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  return std::getline(in, modes) && modes.find("[never]") == std::string::npos && !modes.empty();
}

}  // namespace

void run_with_huge_page_heap(char** argv) {
#if defined(__GLIBC__)
  const char* given = std::getenv("GLIBC_TUNABLES");
  std::string tunables = given ? given : "";
  if (tunables.find(kTunable) != std::string::npos || !kernel_gives_huge_pages()) return;
  tunables += (tunables.empty() ? "" : ":") + std::string(kTunable) + "=1";
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Not re-executed (no /proc, say): run as we are, and do not pretend the tunable holds.
  if (given) setenv("GLIBC_TUNABLES", given, 1);
  else unsetenv("GLIBC_TUNABLES");
#else
  (void)argv;
#endif
}

}  // namespace nt
