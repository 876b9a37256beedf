// Who may use the dashboard, in plain C++ (no CAF, no HTTP library): the
// cluster's token as `Authorization: Bearer <token>` (the API), or a session
// (dashboard_session.h) in the HttpOnly, SameSite=Strict cookie the login
// sets (the browser; never the token itself); a request that changes
// anything must also come from the dashboard's own origin (DNS rebinding and
// cross-site requests were real attacks on Ray's).
#ifndef RAY_ACTORS_DASHBOARD_DASHBOARD_AUTH_H_
#define RAY_ACTORS_DASHBOARD_DASHBOARD_AUTH_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace ray::dashboard {

/// Headers by lowercase name.
using Headers = std::map<std::string, std::string>;

constexpr const char* kCookieName = "ray_dashboard_session";

/// Equal strings, compared in time that does not depend on where they differ.
bool SameSecret(const std::string& a, const std::string& b);
/// The value of cookie `name` in a Cookie header; empty when absent.
std::string CookieValue(const std::string& cookie_header, const std::string& name);
/// The Set-Cookie header that logs a browser in with session `session` for `max_age`.
std::string LoginCookie(const std::string& session, std::chrono::seconds max_age, bool secure);
/// The Set-Cookie header that makes a browser forget its session.
std::string LogoutCookie(bool secure);
/// True when the request carries `Authorization: Bearer <token>`.
bool HasBearerToken(const Headers& headers, const std::string& token);

/// Whether a request's Host names this server: one of `allowed_hosts`
/// ("127.0.0.1:8265", "localhost:8265", ...). Refuses DNS rebinding: a page
/// of evil.example resolving to 127.0.0.1 sends Host: evil.example.
bool HostAllowed(const Headers& headers, const std::vector<std::string>& allowed_hosts);
/// For requests that change state: Origin (or, without it, Referer) must be
/// this server's own; a request without either is allowed only with a
/// Bearer token (a script, not a browser).
bool SameOrigin(const Headers& headers, const std::vector<std::string>& allowed_hosts);

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_DASHBOARD_AUTH_H_
