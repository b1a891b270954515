// The agent's side of `neutrino trace --live` (channel/probe.h): what its kernel has of
// the entries a probe names, read once per namespace.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "channel/probe.h"
#include "kernel/host.h"

namespace nt::agent {

// The probe a watch line carries; nullopt for every other line.
std::optional<view::Probe> read_probe(const std::string& line);
// One result per check: "ok", "missing: <entry>" or "different: <what the kernel has>".
// `nft` is the named table as nftables lists it (for nft checks only). Pure.
std::string check_entry(const kernel::State& state, const std::string& nft, const view::ProbeCheck& c);
// Reads the namespaces the checks name (the agent's prefix added) and answers each.
std::vector<std::string> answer_probe(kernel::Host& host, const std::string& prefix,
                                      const std::vector<view::ProbeCheck>& checks);

}  // namespace nt::agent
