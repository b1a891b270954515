// The built-in metadata backend: what Nova's metadata API (port 8775) answers, from the
// server's own model, for clouds without Nova and for the sandbox. The agents' metadata
// proxies (proxy.h) forward VMs' requests here with Neutron's headers:
//   X-Forwarded-For          the VM's address
//   X-Instance-ID            the port's device_id (the instance)
//   X-Tenant-ID              the port's project
//   X-Instance-ID-Signature  hex HMAC-SHA256(metadata_proxy_shared_secret, instance id)
//
// As Nova (nova/api/metadata/handler.py): "/" (the EC2 version list) needs no headers; any
// other path without one of the headers -> 400; a signature that does not match -> 403
// (an empty secret is an empty HMAC key, checked all the same: Nova does so); an instance
// no port names, or a project that is not the instance's -> 404. Beyond Nova: the
// X-Forwarded-For header is required (400) and must be a fixed IP of one of the
// instance's ports (404 otherwise); an instance id with a character outside
// [A-Za-z0-9_.-], or "." or "..", is no instance (404), so it never names a file.
// Methods other than GET and HEAD -> 405; unknown paths -> 404.
//
// The instance is every port whose device_id is the instance id (network:* owners
// excepted: routers and DHCP ports are no instances); the port that holds the requesting
// address gives the hostname (its dns_name, else host-<address with dashes>), the MAC and
// the local address. Keys and user data come from files an operator puts in
// instance_data_dir: <dir>/<instance id>/public_keys (one OpenSSH key a line, optionally
// preceded by its name; otherwise it is named key-<n>) and <dir>/<instance id>/user_data,
// each read at most 1 MiB.
#pragma once
#include <functional>
#include <shared_mutex>
#include <string>

#include "common/error.h"
#include "common/rw_lock.h"
#include "core/model.h"
#include "http/message.h"

namespace nt::metadata {

struct BackendOptions {
  std::string shared_secret;      // [metadata] metadata_proxy_shared_secret
  std::string instance_data_dir;  // [metadata] instance_data_dir ("" = no keys, no user data)
};

class Backend {
 public:
  // Reads the model under the shared lock `read_lock` takes (the writer's read_durable():
  // nothing in doubt is served).
  using ReadLock = std::function<std::shared_lock<WriterFirstMutex>()>;
  Backend(BackendOptions options, const Model& model, ReadLock read_lock);
  // Thread-safe; never throws on what a client sends.
  HttpResponse answer(const HttpRequest& req) const;
  // Errors as Nova's (webob's) plain-text answers: "404 Not Found\n\n<message>\n". Also the
  // HTTP server's own refusals on the backend's listener.
  static HttpResponse render_error(const Error& e);

 private:
  BackendOptions options_;
  const Model& model_;
  ReadLock read_lock_;
};

}  // namespace nt::metadata
