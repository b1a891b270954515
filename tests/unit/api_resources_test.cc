// The API in process, on the in-memory store: requests in, Neutron answers out.
#include <gtest/gtest.h>

#include <future>

#include "api/api.h"
#include "api/handlers.h"

namespace nt {
namespace json = boost::json;

namespace {

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : settings_(*settings_from(Config::defaults(server_schema()))) {}

  struct Answer {
    int status;
    json::value body;
  };

  Answer call(const std::string& method, const std::string& target, const std::string& body = "",
              std::map<std::string, std::string> headers = {}) {
    HttpRequest req{method, target, body, std::move(headers)};
    std::promise<HttpResponse> p;
    api_.handle(std::move(req), [&p](HttpResponse r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    return {r.status, r.body.empty() ? json::value(nullptr) : json::parse(r.body)};
  }
  std::string error_type(const Answer& a) { return std::string(a.body.at("NeutronError").at("type").as_string()); }
  std::string make_network(const std::string& name) {
    auto a = call("POST", "/v2.0/networks", R"({"network": {"name": ")" + name + R"("}})");
    return std::string(a.body.at("network").at("id").as_string());
  }

  Settings settings_;
  std::unique_ptr<Store> store_ = make_memory_store();
  Model model_;
  Writer writer_{model_, *store_};
  Api api_{settings_, model_, writer_};
};

}  // namespace

TEST_F(ApiTest, NetworkCreateShowsNeutronDefaults) {
  auto a = call("POST", "/v2.0/networks", R"({"network": {"name": "n1"}})");
  ASSERT_EQ(a.status, 201);
  const auto& n = a.body.at("network").as_object();
  EXPECT_EQ(n.at("status"), json::value("ACTIVE"));
  EXPECT_EQ(n.at("mtu"), json::value(1450));
  EXPECT_EQ(n.at("provider:network_type"), json::value("vxlan"));
  EXPECT_EQ(n.at("provider:segmentation_id"), json::value(1));
  EXPECT_EQ(n.at("project_id"), n.at("tenant_id"));
  EXPECT_EQ(n.at("revision_number"), json::value(1));
}

TEST_F(ApiTest, BodyErrorsAreBadRequests) {
  EXPECT_EQ(call("POST", "/v2.0/networks", "{").status, 400);
  auto unknown = call("POST", "/v2.0/networks", R"({"network": {"nme": "x"}})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body.at("NeutronError").at("message"), json::value("Unrecognized attribute(s) 'nme'"));
  auto wrong = call("POST", "/v2.0/networks", R"({"network": {"admin_state_up": "perhaps"}})");
  EXPECT_EQ(wrong.status, 400);
  auto ro = call("POST", "/v2.0/networks", R"({"network": {"status": "DOWN"}})");
  EXPECT_EQ(ro.body.at("NeutronError").at("message"), json::value("Attribute 'status' not allowed in POST"));
  EXPECT_EQ(call("POST", "/v2.0/subnets", R"({"subnet": {"cidr": "10.0.0.0/24"}})").status, 400);
  EXPECT_EQ(call("GET", "/v2.0/networks/not-a-uuid").status, 404);
  EXPECT_EQ(call("GET", "/v2.0/nowhere").status, 404);
}

TEST_F(ApiTest, BulkCreateIsAllOrNothing) {
  auto a = call("POST", "/v2.0/networks", R"({"networks": [{"name": "ok"}, {"name": 5}]})");
  EXPECT_EQ(a.status, 400);
  auto list = call("GET", "/v2.0/networks?name=ok");
  EXPECT_TRUE(list.body.at("networks").as_array().empty());
  auto b = call("POST", "/v2.0/networks", R"({"networks": [{"name": "b1"}, {"name": "b2"}]})");
  EXPECT_EQ(b.status, 201);
  EXPECT_EQ(b.body.at("networks").as_array().size(), 2u);
}

TEST_F(ApiTest, PortsGetAddressesFromTheSubnetAndConflictsAreReported) {
  auto net = make_network("n");
  // Without DHCP: no network:dhcp port takes the one free address.
  auto s = call("POST", "/v2.0/subnets",
                R"({"subnet": {"network_id": ")" + net + R"(", "ip_version": 4, "cidr": "10.0.0.0/30", "enable_dhcp": false}})");
  ASSERT_EQ(s.status, 201);
  EXPECT_EQ(s.body.at("subnet").at("gateway_ip"), json::value("10.0.0.1"));
  auto p = call("POST", "/v2.0/ports", R"({"port": {"network_id": ")" + net + R"("}})");
  ASSERT_EQ(p.status, 201);
  EXPECT_EQ(p.body.at("port").at("fixed_ips").at(0).at("ip_address"), json::value("10.0.0.2"));
  EXPECT_EQ(p.body.at("port").at("status"), json::value("DOWN"));
  EXPECT_EQ(p.body.at("port").at("security_groups").as_array().size(), 1u);
  auto full = call("POST", "/v2.0/ports", R"({"port": {"network_id": ")" + net + R"("}})");
  EXPECT_EQ(full.status, 409);
  EXPECT_EQ(error_type(full), "IpAddressGenerationFailure");
  auto mac = p.body.at("port").at("mac_address").as_string();
  auto dup = call("POST", "/v2.0/ports",
                  R"({"port": {"network_id": ")" + net + R"(", "fixed_ips": [], "mac_address": ")" + std::string(mac) + R"("}})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(error_type(dup), "MacAddressInUse");
  auto del = call("DELETE", "/v2.0/networks/" + net);
  EXPECT_EQ(del.status, 409);
  EXPECT_EQ(error_type(del), "NetworkInUse");
}

TEST_F(ApiTest, DhcpEnabledSubnetsGetTheNetworksDhcpPort) {
  auto net = make_network("d");
  auto s = call("POST", "/v2.0/subnets",
                R"({"subnet": {"network_id": ")" + net + R"(", "ip_version": 4, "cidr": "10.1.0.0/29"}})");
  ASSERT_EQ(s.status, 201);
  auto list = call("GET", "/v2.0/ports?device_owner=network:dhcp&network_id=" + net);
  ASSERT_EQ(list.body.at("ports").as_array().size(), 1u);
  const auto& port = list.body.at("ports").at(0).as_object();
  EXPECT_EQ(port.at("device_id"), json::value(dhcp_port_device_id(net)));
  EXPECT_EQ(port.at("fixed_ips").at(0).at("ip_address"), json::value("10.1.0.2"));
  EXPECT_EQ(port.at("status"), json::value("ACTIVE"));
  auto sid = std::string(s.body.at("subnet").at("id").as_string());
  EXPECT_EQ(call("PUT", "/v2.0/subnets/" + sid, R"({"subnet": {"enable_dhcp": false}})").status, 200);
  EXPECT_TRUE(call("GET", "/v2.0/ports?network_id=" + net).body.at("ports").as_array().empty());
  EXPECT_EQ(call("PUT", "/v2.0/subnets/" + sid, R"({"subnet": {"enable_dhcp": true}})").status, 200);
  EXPECT_EQ(call("GET", "/v2.0/ports?network_id=" + net).body.at("ports").as_array().size(), 1u);
  EXPECT_EQ(call("DELETE", "/v2.0/networks/" + net).status, 204);  // the DHCP port does not hold it
  EXPECT_TRUE(call("GET", "/v2.0/ports").body.at("ports").as_array().empty());
}

TEST_F(ApiTest, IfMatchGuardsUpdates) {
  auto net = make_network("n");
  auto stale = call("PUT", "/v2.0/networks/" + net, R"({"network": {"name": "m"}})", {{"if-match", "revision_number=9"}});
  EXPECT_EQ(stale.status, 412);
  auto ok = call("PUT", "/v2.0/networks/" + net, R"({"network": {"name": "m"}})", {{"if-match", "revision_number=1"}});
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.at("network").at("revision_number"), json::value(2));
}

TEST_F(ApiTest, ProjectsDoNotSeeEachOthersNetworks) {
  auto mine = call("POST", "/v2.0/networks", R"({"network": {"name": "a"}})", {{"x-project-id", "pa"}});
  ASSERT_EQ(mine.status, 201);
  auto id = std::string(mine.body.at("network").at("id").as_string());
  EXPECT_FALSE(mine.body.at("network").as_object().contains("provider:network_type"));
  EXPECT_EQ(call("GET", "/v2.0/networks/" + id, "", {{"x-project-id", "pb"}}).status, 404);
  EXPECT_EQ(call("GET", "/v2.0/networks/" + id, "", {{"x-project-id", "pa"}}).status, 200);
  auto list = call("GET", "/v2.0/networks", "", {{"x-project-id", "pb"}});
  EXPECT_TRUE(list.body.at("networks").as_array().empty());
  auto forbidden = call("POST", "/v2.0/networks", R"({"network": {"provider:network_type": "vxlan"}})", {{"x-project-id", "pb"}});
  EXPECT_EQ(forbidden.status, 403);
}

TEST_F(ApiTest, TagsSubResource) {
  auto net = make_network("n");
  EXPECT_EQ(call("PUT", "/v2.0/networks/" + net + "/tags/red").status, 201);
  EXPECT_EQ(call("GET", "/v2.0/networks/" + net + "/tags/red").status, 204);
  EXPECT_EQ(call("GET", "/v2.0/networks/" + net + "/tags/blue").status, 404);
  auto all = call("PUT", "/v2.0/networks/" + net + "/tags", R"({"tags": ["a", "b"]})");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(call("GET", "/v2.0/networks?tags=a,b").body.at("networks").as_array().size(), 1u);
  EXPECT_EQ(call("DELETE", "/v2.0/networks/" + net + "/tags").status, 204);
}

}  // namespace nt
