// The watch hub on a real planner: snapshot then synced, resume from history, a full view
// when the history no longer covers `since`, one stream per host, streams ended with their
// host, a slow watcher cut past its backlog.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "channel/entries.h"
#include "channel/view_digest.h"
#include "channel/watch_hub.h"
#include "common/names.h"
#include "planner/planner.h"

namespace nt {
namespace json = boost::json;

namespace {

// Reads a stream as the HTTP session does: asks for the next line until the stream parks
// its request (nothing queued); a parked request is answered by the next push, into the
// same reader (it must outlive the stream's use).
struct Reader {
  std::shared_ptr<BodyStream> stream;
  std::vector<json::object> lines;
  bool parked = false, ended = false;

  // The lines that arrived since the last call.
  std::vector<json::object> drain() {
    while (!parked && !ended) {
      parked = true;
      stream->next([this](std::optional<std::string> piece) {
        parked = false;
        if (!piece) ended = true;
        // A piece is every line that was waiting (one write), each ending in '\n'.
        for (size_t at = 0, nl; piece && (nl = piece->find('\n', at)) != std::string::npos; at = nl + 1)
          lines.push_back(json::parse(piece->substr(at, nl - at)).as_object());
      });
    }
    auto out = std::move(lines);
    lines.clear();
    return out;
  }
};

struct Cloud {
  Planner planner;
  WatchHub hub{4096, 4096, 2048};  // small backlog and history to see the bounds
  int64_t revision = 0;

  Cloud() {
    put("hosts", "h1", {{"local_ip", "192.0.2.1"}});
    put("hosts", "h2", {{"local_ip", "192.0.2.2"}});
    put("networks", "net1-0000-0000", {{"provider:network_type", "vxlan"}, {"provider:physical_network", nullptr},
                                        {"provider:segmentation_id", 7}, {"mtu", 1450}});
  }
  void put(const char* kind, const std::string& id, json::object obj) {
    planner.apply(kind, id, obj, ++revision);
    hub.publish(planner.last_deltas());
  }
  void port(const std::string& id, const std::string& host, int n) {
    put("ports", id, {{"network_id", "net1-0000-0000"}, {"mac_address", "fa:16:3e:00:00:" + std::to_string(10 + n % 80)},
                      {"fixed_ips", json::array{json::object{{"subnet_id", "s"}, {"ip_address", "10.0.0." + std::to_string(2 + n)}}}},
                      {"admin_state_up", true}, {"device_owner", "compute:nova"}, {"binding:host_id", host},
                      {"binding:vif_type", "bridge"}});
  }
};

}  // namespace

TEST(WatchHub, SnapshotThenDeltasAndResume) {
  Cloud c;
  c.port("p1", "h1", 1);
  Reader s{c.hub.subscribe("h1", std::nullopt, c.planner)};
  auto snap = s.drain();
  ASSERT_FALSE(snap.empty());
  EXPECT_EQ(snap.back().at("op"), "synced");
  EXPECT_EQ(snap.front().at("op"), "hello");
  // The snapshot decodes into the typed view the agent plans from.
  view::HostView typed;
  for (size_t i = 1; i + 1 < snap.size(); ++i) {
    const auto& line = snap[i];
    ASSERT_TRUE(view::put(typed, line.at("kind").as_string(), std::string(line.at("id").as_string()), line.at("obj")));
  }
  ASSERT_EQ(typed.ports.size(), 1u);
  EXPECT_EQ(typed.ports.at("p1").fixed_ips, std::vector<std::string>{"10.0.0.3"});
  EXPECT_EQ(typed.ports.at("p1").device, devname::tap("p1"));
  int64_t synced = snap.back().at("rev").as_int64();
  c.port("p2", "h2", 2);  // h1 learns p2 (l2pop) and floods to h2
  auto deltas = s.drain();
  ASSERT_FALSE(deltas.empty());
  bool l2pop = false;
  for (const auto& d : deltas) l2pop |= d.contains("kind") && d.at("kind") == "l2pop" && d.at("id") == "p2";
  EXPECT_TRUE(l2pop);

  // Resume after the snapshot: only what changed since, then synced.
  Reader resumed{c.hub.subscribe("h1", synced, c.planner)};
  auto lines = resumed.drain();
  ASSERT_GE(lines.size(), 3u);
  // Every stream starts by naming its format.
  EXPECT_EQ(lines.front().at("op"), "hello");
  EXPECT_EQ(lines.front().at("protocol"), view::kProtocolVersion);
  for (size_t i = 1; i + 1 < lines.size(); ++i) EXPECT_GT(lines[i].at("rev").as_int64(), synced);
  EXPECT_EQ(lines.back().at("op"), "synced");
  // ... and the older stream of h1 was ended by the new one.
  s.drain();
  EXPECT_TRUE(s.ended);
}

TEST(WatchHub, HistoryBoundedInBytesFallsBackToTheFullView) {
  Cloud c;
  c.port("p1", "h1", 1);
  Reader first{c.hub.subscribe("h1", std::nullopt, c.planner)};
  int64_t synced = first.drain().back().at("rev").as_int64();
  first.stream->close();
  for (int i = 0; i < 40; ++i) c.port("q" + std::to_string(i), "h2", 3 + i);  // > 2 KB of history for h1
  Reader resumed{c.hub.subscribe("h1", synced, c.planner)};
  auto lines = resumed.drain();
  // Not covered any more: the full view (the port of h1 itself is in it again).
  bool own_port = false;
  for (const auto& l : lines) own_port |= l.contains("kind") && l.at("kind") == "port" && l.at("id") == "p1";
  EXPECT_TRUE(own_port);
  EXPECT_EQ(lines.back().at("op"), "synced");
}

TEST(WatchHub, EndHostEndsItsStreamsAndASlowWatcherIsCut) {
  Cloud c;
  c.port("p1", "h1", 1);
  c.port("p0", "h2", 0);
  Reader h1{c.hub.subscribe("h1", std::nullopt, c.planner)};
  Reader h2{c.hub.subscribe("h2", std::nullopt, c.planner)};
  h1.drain();
  h2.parked = true;  // h2 reads its snapshot no further: a stalled agent
  c.hub.end_host("h1");
  h1.drain();
  EXPECT_TRUE(h1.ended);
  EXPECT_EQ(c.hub.watchers(), 1u);
  // h2 does not read while 40 changes (more than its 4 KB backlog) arrive: it is cut.
  for (int i = 0; i < 40; ++i) c.port("r" + std::to_string(i), "h1", 10 + i);
  h2.parked = false;
  h2.drain();
  EXPECT_TRUE(h2.ended);
  EXPECT_EQ(c.hub.watchers(), 0u);
}

// After a restart the history is empty: an agent whose view digest is the one at the
// server's start resumes from there (no snapshot), whatever changed since; a host that had
// no view at the start had the empty one; any other digest gets the full view.
TEST(WatchHub, ResumeByDigestAfterARestart) {
  Cloud c;
  c.port("p1", "h1", 1);
  Reader first{c.hub.subscribe("h1", std::nullopt, c.planner)};
  view::HostView held;
  int64_t synced = 0;
  for (const auto& l : first.drain()) {
    if (l.at("op") == "put") ASSERT_TRUE(view::put(held, l.at("kind").as_string(), std::string(l.at("id").as_string()), l.at("obj")));
    if (l.at("op") == "synced") synced = l.at("rev").as_int64();
  }
  first.stream->close();
  c.put("hosts", "h3", {{"local_ip", "192.0.2.3"}});  // no port yet: no view at the restart
  WatchHub restarted;
  restarted.start_from(c.planner, c.revision);
  auto full = [](const std::vector<json::object>& lines) { return lines.front().at("full").as_bool(); };
  // A `since` below the history's floor (the agent resumes from the revision before its
  // last when that one may have come in part): only the digest can spare the snapshot.
  int64_t since = synced - 1;
  // Nothing changed: hello, synced.
  Reader same{restarted.subscribe("h1", since, c.planner, view::digest_of(held))};
  auto lines = same.drain();
  EXPECT_FALSE(full(lines));
  EXPECT_EQ(lines.size(), 2u);
  // A change after the start: the agent holding the start's view gets just that change.
  c.planner.apply("ports", "p2", json::object{{"network_id", "net1-0000-0000"}, {"mac_address", "fa:16:3e:00:00:20"},
                                              {"fixed_ips", json::array{}}, {"admin_state_up", true},
                                              {"device_owner", "compute:nova"}, {"binding:host_id", "h3"},
                                              {"binding:vif_type", "bridge"}},
                  ++c.revision);
  restarted.publish(c.planner.last_deltas());
  Reader after{restarted.subscribe("h1", since, c.planner, view::digest_of(held))};
  lines = after.drain();
  EXPECT_FALSE(full(lines));
  bool l2pop = false;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i].at("rev").as_int64(), c.revision);
    l2pop |= lines[i].at("kind") == "l2pop" && lines[i].at("id") == "p2";
  }
  EXPECT_TRUE(l2pop);
  // Another digest: the whole view.
  Reader other{restarted.subscribe("h1", since, c.planner, view::digest_of(held) + 1)};
  EXPECT_TRUE(full(other.drain()));
  // h3 had no view at the start: an agent holding an empty view resumes from the start,
  // one holding anything else (stale entries) gets the whole view.
  Reader empty{restarted.subscribe("h3", 1, c.planner, 0)};
  lines = empty.drain();
  EXPECT_FALSE(full(lines));
  EXPECT_GT(lines.size(), 2u);
  Reader stale{restarted.subscribe("h3", 1, c.planner, 42)};
  EXPECT_TRUE(full(stale.drain()));
}

}  // namespace nt

namespace nt {

// A line is built from the entry's stored text and the escaped kind and id: whatever an id
// holds (quotes, backslashes, control and non-ASCII characters), the line is one JSON
// object that gives back each field as it was.
TEST(WatchHub, LineIsJsonWhateverTheIdHolds) {
  json::object entry{{"mac", "fa:16:3e:00:00:01"}, {"tags", json::array{"a\"b", "\\"}}, {"n", 7}};
  std::string odd_id = std::string("net\"|\\host\n\t\x01 ") + "\xc3\xa9";
  ViewDelta put{"h1", 42, "port", EntryId(odd_id), ViewEntry::of(entry)};
  auto text = WatchHub::line(put);
  ASSERT_EQ(text.back(), '\n');
  ASSERT_EQ(text.find('\n'), text.size() - 1);  // one line: the id's newline is escaped
  auto parsed = json::parse(text).as_object();
  EXPECT_EQ(parsed.at("rev").as_int64(), 42);
  EXPECT_EQ(parsed.at("op").as_string(), "put");
  EXPECT_EQ(parsed.at("kind").as_string(), "port");
  EXPECT_EQ(parsed.at("id").as_string(), odd_id);
  EXPECT_EQ(parsed.at("obj").as_object(), entry);

  // Byte for byte what serializing the whole line as one object gives (the format before
  // entries were kept as text).
  json::object whole{{"rev", 42}, {"op", "put"}, {"kind", "port"}, {"id", odd_id}, {"obj", entry}};
  EXPECT_EQ(text, json::serialize(whole) + "\n");

  ViewDelta del{"h1", 43, "l2pop", EntryId(odd_id), ViewEntry()};
  parsed = json::parse(WatchHub::line(del)).as_object();
  EXPECT_EQ(parsed.at("op").as_string(), "del");
  EXPECT_EQ(parsed.at("id").as_string(), odd_id);
  EXPECT_FALSE(parsed.contains("obj"));
  json::object gone{{"rev", 43}, {"op", "del"}, {"kind", "l2pop"}, {"id", odd_id}};
  EXPECT_EQ(WatchHub::line(del), json::serialize(gone) + "\n");
}

// An entry kept as text compares by content: two serializations of one object are the
// same entry, a changed field is not, and the object comes back from the text.
TEST(ViewEntryText, SameContentAndRoundTrip) {
  json::object a{{"ip", "10.0.0.5"}, {"vtep", "192.0.2.7"}};
  auto one = ViewEntry::of(a), two = ViewEntry::of(a), copy = one;
  EXPECT_NE(one.block(), two.block());
  EXPECT_EQ(copy.block(), one.block());
  EXPECT_TRUE(one.same(two));
  a["vtep"] = "192.0.2.8";
  EXPECT_FALSE(one.same(ViewEntry::of(a)));
  EXPECT_EQ(ViewEntry::of(a).object(), a);
  EXPECT_FALSE(ViewEntry());
  EXPECT_TRUE(ViewEntry().object().empty());
}

}  // namespace nt
