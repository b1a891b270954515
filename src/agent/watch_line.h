// The agent's reading of one watch stream line (channel/watch_hub.h has the format):
// shared by the agent and the tools that stand in for many agents (bench/watch_scale).
#pragma once
#include <cstdint>
#include <string>

#include "channel/entries.h"

namespace nt::agent {

// One watch line applied to a view: its op (and entry), and whether it could be decoded.
struct LineResult {
  std::string op;
  bool decoded = true;
  bool full = false;  // hello: the whole view follows (the server could not resume)
  std::string kind, id;  // put/del: the entry
  int64_t line_rev = -1;  // the line's own revision (a keepalive's too)
};

// Whether a revision the agent holds is whole (every entry of it arrived): a `synced`
// closes one; a keepalive naming the agent's revision says nothing of it is still on its way.
inline bool closes_revision(const LineResult& got, int64_t rev) {
  return got.op == "synced" || (got.op == "keepalive" && got.line_rev == rev);
}

// Applies one watch line to the view; `rev` takes the line's revision (entries and
// `synced`; a keepalive's may run ahead of lines still on their way). An entry that does
// not decode leaves the view as it was (the old entry stays: tearing it down on a bad
// line would cut traffic).
LineResult apply_line(view::HostView& view, const std::string& line, int64_t& rev);

}  // namespace nt::agent
