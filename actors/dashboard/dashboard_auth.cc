#include "actors/dashboard/dashboard_auth.h"

#include <algorithm>
#include <vector>

namespace ray::dashboard {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string Header(const Headers& headers, const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

/// "host:port" of an origin or URL ("http://host:port/path" -> "host:port").
std::string Authority(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  size_t start = scheme + 3;
  size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

/// "*" allows any (a server listening on every address, guarded by the token).
bool Listed(const std::string& authority, const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), "*") != allowed.end()) return !authority.empty();
  return std::find(allowed.begin(), allowed.end(), authority) != allowed.end();
}

}  // namespace

bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string CookieValue(const std::string& cookie_header, const std::string& name) {
  size_t pos = 0;
  while (pos <= cookie_header.size()) {
    size_t end = cookie_header.find(';', pos);
    std::string part = Trim(cookie_header.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    size_t eq = part.find('=');
    if (eq != std::string::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}

std::string LoginCookie(const std::string& session, std::chrono::seconds max_age, bool secure) {
  return std::string(kCookieName) + "=" + session + "; Path=/; Max-Age=" +
         std::to_string(max_age.count()) + "; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

std::string LogoutCookie(bool secure) { return LoginCookie("", std::chrono::seconds(0), secure); }

bool HasBearerToken(const Headers& headers, const std::string& token) {
  if (token.empty()) return false;  // a dashboard without a token serves nobody
  const std::string auth = Header(headers, "authorization");
  return auth.rfind("Bearer ", 0) == 0 && SameSecret(Trim(auth.substr(7)), token);
}

bool HostAllowed(const Headers& headers, const std::vector<std::string>& allowed_hosts) {
  return Listed(Header(headers, "host"), allowed_hosts);
}

bool SameOrigin(const Headers& headers, const std::vector<std::string>& allowed_hosts) {
  const std::string origin = Header(headers, "origin");
  if (!origin.empty()) return Listed(Authority(origin), allowed_hosts);
  const std::string referer = Header(headers, "referer");
  if (!referer.empty()) return Listed(Authority(referer), allowed_hosts);
  return Header(headers, "authorization").rfind("Bearer ", 0) == 0;
}

}  // namespace ray::dashboard
