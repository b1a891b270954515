// How a sandbox VM boots, as a cloud image does: busybox udhcpc on eth0 (kept running, so
// the VM renews its lease and picks up option changes; SIGUSR1 renews at once), then the
// metadata service's meta_data.json, as cloud-init reads it. What the VM was given is kept
// in STATE_DIR/vms/NAME/ (lease.bound, lease.renew: udhcpc's variables; meta_data.json).
#pragma once
#include <chrono>
#include <string>

#include "common/error.h"
#include "sandbox/sandbox.h"

namespace nt::sandbox {

std::string vm_dir(const Options& o, const std::string& vm);

// Starts udhcpc in the VM's namespace; returns its pid.
Result<int> start_dhcp_client(const Options& o, const std::string& vm);
// Waits until the VM holds a lease; returns its address (lease.bound's ip).
Result<std::string> wait_for_lease(const Options& o, const std::string& vm, std::chrono::milliseconds limit);
// Fetches http://169.254.169.254/openstack/latest/meta_data.json from inside the VM (curl,
// bounded retries) into the VM's directory; returns the instance uuid it names.
Result<std::string> fetch_metadata(const Options& o, const std::string& vm, std::chrono::milliseconds limit);
// Puts the VM's public key and user data where the server's built-in metadata backend
// reads them ([metadata] instance_data_dir = STATE_DIR/instances).
Status provide_instance_data(const Options& o, const std::string& instance_id, const std::string& key_file,
                             const std::string& user_data_file);

}  // namespace nt::sandbox
