// Who keeps a place in the auth handshake, and what the log says about those
// refused: the policy of net.cc's handshake loop as plain C++, the clock
// passed in, so that tests drive it with no socket and no sleep.
//
// Why this shape (issue 22): 32 sockets from one stranger, each sending a byte
// every 4 s, held all 32 places of a per-byte 5 s timeout and locked drivers,
// workers and `ray status` out. Now:
//  - a connection has one deadline for its whole handshake (2 s from accept),
//    whatever it sends;
//  - one source address holds at most `per_address` places. A new connection
//    from an address at its limit pushes out that address's oldest one, so a
//    stranger's sockets only ever push out each other, never another address;
//  - when the whole table is full, the newcomer pushes out the oldest
//    connection of the address that holds the most places.
// Pushing out the oldest (not refusing the newest) is what protects proven
// traffic when the stranger shares its address (a local user on 127.0.0.1,
// where "addresses that proved the token recently" would tell nothing): a
// Ray peer finishes in two round trips (under a millisecond here), while a
// staller's places are old, so a newcomer takes a staller's place, and the
// newcomer itself is pushed out only if `per_address` more connections come
// from its address before it finishes. A pushed-out or late client is told so
// ('B', net.cc) and tries again until its own deadline. The places are cheap
// (a poll loop, no thread each), so the limits are large.
#ifndef RAY_ACTORS_NET_HANDSHAKE_POLICY_H_
#define RAY_ACTORS_NET_HANDSHAKE_POLICY_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ray::net {

using HandshakeClock = std::chrono::steady_clock;

/// Why a connection did not get through the handshake; counted by reason.
enum class Refusal : int {
  kClosed,        // the peer closed (or reset) before it finished
  kNotRay,        // its first bytes are not this version's handshake
  kWrongToken,    // its proof is not the cluster token's
  kTimedOut,      // it did not finish within the deadline
  kAddressLimit,  // pushed out by newer connections from its own address
  kTableFull,     // pushed out by a newcomer while every place was taken
  kAcceptFailed,  // accept() failed (no file descriptor left): no address known
};
constexpr int kRefusalKinds = 7;

/// snake_case, for the JSON of `ray status`.
inline const char* RefusalName(Refusal why) {
  static const char* const kNames[kRefusalKinds] = {
      "closed", "not_ray", "wrong_token", "timed_out", "address_limit", "table_full",
      "accept_failed"};
  return kNames[static_cast<int>(why)];
}

/// A few words, for the log and the text of `ray status`.
inline const char* RefusalWords(Refusal why) {
  static const char* const kWords[kRefusalKinds] = {
      "closed early",        "not a Ray peer", "wrong token", "timed out",
      "over address limit",  "table full",     "accept failed"};
  return kWords[static_cast<int>(why)];
}

/// What `ray status` shows of a process's handshakes (net::Handshakes).
struct HandshakeStats {
  struct Source {
    std::string address;
    uint64_t refused = 0;     // since it last entered the short list
    std::string last_reason;  // a RefusalName
    std::chrono::system_clock::time_point last_time;
  };
  uint64_t admitted = 0;
  uint64_t refused = 0;
  std::map<std::string, uint64_t> refused_by;  // by RefusalName, every reason listed
  std::vector<Source> recent;                  // the last addresses refused, newest first (≤ 8)
};

/// The connections of one listener that are in their handshake.
class HandshakeTable {
 public:
  struct Limits {
    size_t total = 512;
    size_t per_address = 64;
    HandshakeClock::duration deadline = std::chrono::seconds(2);
  };
  using Evicted = std::vector<std::pair<uint64_t, Refusal>>;

  explicit HandshakeTable(Limits limits) : limits_(limits) {}
  HandshakeTable(const HandshakeTable&) = delete;
  HandshakeTable& operator=(const HandshakeTable&) = delete;

  /// Takes a place for a connection from `address` accepted at `now`; returns
  /// its id (ids grow with time). The connections pushed out to make room (at
  /// most one) are appended to `*evicted`, with why, and are no longer here.
  uint64_t Add(const std::string& address, HandshakeClock::time_point now, Evicted* evicted) {
    auto same = by_address_.find(address);
    if (same != by_address_.end() && same->second.size() >= limits_.per_address) {
      evicted->emplace_back(*same->second.begin(), Refusal::kAddressLimit);
      Remove(*same->second.begin());
    } else if (entries_.size() >= limits_.total && !entries_.empty()) {
      auto biggest = by_address_.begin();
      for (auto it = by_address_.begin(); it != by_address_.end(); ++it) {
        // The most places; of those, the one holding the oldest.
        if (it->second.size() > biggest->second.size() ||
            (it->second.size() == biggest->second.size() &&
             *it->second.begin() < *biggest->second.begin())) {
          biggest = it;
        }
      }
      evicted->emplace_back(*biggest->second.begin(), Refusal::kTableFull);
      Remove(*biggest->second.begin());
    }
    uint64_t id = next_id_++;
    entries_.emplace(id, Entry{address, now + limits_.deadline});
    by_address_[address].insert(id);
    return id;
  }

  /// Frees the place of a connection that finished (admitted or refused).
  void Remove(uint64_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto addr = by_address_.find(it->second.address);
    addr->second.erase(id);
    if (addr->second.empty()) by_address_.erase(addr);
    entries_.erase(it);
  }

  /// Removes and returns the connections whose deadline is at or before `now`.
  std::vector<uint64_t> Expire(HandshakeClock::time_point now) {
    std::vector<uint64_t> out;
    // Every entry has the same deadline after its accept: id order is deadline order.
    while (!entries_.empty() && entries_.begin()->second.deadline <= now) {
      out.push_back(entries_.begin()->first);
      Remove(entries_.begin()->first);
    }
    return out;
  }

  /// The next deadline; time_point::max() when the table is empty.
  HandshakeClock::time_point NextDeadline() const {
    return entries_.empty() ? HandshakeClock::time_point::max() : entries_.begin()->second.deadline;
  }

  size_t size() const { return entries_.size(); }
  size_t CountFrom(const std::string& address) const {
    auto it = by_address_.find(address);
    return it == by_address_.end() ? 0 : it->second.size();
  }
  const Limits& limits() const { return limits_; }

 private:
  struct Entry {
    std::string address;
    HandshakeClock::time_point deadline;
  };
  Limits limits_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Entry> entries_;                     // by id: oldest first
  std::map<std::string, std::set<uint64_t>> by_address_;  // each address's ids, oldest first
};

/// What the log says about refused connections: at most one line per address
/// per `window`, each with the count of those not logged since the last one,
/// and (Flush) a closing line for an address that went quiet, so a refusal is
/// never silent. At most `max_addresses` are followed one by one; the rest
/// share one entry. Not thread-safe.
class RefusalLog {
 public:
  explicit RefusalLog(HandshakeClock::duration window = std::chrono::seconds(10),
                      size_t max_addresses = 1024)
      : window_(window), max_addresses_(max_addresses) {}

  /// A refusal of a connection from `address` to `port`. Returns the line to
  /// log now, or "" when it is counted for a later line.
  std::string Note(const std::string& address, uint16_t port, Refusal why,
                   const std::string& detail, HandshakeClock::time_point now) {
    std::string key = address;
    if (!sources_.count(key) && sources_.size() >= max_addresses_) key = kOthers;
    auto [it, fresh] = sources_.try_emplace(key);
    Source& s = it->second;
    if (!fresh && now - s.last_line < window_) {
      ++s.suppressed[static_cast<int>(why)];
      return {};
    }
    std::string line = "refused a connection from " + address + " to port " + std::to_string(port) +
                       ": " + detail;
    std::string more = Summary(s);
    line += more.empty() ? " (more from " + key + ": at most one line per " + Seconds() + ")"
                         : "; " + more + " from " + key + " since the last line";
    s = Source{};
    s.last_line = now;
    return line;
  }

  /// Lines for the addresses whose refusals since their last line were not
  /// logged and whose window has passed; forgets addresses quiet that long.
  std::vector<std::string> Flush(HandshakeClock::time_point now) {
    std::vector<std::string> out;
    for (auto it = sources_.begin(); it != sources_.end();) {
      Source& s = it->second;
      if (now - s.last_line < window_) {
        ++it;
        continue;
      }
      std::string more = Summary(s);
      if (more.empty()) {
        it = sources_.erase(it);
        continue;
      }
      out.push_back("refused " + more + " from " + it->first + " in the last " + Seconds());
      s = Source{};
      s.last_line = now;
      ++it;
    }
    return out;
  }

 private:
  struct Source {
    HandshakeClock::time_point last_line{};
    uint64_t suppressed[kRefusalKinds] = {};
  };
  static constexpr const char* kOthers = "other addresses";

  /// "12 more connections (10 timed out, 2 over address limit)", or "".
  static std::string Summary(const Source& s) {
    uint64_t total = 0;
    std::string parts;
    for (int i = 0; i < kRefusalKinds; ++i) {
      if (s.suppressed[i] == 0) continue;
      total += s.suppressed[i];
      parts += (parts.empty() ? "" : ", ") + std::to_string(s.suppressed[i]) + " " +
               RefusalWords(static_cast<Refusal>(i));
    }
    if (total == 0) return {};
    return std::to_string(total) + " more connection" + (total == 1 ? "" : "s") + " (" + parts + ")";
  }
  std::string Seconds() const {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(window_).count()) + " s";
  }

  HandshakeClock::duration window_;
  size_t max_addresses_;
  std::map<std::string, Source> sources_;
};

}  // namespace ray::net

#endif  // RAY_ACTORS_NET_HANDSHAKE_POLICY_H_
