// Transparent huge pages for the process's heap (glibc's malloc tunable
// glibc.malloc.hugetlb=1). A server's planner builds every host view at its start: in
// issue 18's cloud (2,000 hosts) that is ~1.5 GB of small objects, and the kernel's page
// faults were a sixth of the time (docs/benchmarks.md). glibc reads its tunables only when
// a program starts, so the program runs itself again with the tunable added.
#pragma once

namespace nt {

// Re-executes the running program (same pid, arguments, descriptors) with
// glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES, unless the environment already says
// anything about glibc.malloc.hugetlb (=0 turns it off) or the kernel never gives
// transparent huge pages. Returns only when it did not re-execute (or exec failed: the
// program then runs as it is). Call first in main, before any thread starts.
void run_with_huge_page_heap(char** argv);

}  // namespace nt
