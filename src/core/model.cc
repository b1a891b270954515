#include "core/model.h"

#include "common/text.h"
#include "core/segments.h"

namespace nt {
namespace json = boost::json;

std::string project_of(const Obj& o) { return jget::str(o.if_contains("project_id")); }

const Obj* Model::find(const std::string& kind, const std::string& id) const {
  auto t = by_id_.find(kind);
  if (t == by_id_.end()) return nullptr;
  auto it = t->second.find(id);
  return it == t->second.end() ? nullptr : it->second;
}

const std::string* Model::text(const std::string& kind, const std::string& id) const {
  auto t = texts_.find(kind);
  if (t == texts_.end()) return nullptr;
  auto it = t->second.find(id);
  return it == t->second.end() ? nullptr : &it->second;
}

bool Model::ip_used(const std::string& subnet, u128 ip) const {
  auto it = ips_.find(subnet);
  return it != ips_.end() && it->second.count(ip);
}
void Model::ip_freed(const std::string& subnet, u128 freed) {
  if (auto it = ip_windows_.find(subnet); it != ip_windows_.end() && it->second.started && freed < it->second.next)
    it->second.free.push_back(freed);
}

const std::unordered_set<u128, U128Hash>* Model::ips_of(const std::string& subnet) const {
  auto it = ips_.find(subnet);
  return it == ips_.end() ? nullptr : &it->second;
}
bool Model::mac_used(const std::string& network, uint64_t mac) const {
  auto it = macs_.find(network);
  return it != macs_.end() && it->second.count(mac);
}
bool Model::segment_used(const std::string& type_physnet, uint64_t id) const {
  auto it = segments_.find(type_physnet);
  return it != segments_.end() && it->second.count(id);
}

int64_t Model::count(const std::string& kind, const std::string& project) const {
  auto it = counts_.find(kind + "/" + project);
  return it == counts_.end() ? 0 : it->second;
}
void Model::count_row(const std::string& kind, const Obj& o, int64_t delta) {
  counts_[kind + "/" + project_of(o)] += delta;
}

void Model::clear() {
  counts_.clear();
  attr_index_.clear();
  by_id_.clear();
  texts_.clear();
  tables_.clear(), ips_.clear(), ip_windows_.clear(), macs_.clear(), segments_.clear(), ports_by_network.clear();
  revision = 0;
}

void Model::index_port(const Obj& port, bool add) {
  auto net = jget::str(port.if_contains("network_id"));
  auto id = jget::str(port.if_contains("id"));
  if (add) ports_by_network[net].insert(id);
  else ports_by_network[net].erase(id);
}

Status Model::load(const LoadedState& state, std::vector<BadRow>* skipped) {
  clear();
  revision = state.revision;
  for (const auto& [kind, rows] : state.rows) {
    auto& table = tables_[kind];
    for (const auto& row : rows) {
      boost::system::error_code ec;
      auto v = json::parse(row.body, ec);
      std::string why = ec ? "not valid JSON (" + ec.message() + ")"
                      : !v.is_object() ? "not a JSON object"
                      : !storable_json(v) ? "holds a non-finite number or text that is not UTF-8"
                                          : "";
      if (!why.empty()) {
        if (!skipped) return fail(Errc::internal, Origin::store, "table " + kind + ", row " + row.id + ": " + why);
        skipped->push_back({kind, row.id, why});
        continue;
      }
      count_row(kind, v.as_object(), 1);
      table[row.id] = std::move(v.as_object());
      texts_[kind][row.id] = row.body;
    }
  }
  index_allocations();
  return {};
}

// Rebuilds the allocation indexes from the resources themselves.
void Model::index_allocations() {
  for (const auto& a : derived_allocations(*this)) {
    if (a.kind == AllocKind::ip) {
      if (auto ip = IpAddress::parse(a.value)) ips_[a.scope].insert(ip->value);
    } else if (a.kind == AllocKind::mac) {
      if (auto mac = Mac::parse(a.value)) macs_[a.scope].insert(mac->value);
    } else {
      segments_[a.scope].insert(std::stoull(a.value));
    }
  }
  for (const auto& [id, port] : tables_["ports"]) index_port(port, true);
  for (const auto& [kind, table] : tables_)
    for (const auto& row : table) attr_index_.add(kind, row), row_added(kind, row);
}

std::vector<const Obj*> Model::holding(const std::string& kind, const std::string& attr, const std::string& value) const {
  std::vector<const Obj*> out;
  const Table* table = find_table(kind);
  if (!table || value.empty()) return out;
  auto holds = [&](const Obj& o) {
    const auto* v = o.if_contains(attr);
    return v && v->is_string() && v->get_string() == value;
  };
  if (auto narrowed = narrowed_rows(*table, attr_index_, kind, {{attr, {boost::json::value(value)}}})) {
    for (const Obj* o : *narrowed)
      if (holds(*o)) out.push_back(o);
    return out;
  }
  for (const auto& [id, o] : *table)
    if (holds(o)) out.push_back(&o);
  return out;
}

std::vector<AllocChange> derived_allocations(const Model& m) {
  std::vector<AllocChange> out;
  if (const Table* ports = m.find_table("ports"))
    for (const auto& [id, port] : *ports) {
      auto net = jget::str(port.if_contains("network_id"));
      if (auto mac = Mac::parse(jget::str(port.if_contains("mac_address")))) out.push_back({AllocKind::mac, net, mac->str(), id});
      if (auto* ips = port.if_contains("fixed_ips"); ips && ips->is_array())
        for (const auto& f : ips->as_array()) {
          const auto* fo = f.if_object();
          if (!fo) continue;
          auto ip = IpAddress::parse(jget::str(fo->if_contains("ip_address")));
          if (ip) out.push_back({AllocKind::ip, jget::str(fo->if_contains("subnet_id")), ip->str(), id});
        }
    }
  if (const Table* nets = m.find_table("networks"))
    for (const auto& [id, net] : *nets)
      for (const auto& seg : network_segments(net)) {  // every segment of a multi-provider network
        if (seg.network_type == "flat") out.push_back({AllocKind::segment, segment_key(seg), "0", id});
        else if (seg.segmentation_id)
          out.push_back({AllocKind::segment, segment_key(seg), std::to_string(*seg.segmentation_id), id});
      }
  if (const Table* hosts = m.find_table("hosts"))
    for (const auto& [id, host] : *hosts)
      if (auto mac = Mac::parse(jget::str(host.if_contains("dvr_mac")))) out.push_back({AllocKind::mac, "dvr", mac->str(), id});
  return out;
}

void Txn::put(const std::string& kind, Obj obj) {
  auto id = jget::str(obj.if_contains("id"));
  auto& table = model_.tables_[kind];
  auto it = table.find(id);
  auto text = json::serialize(obj);
  auto& text_slot = model_.texts_[kind][id];
  std::string old_text = std::exchange(text_slot, text);
  changes_.rows.push_back({kind, id, project_of(obj), std::move(text)});
  undo_.push_back([this, kind, id, old_text = std::move(old_text)]() mutable {
    if (old_text.empty()) model_.texts_[kind].erase(id);
    else model_.texts_[kind][id] = std::move(old_text);
  });
  if (kind == "ports") {
    if (it != table.end()) model_.index_port(it->second, false);
    model_.index_port(obj, true);
  }
  auto& index = model_.attr_index_;
  if (it == table.end()) {
    model_.count_row(kind, obj, 1);
    auto added = table.emplace(id, std::move(obj)).first;
    index.add(kind, *added);
    model_.row_added(kind, *added);
    undo_.push_back([this, kind, id] {
      auto row = model_.tables_[kind].find(id);
      if (kind == "ports") model_.index_port(row->second, false);
      model_.attr_index_.remove(kind, *row);
      model_.by_id_[kind].erase(id);
      model_.count_row(kind, row->second, -1);
      model_.tables_[kind].erase(row);
    });
  } else {
    index.remove(kind, *it);
    Obj old = std::exchange(it->second, std::move(obj));
    index.add(kind, *it);
    undo_.push_back([this, kind, id, old = std::move(old)]() mutable {
      auto slot = model_.tables_[kind].find(id);
      if (kind == "ports") model_.index_port(slot->second, false), model_.index_port(old, true);
      model_.attr_index_.remove(kind, *slot);
      slot->second = std::move(old);
      model_.attr_index_.add(kind, *slot);
    });
  }
}

void Txn::erase(const std::string& kind, const std::string& id) {
  auto& table = model_.tables_[kind];
  auto it = table.find(id);
  if (it == table.end()) return;
  changes_.rows.push_back({kind, id, project_of(it->second), std::nullopt});
  auto text_it = model_.texts_[kind].find(id);
  if (text_it != model_.texts_[kind].end()) {
    std::string old_text = std::move(text_it->second);
    model_.texts_[kind].erase(text_it);
    undo_.push_back([this, kind, id, old_text = std::move(old_text)]() mutable {
      model_.texts_[kind][id] = std::move(old_text);
    });
  }
  if (kind == "ports") model_.index_port(it->second, false);
  model_.attr_index_.remove(kind, *it);
  model_.by_id_[kind].erase(id);
  model_.count_row(kind, it->second, -1);
  Obj old = std::move(it->second);
  table.erase(it);
  undo_.push_back([this, kind, id, old = std::move(old)]() mutable {
    if (kind == "ports") model_.index_port(old, true);
    model_.count_row(kind, old, 1);
    auto back = model_.tables_[kind].insert_or_assign(id, std::move(old)).first;
    model_.attr_index_.add(kind, *back);
    model_.row_added(kind, *back);
  });
}

bool Txn::claim_ip(const std::string& subnet, const IpAddress& ip, const std::string& port) {
  if (!model_.ips_[subnet].insert(ip.value).second) return false;
  changes_.allocs.push_back({AllocKind::ip, subnet, ip.str(), port, true});
  undo_.push_back([this, subnet, v = ip.value] {
    model_.ips_[subnet].erase(v);
    model_.ip_freed(subnet, v);
  });
  return true;
}
void Txn::release_ip(const std::string& subnet, const IpAddress& ip) {
  if (!model_.ips_[subnet].erase(ip.value)) return;
  model_.ip_freed(subnet, ip.value);
  changes_.allocs.push_back({AllocKind::ip, subnet, ip.str(), "", false});
  undo_.push_back([this, subnet, v = ip.value] { model_.ips_[subnet].insert(v); });
}
bool Txn::claim_mac(const std::string& network, const Mac& mac, const std::string& port) {
  if (!model_.macs_[network].insert(mac.value).second) return false;
  changes_.allocs.push_back({AllocKind::mac, network, mac.str(), port, true});
  undo_.push_back([this, network, v = mac.value] { model_.macs_[network].erase(v); });
  return true;
}
void Txn::release_mac(const std::string& network, const Mac& mac) {
  if (!model_.macs_[network].erase(mac.value)) return;
  changes_.allocs.push_back({AllocKind::mac, network, mac.str(), "", false});
  undo_.push_back([this, network, v = mac.value] { model_.macs_[network].insert(v); });
}
bool Txn::claim_segment(const std::string& tp, uint64_t id, const std::string& network) {
  if (!model_.segments_[tp].insert(id).second) return false;
  changes_.allocs.push_back({AllocKind::segment, tp, std::to_string(id), network, true});
  undo_.push_back([this, tp, id] { model_.segments_[tp].erase(id); });
  return true;
}
void Txn::release_segment(const std::string& tp, uint64_t id) {
  if (!model_.segments_[tp].erase(id)) return;
  changes_.allocs.push_back({AllocKind::segment, tp, std::to_string(id), "", false});
  undo_.push_back([this, tp, id] { model_.segments_[tp].insert(id); });
}

Status Txn::replay(const ChangeSet& committed) {
  for (const auto& row : committed.rows) {
    if (!row.body) {
      erase(row.kind, row.id);
      continue;
    }
    boost::system::error_code ec;
    auto v = json::parse(*row.body, ec);
    if (ec || !v.is_object() || !storable_json(v) || jget::str(v.as_object().if_contains("id")) != row.id)
      return fail(Errc::internal, Origin::store, "change log: " + row.kind + " " + row.id + " is not a storable row");
    put(row.kind, std::move(v.as_object()));
  }
  auto bad = [](const AllocChange& a) {
    return fail(Errc::internal, Origin::store, "change log: allocation '" + a.value + "' in " + a.scope + " does not parse");
  };
  for (int pass = 0; pass < 2; ++pass)  // releases first, as the store applies them
    for (const auto& a : committed.allocs) {
      if (a.claim != (pass == 1)) continue;
      if (a.kind == AllocKind::ip) {
        auto ip = IpAddress::parse(a.value);
        if (!ip) return bad(a);
        if (a.claim) claim_ip(a.scope, *ip, a.owner);
        else release_ip(a.scope, *ip);
      } else if (a.kind == AllocKind::mac) {
        auto mac = Mac::parse(a.value);
        if (!mac) return bad(a);
        if (a.claim) claim_mac(a.scope, *mac, a.owner);
        else release_mac(a.scope, *mac);
      } else {
        if (a.value.empty() || a.value.size() > 19 || a.value.find_first_not_of("0123456789") != std::string::npos)
          return bad(a);
        if (a.claim) claim_segment(a.scope, std::stoull(a.value), a.owner);
        else release_segment(a.scope, std::stoull(a.value));
      }
    }
  return {};
}

void Txn::rollback() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  undo_.clear();
  changes_ = {};
}

}  // namespace nt
