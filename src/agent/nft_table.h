// One of our nftables tables as parts nftables can change one at a time: named sets and maps
// (a declaration and elements) and chains (their rules). Pure text, no kernel here.
//
// A table is created whole (text()), and from then on changed by the difference between
// what it holds and what it should hold (edit_script()): elements added to and deleted from
// sets and maps, chains flushed and refilled, added or deleted, all in one nftables
// transaction, so packets see the old or the new table and never a mix, and what did not
// change (other ports' chains, unrelated sets) is not touched at all.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>

namespace nt::agent {

struct NftSet {
  bool map = false;            // "map" (elements "key : value") or "set"
  std::string declaration;     // "type ipv4_addr; flags interval;"
  std::set<std::string> elements;
  bool operator==(const NftSet&) const = default;
};

struct NftTable {
  std::map<std::string, NftSet> sets;        // by name
  std::map<std::string, std::string> chains;  // by name: the chain's lines, each ending in "\n"
  bool operator==(const NftTable&) const = default;
  bool empty() const { return sets.empty() && chains.empty(); }
  // The body of `table <family> <name> { ... }`: sets first, then chains.
  std::string text() const;
};

// Base chains (a "type ... hook" line) and set declarations are never edited in place: a
// change to either needs the whole table replaced (nullopt). Otherwise the commands that turn
// table `table` ("inet nt-sg") from `from` into `to`; "" when they are equal.
std::optional<std::string> edit_script(const std::string& table, const NftTable& from, const NftTable& to);

// The key of a map element ("\"tap1\" : jump from-3" -> "\"tap1\""); a set element is its own key.
std::string element_key(const std::string& element, bool map);

}  // namespace nt::agent
