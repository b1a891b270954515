#include "channel/shared_text.h"

#include <boost/json.hpp>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

namespace nt {

SharedText::SharedText(std::string_view text) {
  if (text.size() > std::numeric_limits<uint32_t>::max()) throw std::length_error("shared text too long");
  void* block = ::operator new(sizeof(Rep) + text.size(), kAlign);
  auto* rep = new (block) Rep{{1}, static_cast<uint32_t>(text.size())};
  std::memcpy(reinterpret_cast<char*>(rep + 1), text.data(), text.size());
  bits_ = reinterpret_cast<uintptr_t>(rep);
}

void SharedText::release(Rep* rep) noexcept {
  rep->~Rep();
  ::operator delete(rep, kAlign);
}

ViewEntry ViewEntry::of(const boost::json::object& obj) { return ViewEntry(boost::json::serialize(obj)); }

boost::json::object ViewEntry::object() const {
  if (!*this) return {};
  // The text is the serializer's own output: it parses (an object, or the planner is wrong).
  return boost::json::parse(str()).as_object();
}

}  // namespace nt
