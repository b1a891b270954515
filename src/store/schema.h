#pragma once
#include <string>
#include <vector>

#include "store/store.h"

namespace nt {
const std::vector<std::string>& migrations();
}  // namespace nt
