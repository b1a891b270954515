// Neutron 21's port policy: who may see, create, change and delete a port and set its
// sensitive attributes. The rules are Neutron's policy.yaml port section (get_port,
// create_port:*, update_port:*, delete_port) with each deprecated default OR-ed into its new
// default, as Neutron 21 enforces them with its default options; there is no advsvc role.
// Callers: the admin, the port's project ("owner") and the project of the port's network
// ("network owner": sees, and may delete, other projects' ports on its network).
// A denial is 403 PolicyNotAuthorized naming the whole rule Neutron checked, e.g.
// "(rule:create_port and rule:create_port:mac_address) is disallowed by policy".
#pragma once
#include "api/context.h"
#include "core/model.h"

namespace nt {

// get_port, and delete_port (the same callers): admin, owner or network owner.
bool port_readable(const Model& m, const Obj& port, const Ctx& ctx);

// create_port with the attribute rules of what `request` (the item as sent, already
// validated) sets. `net` is the port's network, which the caller may use.
Status authorize_port_create(const Model& m, const Obj& net, const Obj& request, const Ctx& ctx);

// update_port with the attribute rules of what `changes` (the PUT's attributes) sets, on a
// port the caller may read.
Status authorize_port_update(const Model& m, const Obj& port, const Obj& changes, const Ctx& ctx);

}  // namespace nt
