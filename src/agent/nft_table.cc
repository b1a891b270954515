#include "agent/nft_table.h"

#include <vector>

namespace nt::agent {

namespace {

bool is_base_chain(const std::string& body) { return body.find(" hook ") != std::string::npos; }

// Elements in one command, comma-separated (nftables takes thousands per command).
std::string element_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

struct ElementChanges {
  std::vector<std::string> deleted, added;  // deleted: keys only (a map's element goes by its key)
};

ElementChanges element_changes(const NftSet* from, const NftSet& to) {
  ElementChanges c;
  if (from)
    for (const auto& e : from->elements)
      if (!to.elements.count(e)) c.deleted.push_back(element_key(e, to.map));
  for (const auto& e : to.elements)
    if (!from || !from->elements.count(e)) c.added.push_back(e);
  return c;
}

}  // namespace

std::string element_key(const std::string& element, bool map) {
  if (!map) return element;
  auto colon = element.find(" : ");
  return colon == std::string::npos ? element : element.substr(0, colon);
}

std::string NftTable::text() const {
  std::string out;
  for (const auto& [name, s] : sets) {
    out += std::string("  ") + (s.map ? "map " : "set ") + name + " {\n    " + s.declaration + "\n";
    if (!s.elements.empty())
      out += "    elements = { " + element_list({s.elements.begin(), s.elements.end()}) + " }\n";
    out += "  }\n";
  }
  for (const auto& [name, body] : chains) out += "  chain " + name + " {\n" + body + "  }\n";
  return out;
}

std::optional<std::string> edit_script(const std::string& table, const NftTable& from, const NftTable& to) {
  for (const auto& [name, body] : to.chains)
    if (auto f = from.chains.find(name); (f == from.chains.end() || f->second != body) && is_base_chain(body)) return std::nullopt;
  for (const auto& [name, body] : from.chains)
    if (!to.chains.count(name) && is_base_chain(body)) return std::nullopt;
  for (const auto& [name, s] : to.sets)
    if (auto f = from.sets.find(name); f != from.sets.end() && (f->second.map != s.map || f->second.declaration != s.declaration))
      return std::nullopt;

  // Order inside the one transaction: what is referred to exists before what refers to it,
  // and goes only after nothing refers to it any more.
  std::string made, elements, refilled, emptied, gone;
  for (const auto& [name, body] : to.chains) {
    auto f = from.chains.find(name);
    if (f != from.chains.end() && f->second == body) continue;
    if (f == from.chains.end()) made += "add chain " + table + " " + name + "\n";
    else refilled += "flush chain " + table + " " + name + "\n";
    if (!body.empty()) refilled += "table " + table + " {\n  chain " + name + " {\n" + body + "  }\n}\n";
  }
  for (const auto& [name, s] : to.sets) {
    auto f = from.sets.find(name);
    if (f == from.sets.end()) made += std::string("add ") + (s.map ? "map " : "set ") + table + " " + name + " { " + s.declaration + " }\n";
    auto c = element_changes(f == from.sets.end() ? nullptr : &f->second, s);
    if (!c.deleted.empty()) elements += "delete element " + table + " " + name + " { " + element_list(c.deleted) + " }\n";
    if (!c.added.empty()) elements += "add element " + table + " " + name + " { " + element_list(c.added) + " }\n";
  }
  for (const auto& [name, body] : from.chains)
    if (!to.chains.count(name)) emptied += "flush chain " + table + " " + name + "\n", gone += "delete chain " + table + " " + name + "\n";
  for (const auto& [name, s] : from.sets)
    if (!to.sets.count(name)) gone += std::string("delete ") + (s.map ? "map " : "set ") + table + " " + name + "\n";
  // Elements before chains are refilled: a new element may jump to a new chain (made above),
  // and an element deleted here may be the last jump to a chain deleted below.
  return made + elements + refilled + emptied + gone;
}

}  // namespace nt::agent
