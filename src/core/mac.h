#pragma once
#include "common/net.h"
#include "core/model.h"

namespace nt {
// A random MAC from base_mac as Neutron makes them: the first 3 octets kept, the 4th kept
// if non-zero, the rest random. nullopt when no free MAC was found after many tries.
std::optional<Mac> random_free_mac(const Model& model, const std::string& network, const Mac& base);
}  // namespace nt
