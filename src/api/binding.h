#pragma once
#include "core/model.h"

namespace nt {
// Sets binding:vif_type and binding:vif_details from binding:host_id and the host's agent.
void bind_port(const Model& m, Obj& port);
bool binding_inputs_changed(const Obj& changes);
}  // namespace nt
