#include "common/metrics.h"

#include <charconv>
#include <cmath>

namespace nt::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;  // a few bounds: a scan beats a search
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.sum = sum_.load(std::memory_order_relaxed);
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  return s;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> size_buckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256}; }

namespace {

void append_number(std::string& out, double v) {
  if (std::isnan(v)) return out.append("NaN"), void();
  if (std::isinf(v)) return out.append(v > 0 ? "+Inf" : "-Inf"), void();
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back
  out.append(buf, ec == std::errc() ? end : buf);
}

// Label values: backslash, double quote and line feed escaped. HELP: backslash and line feed.
void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') out.append("\\\\");
    else if (c == '\n') out.append("\\n");
    else if (c == '"' && quotes) out.append("\\\"");
    else out.push_back(c);
  }
}

void append_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(name).append("=\"");
    append_escaped(out, value, true);
    out.push_back('"');
  }
  if (!le.empty()) out.append(first ? "" : ",").append("le=\"").append(le).append("\"");
  out.push_back('}');
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

void TextWriter::header(std::string_view name, std::string_view help, std::string_view type) {
  out_.append("# HELP ").append(name).push_back(' ');
  append_escaped(out_, help, false);
  out_.append("\n# TYPE ").append(name).append(" ").append(type).push_back('\n');
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
  out_.append(name);
  append_labels(out_, labels);
  out_.push_back(' ');
  append_number(out_, value);
  out_.push_back('\n');
}

void TextWriter::histogram(std::string_view name, const Labels& labels, const Histogram::Snapshot& s) {
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    std::string le;
    if (i < s.bounds.size()) append_number(le, s.bounds[i]);
    else le = "+Inf";
    out_.append(bucket);
    append_labels(out_, labels, le);
    out_.push_back(' ');
    append_number(out_, static_cast<double>(s.cumulative[i]));
    out_.push_back('\n');
  }
  sample(std::string(name) + "_sum", labels, s.sum);
  sample(std::string(name) + "_count", labels, static_cast<double>(s.count));
}

Labels zip_labels(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  Labels out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) out.emplace_back(names[i], values[i]);
  return out;
}

template <class T>
T& Registry::keep(std::unique_ptr<T> owned) {
  T& ref = *owned;
  owned_.push_back(std::shared_ptr<T>(std::move(owned)));
  return ref;
}

Counter& Registry::counter(std::string name, std::string help) {
  std::lock_guard g(mu_);
  auto& c = keep(std::make_unique<Counter>());
  entries_.push_back({std::move(name), std::move(help), Type::counter,
                      [&c](Samples& s) { s.value(static_cast<double>(c.value())); }});
  return c;
}

Gauge& Registry::gauge(std::string name, std::string help) {
  std::lock_guard g(mu_);
  auto& m = keep(std::make_unique<Gauge>());
  entries_.push_back({std::move(name), std::move(help), Type::gauge, [&m](Samples& s) { s.value(m.value()); }});
  return m;
}

Histogram& Registry::histogram(std::string name, std::string help, std::vector<double> bounds) {
  std::lock_guard g(mu_);
  auto& h = keep(std::make_unique<Histogram>(std::move(bounds)));
  entries_.push_back({std::move(name), std::move(help), Type::histogram, [&h](Samples& s) { s.histogram(h.snapshot()); }});
  return h;
}

Family<Counter>& Registry::counters(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard g(mu_);
  auto& f = keep(std::make_unique<Family<Counter>>(std::move(labels), [] { return std::make_unique<Counter>(); }));
  entries_.push_back({std::move(name), std::move(help), Type::counter, [&f](Samples& s) {
                        f.each([&](const auto& values, const Counter& c) {
                          s.value(static_cast<double>(c.value()), zip_labels(f.label_names(), values));
                        });
                      }});
  return f;
}

Family<Histogram>& Registry::histograms(std::string name, std::string help, std::vector<std::string> labels,
                                        std::vector<double> bounds) {
  std::lock_guard g(mu_);
  auto make = [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); };
  auto& f = keep(std::make_unique<Family<Histogram>>(std::move(labels), std::move(make)));
  entries_.push_back({std::move(name), std::move(help), Type::histogram, [&f](Samples& s) {
                        f.each([&](const auto& values, const Histogram& h) {
                          s.histogram(h.snapshot(), zip_labels(f.label_names(), values));
                        });
                      }});
  return f;
}

void Registry::collect(std::string name, std::string help, Type type, std::function<void(Samples&)> fn) {
  std::lock_guard g(mu_);
  entries_.push_back({std::move(name), std::move(help), type, std::move(fn)});
}

std::string Registry::render() const {
  std::lock_guard g(mu_);
  TextWriter w;
  for (const auto& e : entries_) {
    w.header(e.name, e.help, type_name(e.type));
    Samples samples(w, e.name);
    e.fn(samples);
  }
  return w.take();
}

}  // namespace nt::metrics
