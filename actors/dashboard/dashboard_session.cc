#include "actors/dashboard/dashboard_session.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "actors/common/auth.h"
#include "actors/common/ids.h"

namespace ray::dashboard {
namespace {

constexpr const char* kLabel = "ray-dashboard-session";

int64_t Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

Sessions::Sessions(std::string token, const Clock* clock, std::chrono::seconds lifetime,
                   size_t max_live)
    : token_(std::move(token)),
      clock_(clock),
      lifetime_(lifetime),
      max_live_(std::max<size_t>(1, max_live)) {}

std::string Sessions::Mac(const std::string& id, int64_t expiry) const {
  const std::string message = std::string(kLabel) + "|" + id + "|" + std::to_string(expiry);
  return ids::Hex(auth::HmacSha256(token_, message));
}

std::string Sessions::Create() {
  const std::string id = ids::Hex(auth::RandomBytes(16));
  const int64_t now = Seconds(clock_->Now());
  const int64_t expiry = now + lifetime_.count();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = live_.begin(); it != live_.end();) {
      it = it->second <= now ? live_.erase(it) : std::next(it);
    }
    if (live_.size() >= max_live_) {
      auto sooner = [](const auto& a, const auto& b) { return a.second < b.second; };
      live_.erase(std::min_element(live_.begin(), live_.end(), sooner));
    }
    live_.emplace(id, expiry);
  }
  return id + "." + std::to_string(expiry) + "." + Mac(id, expiry);
}

std::string Sessions::IdOf(const std::string& value, int64_t* expiry) const {
  const size_t first = value.find('.');
  const size_t second = first == std::string::npos ? first : value.find('.', first + 1);
  if (second == std::string::npos) return "";
  const std::string id = value.substr(0, first);
  const std::string when = value.substr(first + 1, second - first - 1);
  if (id.empty() || when.empty() || when.size() > 18 ||
      !std::all_of(when.begin(), when.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return "";
  }
  *expiry = std::stoll(when);
  return auth::ConstantTimeEqual(value.substr(second + 1), Mac(id, *expiry)) ? id : "";
}

bool Sessions::Valid(const std::string& value) const {
  if (token_.empty()) return false;
  int64_t expiry = 0;
  const std::string id = IdOf(value, &expiry);
  if (id.empty() || Seconds(clock_->Now()) >= expiry) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  return it != live_.end() && it->second == expiry;
}

void Sessions::Revoke(const std::string& value) {
  int64_t expiry = 0;
  const std::string id = IdOf(value, &expiry);
  if (id.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(id);
}

}  // namespace ray::dashboard
