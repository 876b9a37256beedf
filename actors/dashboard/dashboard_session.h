// Browser sessions of the dashboard, in plain C++: what the login cookie
// holds instead of the cluster's token. A session value is
// "<id>.<expiry>.<mac>": a random id, its expiry (Unix seconds) and
// HMAC-SHA256(token, label|id|expiry), so it reveals nothing of the token,
// cannot be made or extended without it, and dies with it. The server keeps
// the live ids, so a logout revokes one and a restart revokes them all.
#ifndef RAY_ACTORS_DASHBOARD_DASHBOARD_SESSION_H_
#define RAY_ACTORS_DASHBOARD_DASHBOARD_SESSION_H_

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace ray::dashboard {

/// Where sessions read the time (a fake one in tests).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

/// How long a login lasts.
constexpr std::chrono::seconds kSessionLifetime = std::chrono::hours(12);
/// Most sessions alive at once; a new one past it replaces the one nearest its end.
constexpr size_t kMaxSessions = 1024;

/// Thread-safe. `clock` must outlive the Sessions.
class Sessions {
 public:
  Sessions(std::string token, const Clock* clock, std::chrono::seconds lifetime = kSessionLifetime,
           size_t max_live = kMaxSessions);
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  /// A new session's value, valid for the lifetime from now.
  std::string Create();
  /// True for the value of a session this server made, not expired, not revoked.
  bool Valid(const std::string& value) const;
  /// Ends the session of `value` (a logout); nothing when it is none.
  void Revoke(const std::string& value);
  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  /// The id of a well-formed value whose MAC is right; empty otherwise.
  std::string IdOf(const std::string& value, int64_t* expiry) const;
  std::string Mac(const std::string& id, int64_t expiry) const;

  const std::string token_;
  const Clock* clock_;
  const std::chrono::seconds lifetime_;
  const size_t max_live_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> live_;  // id -> expiry (Unix s); GUARDED_BY(mu_)
};

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_DASHBOARD_SESSION_H_
