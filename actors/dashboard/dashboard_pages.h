// The dashboard's pages: one HTML/JS app (actors/dashboard/web/app.html,
// embedded in the binary when it is built; nothing is fetched from the
// internet), served at each page's own path so links and bookmarks work.
#ifndef RAY_ACTORS_DASHBOARD_DASHBOARD_PAGES_H_
#define RAY_ACTORS_DASHBOARD_DASHBOARD_PAGES_H_

#include <string>

namespace ray::dashboard {

/// "/", "/nodes", "/actors", "/tasks", "/jobs", "/objects", "/logs", "/timeline".
bool IsPage(const std::string& path);
/// The app (every page; it draws the one its path names).
const std::string& AppPage();
/// The login form; `error` is shown above it (HTML-escaped).
std::string LoginPage(const std::string& error);

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_DASHBOARD_PAGES_H_
