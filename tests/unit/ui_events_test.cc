// The topology page's change stream (src/api/ui_events.h): the first event, coalescing for
// slow readers, keepalives, and the bound on streams.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "api/ui_events.h"

namespace nt {
namespace {

using namespace std::chrono_literals;

// What the HTTP session would get if it asked for the next piece now (nullopt: it waits;
// the callback is left registered and fills `later`).
struct Reader {
  std::shared_ptr<BodyStream> stream;
  std::optional<std::optional<std::string>> later;
  std::optional<std::optional<std::string>> next() {
    later.reset();
    stream->next([this](std::optional<std::string> piece) { later = std::move(piece); });
    return std::exchange(later, std::nullopt);  // set only if delivered during the call
  }
};

TEST(UiEvents, StartsWithTheCurrentRevision) {
  UiEvents hub;
  Reader r{hub.subscribe(7)};
  auto first = r.next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(**first, "retry: 2000\n" + UiEvents::event(7));
  EXPECT_EQ(UiEvents::event(7), "event: revision\nid: 7\ndata: {\"revision\":7}\n\n");
}

TEST(UiEvents, ASlowReaderGetsOnlyTheLatestRevision) {
  UiEvents hub;
  Reader r{hub.subscribe(1)};
  r.next();
  for (int64_t rev = 2; rev <= 1000; ++rev) hub.publish(rev);  // nobody reads meanwhile
  auto got = r.next();
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, UiEvents::event(1000));
  EXPECT_FALSE(r.next());  // nothing more queued: it waits
}

TEST(UiEvents, AWaitingReaderGetsTheEventAtOnce) {
  UiEvents hub;
  Reader r{hub.subscribe(1)};
  r.next();
  EXPECT_FALSE(r.next());
  hub.publish(2);
  ASSERT_TRUE(r.later && *r.later);
  EXPECT_EQ(**r.later, UiEvents::event(2));
}

TEST(UiEvents, ASubscriberAfterAPublishStartsThere) {
  UiEvents hub;
  hub.publish(9);
  Reader r{hub.subscribe(5)};  // the revision read before the commit was published
  EXPECT_EQ(**r.next(), "retry: 2000\n" + UiEvents::event(9));
}

TEST(UiEvents, KeepalivesGoOnlyToIdleStreamsAndNeverReplaceAnEvent) {
  UiEvents hub(4, 0s);
  Reader idle{hub.subscribe(1)}, busy{hub.subscribe(1)};
  idle.next();
  EXPECT_FALSE(idle.next());
  hub.keepalive();
  ASSERT_TRUE(idle.later && *idle.later);
  EXPECT_EQ(**idle.later, ": keepalive\n\n");
  hub.keepalive();  // busy has its first event pending: kept
  EXPECT_EQ(**busy.next(), "retry: 2000\n" + UiEvents::event(1));
}

TEST(UiEvents, StreamsAreBoundedAndClosingFreesAPlace) {
  UiEvents hub(2);
  auto a = hub.subscribe(1), b = hub.subscribe(1);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(hub.subscribe(1), nullptr);
  EXPECT_EQ(hub.clients(), 2u);
  a->close();
  EXPECT_EQ(hub.clients(), 1u);
  Reader closed{a};
  auto end = closed.next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);  // a closed stream ends
  EXPECT_NE(hub.subscribe(1), nullptr);
  b.reset();  // a stream the session dropped counts no more either
  EXPECT_NE(hub.subscribe(1), nullptr);
}

}  // namespace
}  // namespace nt
