// The agent channel's requests, typed (the watch stream's entries are in entries.h):
//   POST /agent/v1/register                 Registration -> RegistrationAnswer
//   POST /agent/v1/hosts/{host}/status      StatusMessage
//   POST /agent/v1/hosts/{host}/fip-gateway FipGatewayRequest
// The agent encodes them with Boost.JSON's value_from; the server validates what arrives
// member by member (api/agent_channel.cc), since any client may send anything.
#pragma once
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nt::channel {

struct Registration {
  std::string host;
  std::string agent_mode;  // dvr | dvr_snat
  std::string local_ip;    // the host's VTEP
  std::map<std::string, std::string> bridge_mappings;            // physnet -> interface
  std::optional<std::vector<std::string>> network_types;  // what its kernel can build (null: all)
  std::optional<std::map<std::string, std::string>> unsupported_network_types;  // type -> why not
  std::string version;
};
BOOST_DESCRIBE_STRUCT(Registration, (),
                      (host, agent_mode, local_ip, bridge_mappings, network_types, unsupported_network_types, version))

// The answer to a first enrolment carries the host's own token (null afterwards).
struct RegistrationAnswer {
  std::optional<std::string> host_token;
};
BOOST_DESCRIBE_STRUCT(RegistrationAnswer, (), (host_token))

struct StatusMessage {
  std::map<std::string, std::string> ports;    // port -> up | down
  std::map<std::string, std::string> routers;  // router -> active | standby (gateway roles)
  std::optional<int64_t> applied;              // the view revision fully applied, if any
};
BOOST_DESCRIBE_STRUCT(StatusMessage, (), (ports, routers, applied))

struct FipGatewayRequest {
  std::string network_id;
};
BOOST_DESCRIBE_STRUCT(FipGatewayRequest, (), (network_id))

template <class Message>
std::string encode(const Message& m) {
  return boost::json::serialize(boost::json::value_from(m));
}

}  // namespace nt::channel
