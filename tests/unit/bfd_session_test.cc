// BFD: the control packet codec and its frame (known bytes, the §6.8.6 checks one by
// one), and sessions wired back to back on a fake clock: coming Up, detection time,
// AdminDown from the peer, Poll Sequences, a restarted peer.
#include <gtest/gtest.h>

#include <deque>

#include "bfd/packet.h"
#include "bfd/session.h"

namespace nt::bfd {
namespace {

using namespace std::chrono_literals;

const std::vector<uint8_t> kUpPacket = {0x20, 0xc0, 0x03, 0x18, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                        0x00, 0x01, 0x86, 0xa0, 0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x00};

ControlPacket up_packet() {
  ControlPacket p;
  p.state = State::up;
  p.detect_mult = 3;
  p.my_discriminator = 0x11223344;
  p.your_discriminator = 0x55667788;
  p.desired_min_tx_us = 100000;
  p.required_min_rx_us = 100000;
  return p;
}

TEST(BfdPacket, EncodesKnownBytes) {
  auto bytes = encode(up_packet());
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), kUpPacket);
}

TEST(BfdPacket, DecodesKnownBytes) {
  auto p = decode(kUpPacket);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p, up_packet());
  auto flags = kUpPacket;
  flags[0] = 0x23;  // diag 3
  flags[1] = 0x60;  // Down, Poll
  flags[8] = flags[9] = flags[10] = flags[11] = 0;
  auto q = decode(flags);
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->diag, Diag::neighbor_down);
  EXPECT_EQ(q->state, State::down);
  EXPECT_TRUE(q->poll);
  EXPECT_FALSE(q->final);
}

// One §6.8.6 rule broken: refused with a message naming it.
void expect_refused(std::vector<uint8_t> bytes, const std::string& rule) {
  auto p = decode(bytes);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find(rule), std::string::npos) << p.error().message;
}

TEST(BfdPacket, RefusesVersionOtherThanOne) {
  auto b = kUpPacket;
  b[0] = 0x40;
  expect_refused(b, "version");
}
TEST(BfdPacket, RefusesLengthBelow24) {
  auto b = kUpPacket;
  b[3] = 23;
  expect_refused(b, "length below 24");
}
TEST(BfdPacket, RefusesLengthBeyondDatagram) {
  auto b = kUpPacket;
  b[3] = 25;
  expect_refused(b, "beyond the datagram");
  b.push_back(0);  // now the datagram holds it
  EXPECT_TRUE(decode(b));
}
TEST(BfdPacket, RefusesShortDatagram) { expect_refused({kUpPacket.begin(), kUpPacket.begin() + 20}, "shorter"); }
TEST(BfdPacket, RefusesZeroDetectMult) {
  auto b = kUpPacket;
  b[2] = 0;
  expect_refused(b, "detect mult");
}
TEST(BfdPacket, RefusesMultipoint) {
  auto b = kUpPacket;
  b[1] |= 0x01;
  expect_refused(b, "multipoint");
}
TEST(BfdPacket, RefusesZeroMyDiscriminator) {
  auto b = kUpPacket;
  b[4] = b[5] = b[6] = b[7] = 0;
  expect_refused(b, "my discriminator");
}
TEST(BfdPacket, RefusesZeroYourDiscriminatorOutsideDown) {
  auto b = kUpPacket;
  b[8] = b[9] = b[10] = b[11] = 0;
  expect_refused(b, "your discriminator");  // Up
  b[1] = 0x80;
  expect_refused(b, "your discriminator");  // Init
  b[1] = 0x40;
  EXPECT_TRUE(decode(b));  // Down
  b[1] = 0x00;
  EXPECT_TRUE(decode(b));  // AdminDown
}
TEST(BfdPacket, RefusesAuthentication) {
  auto b = kUpPacket;
  b[1] |= 0x04;
  expect_refused(b, "authentication");
}
TEST(BfdPacket, RefusesPollAndFinal) {
  auto b = kUpPacket;
  b[1] |= 0x30;
  expect_refused(b, "poll and final");
}

TEST(BfdFrame, PeerMacFromVtep) {
  EXPECT_EQ(mac_text(peer_mac(0x0a000001)), "02:bf:0a:00:00:01");
  auto m = peer_mac("192.168.1.254");
  ASSERT_TRUE(m);
  EXPECT_EQ(mac_text(*m), "02:bf:c0:a8:01:fe");
  for (auto bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3"})
    EXPECT_FALSE(peer_mac(bad)) << bad;
}

TEST(BfdFrame, BuildsAndParses) {
  FrameAddress a{peer_mac(0x0a630002), peer_mac(0x0a630001), 0x0a630001, kLoopback, 50000};
  auto f = build_frame(a, up_packet());
  ASSERT_EQ(f.size(), 14u + 20 + 8 + 24);
  const std::vector<uint8_t> head = {0x02, 0xbf, 0x0a, 0x63, 0x00, 0x02, 0x02, 0xbf, 0x0a, 0x63, 0x00, 0x01, 0x08, 0x00,
                                     0x45, 0xc0, 0x00, 0x34, 0x00, 0x00, 0x00, 0x00, 0xff, 0x11};
  EXPECT_EQ(std::vector<uint8_t>(f.begin(), f.begin() + 24), head);
  // Header checksum: the one's complement sum over the header is 0xffff.
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += uint32_t(f[i] << 8 | f[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 34, f.begin() + 42),
            (std::vector<uint8_t>{0xc3, 0x50, 0x0e, 0xc8, 0x00, 0x20, 0x00, 0x00}));
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 42, f.end()), kUpPacket);
  auto p = parse_frame(f);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->address.src_ip, 0x0a630001u);
  EXPECT_EQ(p->address.src_port, 50000);
  EXPECT_EQ(p->address.src_mac, peer_mac(0x0a630001));
  EXPECT_EQ(p->packet, up_packet());
}

TEST(BfdView, BuildsAndParsesAndRefusesGarbage) {
  FrameAddress a{peer_mac(0x0a630002), peer_mac(0x0a630001), 0x0a630001, kLoopback, 50000};
  std::vector<uint32_t> up = {0x0a630003, 0x0a630004};
  auto f = build_view_frame(a, up);
  auto v = parse_view_frame(f);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->up, up);
  EXPECT_EQ(v->address.src_ip, 0x0a630001u);
  EXPECT_FALSE(parse_frame(f));  // not a control packet
  EXPECT_FALSE(parse_view_frame(build_frame(a, up_packet())));
  auto bad_count = f;
  bad_count[42 + 5] = 3;  // says three addresses, carries two
  EXPECT_FALSE(parse_view_frame(bad_count));
  auto bad_magic = f;
  bad_magic[42] = 'X';
  EXPECT_FALSE(parse_view_frame(bad_magic));
  EXPECT_FALSE(parse_view_frame(std::span(f).first(48)));
  // At most kMaxViewPeers go into one frame.
  std::vector<uint32_t> many(1000);
  for (uint32_t i = 0; i < many.size(); ++i) many[i] = 0x0b000000 + i;
  auto big = parse_view_frame(build_view_frame(a, many));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->up.size(), kMaxViewPeers);
}

TEST(BfdFrame, RefusesBadFrames) {
  FrameAddress a{peer_mac(0x0a630002), peer_mac(0x0a630001), 0x0a630001, kLoopback, 50000};
  auto good = build_frame(a, up_packet());
  auto mutate = [&](size_t at, uint8_t v) {
    auto f = good;
    f[at] = v;
    return parse_frame(f);
  };
  EXPECT_FALSE(mutate(14 + 10, good[24] ^ 1));  // IPv4 checksum
  EXPECT_FALSE(mutate(12, 0x86));               // ethertype
  EXPECT_FALSE(mutate(14 + 9, 6));              // TCP
  EXPECT_FALSE(mutate(37, 0xc9));               // UDP port 3785 (checksum 0: not checked)
  EXPECT_FALSE(parse_frame(std::span(good).first(40)));
  // TTL 254, checksum fixed up: still refused (GTSM).
  auto f = good;
  f[22] = 254;
  f[24] = f[25] = 0;
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += uint32_t(f[i] << 8 | f[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = uint8_t(~sum >> 8);
  f[25] = uint8_t(~sum);
  auto r = parse_frame(f);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("TTL"), std::string::npos) << r.error().message;
}

// Two sessions wired back to back through encode/decode, with 1 ms of latency each way,
// a switch to drop packets in either direction, on a fake clock.
struct Wire {
  struct InFlight {
    Clock::time_point at;
    bool to_a;
    std::array<uint8_t, kControlPacketSize> bytes;
  };
  struct Event {
    char who;
    Transition t;
    Clock::time_point at;
  };
  static constexpr Timers kFast{100ms, 100ms, 3};

  Clock::time_point now = Clock::time_point{} + 1000s;
  uint64_t seed = 12345;
  RandomSource random = [this] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(seed >> 11) / double(1ULL << 53);
  };
  Session a{0xa1, kFast, now, random}, b{0xb2, kFast, now, random};
  std::deque<InFlight> wire;
  bool drop_to_a = false, drop_to_b = false;
  std::vector<Event> events;
  std::vector<ControlPacket> sent_by_a, sent_by_b;
  Clock::time_point last_rx_a{}, last_rx_b{};

  void handle(char who, const Output& out) {
    if (out.changed) events.push_back({who, *out.changed, now});
    if (!out.send) return;
    (who == 'a' ? sent_by_a : sent_by_b).push_back(*out.send);
    bool to_a = who == 'b';
    if (to_a ? drop_to_a : drop_to_b) return;
    wire.push_back({now + 1ms, to_a, encode(*out.send)});
  }

  void run_for(Clock::duration d) {
    auto end = now + d;
    for (;;) {
      auto t = std::min(a.next_deadline(), b.next_deadline());
      if (!wire.empty()) t = std::min(t, wire.front().at);
      if (t > end) break;
      now = std::max(now, t);
      while (!wire.empty() && wire.front().at <= now) {
        auto in = wire.front();
        wire.pop_front();
        auto p = decode(in.bytes);
        ASSERT_TRUE(p) << p.error().message;
        (in.to_a ? last_rx_a : last_rx_b) = now;
        handle(in.to_a ? 'a' : 'b', (in.to_a ? a : b).on_packet(*p, now));
      }
      if (a.next_deadline() <= now) handle('a', a.on_timer(now));
      if (b.next_deadline() <= now) handle('b', b.on_timer(now));
    }
    now = end;
  }

  std::vector<Event> of(char who) const {
    std::vector<Event> out;
    for (const auto& e : events)
      if (e.who == who) out.push_back(e);
    return out;
  }
};

TEST(BfdSession, BackToBackComesUpThroughInit) {
  Wire w;
  w.run_for(3s);
  for (char who : {'a', 'b'}) {
    auto ev = w.of(who);
    ASSERT_EQ(ev.size(), 2u) << who;
    EXPECT_EQ(ev[0].t.from, State::down);
    EXPECT_EQ(ev[0].t.to, State::init);
    EXPECT_EQ(ev[1].t.to, State::up);
  }
  EXPECT_EQ(w.a.state(), State::up);
  EXPECT_EQ(w.b.state(), State::up);
  EXPECT_EQ(w.a.remote_discriminator(), 0xb2u);
  EXPECT_EQ(w.b.remote_discriminator(), 0xa1u);
  // Up: the configured 100 ms replaced the 1 s of §6.8.3 through a completed Poll.
  EXPECT_FALSE(w.a.polling());
  EXPECT_EQ(w.a.tx_interval(), 100ms);
  EXPECT_EQ(w.a.detection_time(), 300ms);
  EXPECT_EQ(w.a.diag(), Diag::none);
  // Before Up nothing advertised less than 1 s.
  EXPECT_EQ(w.sent_by_a.front().desired_min_tx_us, 1'000'000u);
  EXPECT_EQ(w.sent_by_a.back().desired_min_tx_us, 100'000u);
}

TEST(BfdSession, LostPacketsGoDownAfterDetectionTime) {
  Wire w;
  w.run_for(3s);
  ASSERT_EQ(w.a.state(), State::up);
  auto loss = w.now;
  w.drop_to_a = w.drop_to_b = true;
  w.run_for(2s);
  for (char who : {'a', 'b'}) {
    auto ev = w.of(who);
    ASSERT_EQ(ev.size(), 3u) << who;
    EXPECT_EQ(ev[2].t.to, State::down);
    EXPECT_EQ(ev[2].t.diag, Diag::detection_time_expired);
    auto last_rx = who == 'a' ? w.last_rx_a : w.last_rx_b;
    EXPECT_GE(ev[2].at - last_rx, 300ms) << who;
    EXPECT_LE(ev[2].at - last_rx, 400ms) << who;
    EXPECT_LE(ev[2].at - loss, 400ms) << who;
    EXPECT_GE(ev[2].at - loss, 200ms) << who;
  }
  EXPECT_EQ(w.a.remote_discriminator(), 0u);
  EXPECT_EQ(w.a.diag(), Diag::detection_time_expired);
  // Only b hears a: b goes Init and keeps the reason it went down.
  w.drop_to_b = false;
  w.run_for(3s);
  EXPECT_EQ(w.b.state(), State::init);
  EXPECT_EQ(w.b.diag(), Diag::detection_time_expired);
  EXPECT_EQ(w.a.state(), State::down);
  // Packets flow again: Up again, the diagnostic cleared.
  w.drop_to_a = false;
  w.run_for(5s);
  EXPECT_EQ(w.a.state(), State::up);
  EXPECT_EQ(w.b.state(), State::up);
  EXPECT_EQ(w.b.diag(), Diag::none);
}

TEST(BfdSession, PeerAdminDownBringsDownWithDiag3) {
  Wire w;
  w.run_for(3s);
  w.handle('b', w.b.admin_down(w.now));
  EXPECT_EQ(w.b.state(), State::admin_down);
  EXPECT_EQ(w.b.diag(), Diag::admin_down);
  w.run_for(3s);
  auto ev = w.of('a');
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[2].t.from, State::up);
  EXPECT_EQ(ev[2].t.to, State::down);
  EXPECT_EQ(ev[2].t.diag, Diag::neighbor_down);
  EXPECT_EQ(w.a.state(), State::down);  // stays Down while the peer is AdminDown
  EXPECT_EQ(w.b.state(), State::admin_down);
}

TEST(BfdSession, RefusesPacketForAnotherDiscriminator) {
  Wire w;
  w.run_for(3s);
  auto p = up_packet();
  p.my_discriminator = 0xb2;
  p.your_discriminator = 0xdead;
  auto out = w.a.on_packet(p, w.now);
  EXPECT_TRUE(out.refused);
  EXPECT_FALSE(out.changed);
  p.state = State::down;
  EXPECT_TRUE(w.a.on_packet(p, w.now).refused);
  EXPECT_EQ(w.a.state(), State::up);
}

TEST(BfdSession, TimerChangeRunsPollSequence) {
  Wire w;
  w.run_for(3s);
  auto events = w.events.size();
  auto sent = w.sent_by_a.size();
  w.handle('a', w.a.set_timers(Timers{300ms, 300ms, 3}, w.now));
  EXPECT_TRUE(w.a.polling());
  EXPECT_EQ(w.a.tx_interval(), 100ms);  // the slower TX waits for the Final
  w.run_for(50ms);
  EXPECT_FALSE(w.a.polling());
  EXPECT_TRUE(w.sent_by_a[sent].poll);
  EXPECT_EQ(w.sent_by_a[sent].desired_min_tx_us, 300'000u);
  bool final_seen = false;
  for (const auto& p : w.sent_by_b) final_seen |= p.final;
  EXPECT_TRUE(final_seen);
  w.run_for(2s);
  EXPECT_EQ(w.a.tx_interval(), 300ms);
  EXPECT_EQ(w.b.tx_interval(), 300ms);    // a now asks for 300 ms
  EXPECT_EQ(w.b.detection_time(), 900ms);  // 3 x a's 300 ms
  EXPECT_EQ(w.a.detection_time(), 900ms);  // 3 x a's own min RX
  EXPECT_EQ(w.events.size(), events);      // no flap
  EXPECT_EQ(w.a.state(), State::up);
}

TEST(BfdSession, RestartedPeerComesBackUp) {
  Wire w;
  w.run_for(3s);
  w.b = Session(0xc3, Wire::kFast, w.now, w.random);
  w.run_for(5s);
  EXPECT_EQ(w.a.state(), State::up);
  EXPECT_EQ(w.b.state(), State::up);
  EXPECT_EQ(w.a.remote_discriminator(), 0xc3u);
  auto ev = w.of('a');
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev[2].t.from, State::up);
  EXPECT_EQ(ev[2].t.to, State::down);
  EXPECT_EQ(ev[2].t.diag, Diag::neighbor_down);
  EXPECT_EQ(ev.back().t.to, State::up);
}

TEST(BfdSession, JitterStaysWithinBounds) {
  auto t0 = Clock::time_point{} + 10s;
  for (double r : {0.0, 0.5, 0.999999}) {
    Session s(1, Timers{100ms, 100ms, 3}, t0, [r] { return r; });
    auto out = s.on_timer(t0);
    ASSERT_TRUE(out.send);
    auto gap = s.next_deadline() - t0;
    EXPECT_GE(gap, 750ms);  // Down: 1 s
    EXPECT_LE(gap, 1000ms);
    Session one(1, Timers{100ms, 100ms, 1}, t0, [r] { return r; });
    (void)one.on_timer(t0);
    EXPECT_GE(one.next_deadline() - t0, 750ms);
    EXPECT_LE(one.next_deadline() - t0, 900ms);
  }
}

TEST(BfdSessionNudge, ADownSessionSendsAtOnceAndOthersNothing) {
  Wire w;
  auto later = w.now + 300ms;  // within the 1 s slot of a session not Up
  auto out = w.a.nudge(later);
  ASSERT_TRUE(out.send);
  EXPECT_EQ(out.send->state, State::down);
  EXPECT_EQ(out.send->desired_min_tx_us, 1'000'000u);
  EXPECT_FALSE(out.changed);
  w.run_for(3s);
  ASSERT_EQ(w.a.state(), State::up);
  EXPECT_FALSE(w.a.nudge(w.now).send);  // an Up session keeps its own pace
}

// Seed 004 healing: only a's input was blocked, so b heard a's Down packets and waits in
// Init while a is Down. A nudge from a must bring the session up at once, not at b's next
// 1 s slot (the peer in Init would ignore a plain Down packet).
TEST(BfdSessionNudge, APeerWaitingInInitAnswersTheNudgeAtOnce) {
  Wire w;
  w.run_for(3s);
  ASSERT_EQ(w.a.state(), State::up);
  w.drop_to_a = true;
  w.run_for(5s);
  ASSERT_EQ(w.a.state(), State::down);
  ASSERT_EQ(w.b.state(), State::init);
  w.drop_to_a = false;
  w.run_for(1ms);  // nothing in flight towards a that was dropped is replayed
  auto at = w.now;
  w.handle('a', w.a.nudge(w.now));
  ASSERT_TRUE(w.sent_by_a.back().poll);
  w.events.clear();
  w.run_for(20ms);
  EXPECT_EQ(w.a.state(), State::up);
  EXPECT_EQ(w.b.state(), State::up);
  for (const auto& e : w.events) EXPECT_LE(e.at - at, 5ms) << e.who;  // a few 1 ms hops, no slot
}

}  // namespace
}  // namespace nt::bfd
