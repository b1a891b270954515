// A reader-writer lock that lets a waiting writer in first. std::shared_mutex (glibc's
// default rwlock) prefers readers: while any reader holds it, new readers enter, so under a
// steady read load the writer waits for a moment when no request at all is being read (the
// API mix measured group commits waiting up to 10 ms for one). Here new readers queue behind
// a waiting writer, which so waits only for the reads already in progress.
//
// Not recursive for readers: a thread holding it shared must not take it shared again
// (it would wait behind a writer that waits for it). Meets the SharedMutex requirements, so
// std::shared_lock and std::unique_lock work with it.
#pragma once
#include <pthread.h>

#include <system_error>

namespace nt {

class WriterFirstMutex {
 public:
  WriterFirstMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_rwlock_init");
  }
  ~WriterFirstMutex() { pthread_rwlock_destroy(&lock_); }
  WriterFirstMutex(const WriterFirstMutex&) = delete;
  WriterFirstMutex& operator=(const WriterFirstMutex&) = delete;

  void lock() { check(pthread_rwlock_wrlock(&lock_)); }
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { check(pthread_rwlock_rdlock(&lock_)); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  static void check(int rc) {
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_rwlock");
  }
  pthread_rwlock_t lock_;
};

}  // namespace nt
