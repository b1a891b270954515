// One BFD session (RFC 5880, asynchronous mode, no authentication, no echo) as a pure
// state machine: no sockets and no clock of its own. The caller hands it every received
// control packet and the time, calls on_timer() at next_deadline(), and sends what it
// answers. States and transitions are §6.2 and §6.8.6; the intervals §6.8.2-§6.8.4 (a
// desired min TX of at least 1 s while not Up, a Poll Sequence when the advertised
// intervals change while Up, transmission jittered to 75-100%, 75-90% with detect mult 1).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "bfd/packet.h"

namespace nt::bfd {

using Clock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;

// The local configuration of a session.
struct Timers {
  Micros desired_min_tx{1'000'000};
  Micros required_min_rx{1'000'000};
  uint8_t detect_mult = 3;
  bool operator==(const Timers&) const = default;
};

struct Transition {
  State from = State::down, to = State::down;
  Diag diag = Diag::none;
};

// What one call asks of the caller: a packet to send now, and a state change to report.
struct Output {
  std::optional<ControlPacket> send;
  std::optional<Transition> changed;
  bool refused = false;  // the packet was not for this session (wrong your discriminator)
};

// A uniform random number in [0, 1): the jitter. Tests inject their own.
using RandomSource = std::function<double()>;
RandomSource default_random();

constexpr Micros kSlowTx{1'000'000};  // §6.8.3: desired min TX while not Up

class Session {
 public:
  // Starts Down, transmitting (the remote's min RX is taken as 1 us until it speaks).
  Session(uint32_t local_discriminator, Timers timers, Clock::time_point now, RandomSource random = default_random());

  // A packet that decode() accepted (§6.8.6 from the discriminator check on).
  Output on_packet(const ControlPacket& p, Clock::time_point now);
  // Detection time and periodic transmission; call at next_deadline() (earlier is harmless).
  Output on_timer(Clock::time_point now);
  // New local intervals: a Poll Sequence while Up (no flap), at once otherwise.
  Output set_timers(const Timers& t, Clock::time_point now);
  // Local AdminDown (diag 7): the packet to send once before the session is dropped.
  Output admin_down(Clock::time_point now);
  // A Down or Init session's packet now (with Poll) instead of at its next (1 s) slot:
  // another session of the host just came up, so the path is likely back; the peer answers
  // at once and this one comes up too, instead of up to a second later. Nothing for a
  // session Up or AdminDown.
  Output nudge(Clock::time_point now);

  Clock::time_point next_deadline() const;

  State state() const { return state_; }
  Diag diag() const { return diag_; }
  uint32_t local_discriminator() const { return local_disc_; }
  uint32_t remote_discriminator() const { return remote_disc_; }
  const Timers& timers() const { return timers_; }
  bool polling() const { return poll_active_; }
  Clock::time_point since() const { return since_; }
  // The interval between packets before jitter, and the detection time (0 while no
  // packet has been received or the session is not Init/Up).
  Micros tx_interval() const;
  Micros detection_time() const;

 private:
  ControlPacket make_packet(bool final) const;
  Micros advertised_tx() const;
  void change_state(State to, Diag diag, Clock::time_point now, Output& out);
  void refresh_intervals(Micros old_tx, Micros old_rx);
  void sent(Output& out, ControlPacket p, Clock::time_point now);
  void schedule_tx(Clock::time_point now);

  uint32_t local_disc_;
  Timers timers_;
  RandomSource random_;
  State state_ = State::down;
  Diag diag_ = Diag::none;
  Clock::time_point since_;
  uint32_t remote_disc_ = 0;
  State remote_state_ = State::down;
  Micros remote_min_rx_{1};
  Micros remote_desired_tx_{0};
  uint8_t remote_detect_mult_ = 0;
  bool heard_ = false;
  Clock::time_point last_rx_{};
  Clock::time_point next_tx_;
  Clock::time_point last_tx_{};
  // During a Poll Sequence the slower of the old and new values stays in force (§6.8.3).
  bool poll_active_ = false;
  Micros tx_in_use_, rx_in_use_;
};

}  // namespace nt::bfd
