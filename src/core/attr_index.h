// Secondary indexes of the model: for the attributes that list filters and the server's own
// lookups name most often (a port's device_id, device_owner, network_id and binding:host_id;
// a floating IP's port_id, fixed_ip_address, router_id and project), which objects hold which value.
// Nova asks for the ports of an instance (device_id) on every boot, resize and cache heal;
// without an index each such list reads every port.
//
// An index only narrows: whoever uses it still applies the whole filter to each candidate,
// so answers are exactly those of a scan of the table, in the same (id) order. Objects whose
// attribute is neither a string nor null (a filter may still match them by their text, e.g.
// a number) are always candidates.
#pragma once
#include <boost/json.hpp>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nt {

using Obj = boost::json::object;
using Table = std::map<std::string, Obj>;  // id -> resource, ordered by id
// A list's equality filters: different keys AND, the values of one key OR.
using EqualityFilters = std::vector<std::pair<std::string, std::vector<boost::json::value>>>;

class AttrIndex {
 public:
  using Row = Table::value_type;  // a table's own node: id and object
  struct ById {
    using is_transparent = void;
    bool operator()(const Row* a, const Row* b) const { return a->first < b->first; }
    bool operator()(const Row* a, std::string_view b) const { return a->first < b; }
    bool operator()(std::string_view a, const Row* b) const { return a < b->first; }
  };
  using Rows = std::set<const Row*, ById>;  // the table's nodes (stable while they exist), in id order

  AttrIndex() = default;
  // A copy would point into the other model's tables: a model with an index is moved (its
  // tables' nodes move with it), never copied.
  AttrIndex(const AttrIndex&) = delete;
  AttrIndex& operator=(const AttrIndex&) = delete;
  AttrIndex(AttrIndex&&) = default;
  AttrIndex& operator=(AttrIndex&&) = default;

  static bool covers(std::string_view kind, std::string_view attr);
  // `row` is the table's node, indexed by the values it holds now: remove() it before its
  // object changes or it leaves the table, add() it again after.
  void add(const std::string& kind, const Row& row);
  void remove(const std::string& kind, const Row& row);
  void clear() { columns_ = {}; }

  // How many rows hold one of `values` in `attr` (an upper bound when values repeat), or
  // nullopt when (kind, attr) is not indexed.
  std::optional<size_t> count(const std::string& kind, const std::string& attr, const std::vector<std::string>& values) const;
  // Those rows, in id order and without repeats (the odd ones included).
  std::vector<const Row*> rows(const std::string& kind, const std::string& attr, const std::vector<std::string>& values) const;
  // The rows holding `value` when they are all the rows of count(kind, attr, {value}) (no
  // odd ones), in place; nullptr otherwise.
  const Rows* bucket(const std::string& kind, const std::string& attr, const std::string& value) const;

 private:
  struct Column {
    std::unordered_map<std::string, Rows> by_value;
    Rows odd;  // attribute neither a string nor null
  };
  static constexpr size_t kKinds = 2, kAttrsPerKind = 5;  // attr_index.cc lists them
  const Column* column(const std::string& kind, const std::string& attr) const;
  template <class Fn>
  void each_value(const std::string& kind, const Row& row, Fn&& fn);
  std::array<std::array<Column, kAttrsPerKind>, kKinds> columns_;
};

// The rows of `table` (a `kind`) a list with `filters` must look at, in id order: those of
// its most selective indexed filter (`id` itself included) when every value of that filter
// is a non-empty string; nullopt when no filter narrows (all rows then).
std::optional<std::vector<const Obj*>> narrowed_rows(const Table& table, const AttrIndex& index, const std::string& kind,
                                                     const EqualityFilters& filters);

// The same rows, left in the index when they are one value's (a page of a network's
// thousands of ports then reads only the rows around its marker): `bucket` or `rows`.
struct NarrowedRows {
  const AttrIndex::Rows* bucket = nullptr;
  std::vector<const Obj*> rows;
};
std::optional<NarrowedRows> narrow(const Table& table, const AttrIndex& index, const std::string& kind,
                                   const EqualityFilters& filters);

}  // namespace nt
