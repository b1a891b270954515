// The agent's metrics and its local listener (agent.ini metrics_bind), over a real socket
// on 127.0.0.1.
#include "agent/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nt::agent {
namespace {

// One HTTP/1.0 GET; the whole answer (status line, headers, body).
std::string http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return ::close(fd), "";
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return ::close(fd), "";
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(AgentMetrics, BindAddressesParse) {
  EXPECT_FALSE(parse_metrics_bind("").value().has_value());
  auto v4 = parse_metrics_bind("127.0.0.1:9697").value();
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9697);
  auto v6 = parse_metrics_bind("[::1]:0").value();
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  for (const char* bad : {"9697", "localhost:9697", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:9x", "::1:9697"})
    EXPECT_FALSE(parse_metrics_bind(bad).has_value()) << bad;
  EXPECT_NE(parse_metrics_bind("localhost:9697").error().message.find("localhost"), std::string::npos);
}

TEST(AgentMetrics, PassesOperationsErrorsAndRevisions) {
  AgentMetrics m;
  m.pass(0.002, 5, true, 7, 7);
  m.pass(0.5, 2, false, 9, 7);
  m.watch_ended();
  auto text = m.render();
  for (const char* line : {"neutrino_agent_passes_total 2\n", "neutrino_agent_operations_total 7\n",
                           "neutrino_agent_pass_errors_total 1\n", "neutrino_agent_pass_seconds_count 2\n",
                           "neutrino_agent_pass_seconds_bucket{le=\"0.0025\"} 1\n", "neutrino_agent_view_revision 9\n",
                           "neutrino_agent_applied_revision 7\n", "neutrino_agent_watch_disconnects_total 1\n",
                           "neutrino_agent_status_report_failures_total 0\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  EXPECT_EQ(text.find("neutrino_agent_bfd_sessions{"), std::string::npos);  // no BFD: no sessions
}

TEST(AgentMetrics, BfdSessionsByState) {
  AgentMetrics m;
  m.follow_bfd([] { return std::map<std::string, std::string>{{"192.0.2.1", "up"}, {"192.0.2.2", "up"}, {"192.0.2.3", "down"}}; });
  auto text = m.render();
  EXPECT_NE(text.find("neutrino_agent_bfd_sessions{state=\"up\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("neutrino_agent_bfd_sessions{state=\"down\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("neutrino_agent_bfd_sessions{state=\"init\"} 0\n"), std::string::npos) << text;
}

TEST(AgentMetrics, ListenerServesMetricsAndHealth) {
  AgentMetrics m;
  m.pass(0.01, 3, true, 4, 4);
  auto listener = MetricsListener::start(BindAddress{"127.0.0.1", 0}, m);
  ASSERT_TRUE(listener) << listener.error().message;
  int port = (*listener)->port();
  ASSERT_GT(port, 0);
  auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  EXPECT_TRUE(health.ends_with("\r\n\r\nok\n")) << health;
  auto metrics = http_get(port, "/metrics");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("neutrino_agent_operations_total 3\n"), std::string::npos) << metrics;
  EXPECT_EQ(http_get(port, "/other").rfind("HTTP/1.1 404", 0), 0u);
}

TEST(AgentMetrics, ListenerThatCannotBindSaysWhy) {
  AgentMetrics m;
  auto first = MetricsListener::start(BindAddress{"127.0.0.1", 0}, m);
  ASSERT_TRUE(first);
  auto second = MetricsListener::start(BindAddress{"127.0.0.1", (*first)->port()}, m);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("metrics_bind"), std::string::npos) << second.error().message;
}

}  // namespace
}  // namespace nt::agent
