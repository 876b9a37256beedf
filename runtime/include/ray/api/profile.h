// ray::Profile (the seed's ray.profile) and ray::Timeline (ray.timeline).
//
//   {
//     auto span = ray::Profile("load", {{"name", "shard 3"}, {"cname", "good"}});
//     span.SetAttribute("rows", "1200");
//     ...                       // recorded from here to the end of the scope
//   }
//   ray::Timeline("/tmp/trace.json");  // open in ui.perfetto.dev or chrome://tracing
#ifndef RAY_API_PROFILE_H_
#define RAY_API_PROFILE_H_

#include <map>
#include <memory>
#include <string>

namespace ray {

/// A span of the timeline, from construction to destruction, in a driver, a
/// task or an actor method. `extra` becomes the trace event's args; "name" and
/// "cname" in it override the displayed text and colour (one of Chrome's
/// reserved colour names: "good", "bad", "terrible", "yellow", "olive", ...).
/// A span ended by an exception records its type and message (args
/// "exception_type", "exception_message"). Nothing is recorded when the
/// timeline is off (RayConfig::enable_timeline = false).
class ProfileSpan {
 public:
  ProfileSpan(std::string event_type, std::map<std::string, std::string> extra);
  ~ProfileSpan();
  ProfileSpan(ProfileSpan&& other) noexcept;
  ProfileSpan& operator=(ProfileSpan&&) = delete;
  ProfileSpan(const ProfileSpan&) = delete;
  ProfileSpan& operator=(const ProfileSpan&) = delete;

  /// Adds (or replaces) one item of the span's extra data.
  void SetAttribute(const std::string& key, const std::string& value);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline ProfileSpan Profile(std::string event_type,
                           std::map<std::string, std::string> extra = {}) {
  return ProfileSpan(std::move(event_type), std::move(extra));
}

/// Writes the cluster's events (every job's) as a Chrome trace to `path`
/// (empty: /tmp/ray-timeline-<date>.json) and returns the path written.
/// Throws RayException when it cannot. See docs/cli.md for the format.
std::string Timeline(const std::string& path = "");

}  // namespace ray

#endif  // RAY_API_PROFILE_H_
