// main() of the benchmarks that work on the real kernel: Google Benchmark run inside a
// network namespace of their own (<prefix><pid>), removed at the end; needs root.
#pragma once
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "kernel/netns.h"

inline int run_benchmarks_in_own_namespace(const std::string& prefix, const char* what, int argc, char** argv) {
  if (::geteuid() != 0) return std::cerr << what << ": needs root (a network namespace of its own)\n", 2;
  auto ns = prefix + std::to_string(::getpid());
  if (auto made = nt::kernel::create_namespace(ns); !made) return std::cerr << made.error().message << "\n", 1;
  int rc = 0;
  if (auto in = nt::kernel::enter_namespace(ns); !in) {
    std::cerr << in.error().message << "\n";
    rc = 1;
  } else {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  }
  (void)nt::kernel::delete_namespace(ns);
  return rc;
}
