// Metrics for /metrics: counters, gauges and histograms with fixed buckets, families of
// them by label values, and a registry that renders the Prometheus text exposition format
// (version 0.0.4).
//
// Recording is cheap enough for every request: relaxed atomics, no lock and no allocation
// for a plain metric; a family finds an existing child under a shared lock without
// allocating (a child is made once, the first time its label values are seen). Rendering
// (a scrape) allocates freely.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nt::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Buckets are upper bounds, strictly increasing; +Inf is implicit.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  // Buckets read one by one while others record: the count is taken from the buckets, so
  // +Inf always equals the count (the sum may run a few observations ahead).
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Seconds from 100 µs to 10 s (requests, commits, passes).
std::vector<double> latency_buckets();
// 1, 2, 4, ... 256 (requests per group commit).
std::vector<double> size_buckets();

// Metrics of one kind by label values (the label names are fixed at construction).
template <class Metric>
class Family {
 public:
  using Make = std::function<std::unique_ptr<Metric>()>;
  Family(std::vector<std::string> label_names, Make make) : names_(std::move(label_names)), make_(std::move(make)) {}
  const std::vector<std::string>& label_names() const { return names_; }

  // The child for these values (as many as there are label names), made on first use.
  Metric& with(std::initializer_list<std::string_view> values) {
    std::span<const std::string_view> key(values.begin(), values.size());
    {
      std::shared_lock g(mu_);
      if (auto it = children_.find(key); it != children_.end()) return *it->second;
    }
    std::unique_lock g(mu_);
    auto [it, made] = children_.try_emplace(std::vector<std::string>(values.begin(), values.end()));
    if (made) it->second = make_();
    return *it->second;
  }

  void each(const std::function<void(const std::vector<std::string>& values, const Metric&)>& f) const {
    std::shared_lock g(mu_);
    for (const auto& [values, m] : children_) f(values, *m);
  }

 private:
  // Orders stored values and looked-up views alike, so a lookup allocates nothing.
  struct Less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };
  std::vector<std::string> names_;
  Make make_;
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, Less> children_;
};

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// The text exposition format: one family at a time (header, then its samples).
class TextWriter {
 public:
  void header(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, const Labels& labels, double value);
  // name_bucket{...,le=...}, name_sum, name_count.
  void histogram(std::string_view name, const Labels& labels, const Histogram::Snapshot& s);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

enum class Type { counter, gauge, histogram };

// The samples of one family, for a collector (values read when scraped).
class Samples {
 public:
  Samples(TextWriter& w, std::string_view name) : w_(w), name_(name) {}
  void value(double v, const Labels& labels = {}) { w_.sample(name_, labels, v); }
  void histogram(const Histogram::Snapshot& s, const Labels& labels = {}) { w_.histogram(name_, labels, s); }

 private:
  TextWriter& w_;
  std::string_view name_;
};

// The metrics of a process, rendered in the order they were added. Names should carry
// the unit (`_seconds`, `_bytes`) and counters end in `_total`.
class Registry {
 public:
  Counter& counter(std::string name, std::string help);
  Gauge& gauge(std::string name, std::string help);
  Histogram& histogram(std::string name, std::string help, std::vector<double> bounds);
  Family<Counter>& counters(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& histograms(std::string name, std::string help, std::vector<std::string> labels,
                                std::vector<double> bounds);
  // A family whose samples are read at each scrape (state owned elsewhere).
  void collect(std::string name, std::string help, Type type, std::function<void(Samples&)> fn);
  std::string render() const;

 private:
  struct Entry {
    std::string name, help;
    Type type;
    std::function<void(Samples&)> fn;
  };
  template <class T>
  T& keep(std::unique_ptr<T> owned);
  mutable std::mutex mu_;  // entries_ (added at start, read by scrapes)
  std::vector<Entry> entries_;
  std::vector<std::shared_ptr<void>> owned_;
};

// The labels of a family's child: its label names paired with its values.
Labels zip_labels(const std::vector<std::string>& names, const std::vector<std::string>& values);

}  // namespace nt::metrics
