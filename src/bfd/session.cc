#include "bfd/session.h"

#include <algorithm>
#include <memory>
#include <random>

namespace nt::bfd {

RandomSource default_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

Session::Session(uint32_t local_discriminator, Timers timers, Clock::time_point now, RandomSource random)
    : local_disc_(local_discriminator), timers_(timers), random_(std::move(random)), since_(now), next_tx_(now) {
  tx_in_use_ = advertised_tx();
  rx_in_use_ = timers_.required_min_rx;
}

Micros Session::advertised_tx() const {
  return state_ == State::up ? timers_.desired_min_tx : std::max(timers_.desired_min_tx, kSlowTx);
}

Micros Session::tx_interval() const { return std::max(tx_in_use_, remote_min_rx_); }

Micros Session::detection_time() const {
  if (!heard_ || (state_ != State::init && state_ != State::up)) return Micros{0};
  return remote_detect_mult_ * std::max(rx_in_use_, remote_desired_tx_);
}

ControlPacket Session::make_packet(bool final) const {
  ControlPacket p;
  p.diag = diag_;
  p.state = state_;
  p.poll = poll_active_ && !final;  // never both (§6.8.7)
  p.final = final;
  p.detect_mult = timers_.detect_mult;
  p.my_discriminator = local_disc_;
  p.your_discriminator = remote_disc_;
  p.desired_min_tx_us = static_cast<uint32_t>(advertised_tx().count());
  p.required_min_rx_us = static_cast<uint32_t>(timers_.required_min_rx.count());
  return p;
}

// The next periodic packet: 75-100% of the interval, at most 90% with detect mult 1
// (§6.8.7). Nothing periodic while the remote asks for no packets (min RX 0).
void Session::schedule_tx(Clock::time_point now) {
  if (remote_min_rx_.count() == 0) {
    next_tx_ = Clock::time_point::max();
    return;
  }
  double spread = timers_.detect_mult == 1 ? 0.15 : 0.25;
  double factor = 0.75 + spread * std::clamp(random_(), 0.0, 1.0);
  next_tx_ = now + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double, std::micro>(double(tx_interval().count()) * factor));
}

void Session::sent(Output& out, ControlPacket p, Clock::time_point now) {
  out.send = p;
  last_tx_ = now;
  schedule_tx(now);
}

// The advertised intervals moved (configuration or the 1 s rule): while Up through a Poll
// Sequence, keeping the slower TX and the longer RX in force until the Final; at once
// otherwise.
void Session::refresh_intervals(Micros old_tx, Micros old_rx) {
  Micros new_tx = advertised_tx(), new_rx = timers_.required_min_rx;
  if (state_ != State::up) {
    poll_active_ = false;
    tx_in_use_ = new_tx;
    rx_in_use_ = new_rx;
    return;
  }
  if (new_tx == old_tx && new_rx == old_rx) return;
  poll_active_ = true;
  tx_in_use_ = std::min(tx_in_use_, new_tx);
  rx_in_use_ = std::max(rx_in_use_, new_rx);
}

void Session::change_state(State to, Diag diag, Clock::time_point now, Output& out) {
  Micros old_tx = advertised_tx();
  out.changed = Transition{state_, to, diag};
  state_ = to;
  diag_ = diag;
  since_ = now;
  refresh_intervals(old_tx, timers_.required_min_rx);
}

Output Session::on_packet(const ControlPacket& p, Clock::time_point now) {
  Output out;
  if (p.your_discriminator != 0 && p.your_discriminator != local_disc_) {
    out.refused = true;
    return out;
  }
  remote_disc_ = p.my_discriminator;
  remote_state_ = p.state;
  remote_desired_tx_ = Micros{p.desired_min_tx_us};
  remote_detect_mult_ = p.detect_mult;
  bool rx_moved = remote_min_rx_ != Micros{p.required_min_rx_us};
  remote_min_rx_ = Micros{p.required_min_rx_us};
  heard_ = true;
  last_rx_ = now;
  if (p.final && poll_active_) {
    poll_active_ = false;
    tx_in_use_ = advertised_tx();
    rx_in_use_ = timers_.required_min_rx;
  }
  if (state_ == State::admin_down) return out;
  if (p.state == State::admin_down) {
    if (state_ != State::down) change_state(State::down, Diag::neighbor_down, now, out);
  } else if (state_ == State::down) {
    // Init keeps the reason the session went down (one-way loss shows as Init with it);
    // only Up clears it.
    if (p.state == State::down) change_state(State::init, diag_, now, out);
    else if (p.state == State::init) change_state(State::up, Diag::none, now, out);
  } else if (state_ == State::init) {
    if (p.state == State::init || p.state == State::up) change_state(State::up, Diag::none, now, out);
  } else if (p.state == State::down) {  // Up
    change_state(State::down, Diag::neighbor_down, now, out);
  }
  if (p.poll || out.changed) {
    sent(out, make_packet(p.poll), now);
  } else if (rx_moved && remote_min_rx_.count() > 0) {
    schedule_tx(last_tx_);
  } else if (rx_moved) {
    next_tx_ = Clock::time_point::max();
  }
  return out;
}

Output Session::on_timer(Clock::time_point now) {
  Output out;
  auto detect = detection_time();
  if (detect.count() > 0 && now >= last_rx_ + detect) {
    remote_disc_ = 0;  // §6.8.1: reset when the detection timer expires
    remote_state_ = State::down;
    heard_ = false;
    change_state(State::down, Diag::detection_time_expired, now, out);
    sent(out, make_packet(false), now);
    return out;
  }
  if (now >= next_tx_) sent(out, make_packet(false), now);
  return out;
}

Output Session::set_timers(const Timers& t, Clock::time_point now) {
  Output out;
  if (t == timers_) return out;
  Micros old_tx = advertised_tx(), old_rx = timers_.required_min_rx;
  timers_ = t;
  refresh_intervals(old_tx, old_rx);
  sent(out, make_packet(false), now);
  return out;
}

Output Session::admin_down(Clock::time_point now) {
  Output out;
  change_state(State::admin_down, Diag::admin_down, now, out);
  sent(out, make_packet(false), now);
  return out;
}

Output Session::nudge(Clock::time_point now) {
  Output out;
  if (state_ == State::up || state_ == State::admin_down) return out;
  // With Poll set: a peer already in Init (it heard this host while this host heard
  // nothing, e.g. only its input was blocked) changes nothing on a Down packet and would
  // otherwise answer only at its own next slot; a Poll it must answer at once (§6.5).
  auto packet = make_packet(false);
  packet.poll = true;
  sent(out, packet, now);
  return out;
}

Clock::time_point Session::next_deadline() const {
  auto detect = detection_time();
  if (detect.count() == 0) return next_tx_;
  return std::min(next_tx_, last_rx_ + detect);
}

}  // namespace nt::bfd
