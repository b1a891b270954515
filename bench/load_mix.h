// neutrino-load --scenario mix: the API as Nova and Horizon use it. A preload stores many
// ports (bulk POSTs) on the networks of several projects, with routers and floating IPs;
// then `concurrency` clients run a weighted mix of Nova's and Horizon's requests (port
// lists by device_id, networks by id / shared / router:external, paged lists, floating IPs
// by port and fixed address, port create, bind and delete) and report per operation.
#pragma once
#include "load_client.h"

namespace load {

struct MixOptions {
  int preload_ports = 100000;  // ports stored before the mix (one per VM)
  int projects = 20;           // each with 2 networks, a router and its floating IPs
  int hosts = 200;             // binding:host_id values
  int floating_ips = 2000;     // associated with preloaded ports
  double seconds = 0;          // > 0: run the mix this long instead of --count operations
};

// Preloads, runs the mix, prints one line per operation; returns the number of failed
// requests (0 = all answered as Neutron would).
int run_mix(const Options& o, const MixOptions& mix);

}  // namespace load
