// Logging under systemd: when stdout is the journal (systemd sets JOURNAL_STREAM to its
// device:inode), each line is "<N>message" with N the syslog priority, which journald
// takes as the entry's priority (`journalctl -p err` works) and strips; the timestamp is
// left to journald. Anywhere else (a terminal, a log file, the sandbox) spdlog's default
// "[2026-12-02 01:56:14.525] [error] message" stays.
#pragma once
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace nt {
namespace detail {

class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    // spdlog's levels in order: trace, debug, info, warn, err, critical, off.
    static constexpr std::string_view kPriority[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", ""};
    auto level = static_cast<size_t>(msg.level);
    auto prefix = level < std::size(kPriority) ? kPriority[level] : std::string_view("<6>");
    dest.append(prefix.data(), prefix.data() + prefix.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriorityFlag>(); }
};

// True when file descriptor fd is the stream JOURNAL_STREAM names ("device:inode"); a
// child whose output went elsewhere inherits the variable but not the stream.
inline bool is_journal_stream(int fd) {
  const char* env = std::getenv("JOURNAL_STREAM");
  struct stat st{};
  if (!env || ::fstat(fd, &st) != 0) return false;
  return std::string(env) == std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace detail

// Switches spdlog to "<N>message" when stdout is the journal; returns whether it did.
inline bool use_journal_format_under_systemd() {
  if (!detail::is_journal_stream(STDOUT_FILENO)) return false;
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<detail::SyslogPriorityFlag>('*').set_pattern("%*%v");
  spdlog::set_formatter(std::move(formatter));
  return true;
}

}  // namespace nt
