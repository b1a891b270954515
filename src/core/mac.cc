#include "core/mac.h"

#include "common/uuid.h"

namespace nt {

std::optional<Mac> random_free_mac(const Model& model, const std::string& network, const Mac& base) {
  bool keep4 = ((base.value >> 16) & 0xff) != 0;
  uint64_t fixed_mask = keep4 ? 0xffffffff0000ULL : 0xffffff000000ULL;
  for (int attempt = 0; attempt < 64; ++attempt) {
    Mac m{(base.value & fixed_mask) | (random_u64() & ~fixed_mask & 0xffffffffffffULL)};
    if (!model.mac_used(network, m.value)) return m;
  }
  return std::nullopt;
}

}  // namespace nt
