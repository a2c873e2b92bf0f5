// Clang thread-safety annotations (-Wthread-safety) and the annotated mutexes they check.
//
// libstdc++'s std::mutex carries no annotations, so the engine's mutex-protected state uses
// these thin wrappers. Under gcc the macros expand to nothing and the wrappers cost nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define VAULT_TSA(x) __attribute__((x))
#else
#define VAULT_TSA(x)
#endif

#define CAPABILITY(x) VAULT_TSA(capability(x))
#define SCOPED_CAPABILITY VAULT_TSA(scoped_lockable)
#define GUARDED_BY(x) VAULT_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) VAULT_TSA(pt_guarded_by(x))
#define REQUIRES(...) VAULT_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) VAULT_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) VAULT_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) VAULT_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) VAULT_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) VAULT_TSA(release_shared_capability(__VA_ARGS__))
#define EXCLUDES(...) VAULT_TSA(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS VAULT_TSA(no_thread_safety_analysis)

namespace vault {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope; waits on a condition variable with it.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Releases the mutex while waiting; holds it again on return. Callers loop on their
  // condition (a predicate lambda would be analysed without the lock).
  void Wait(std::condition_variable& cv) { cv.wait(lock_); }
  // False when the deadline passed.
  bool WaitUntil(std::condition_variable& cv, std::chrono::steady_clock::time_point deadline) {
    return cv.wait_until(lock_, deadline) == std::cv_status::no_timeout;
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

// A reader-writer mutex: many readers, or one writer.
class CAPABILITY("mutex") SharedMutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void ReaderLock() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterLock() RELEASE() { mu_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.ReaderLock(); }
  ~ReaderLock() RELEASE() { mu_.ReaderUnlock(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace vault
