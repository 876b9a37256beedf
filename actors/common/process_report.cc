#include "actors/common/process_report.h"

#include <mutex>
#include <utility>

namespace ray::observe {
namespace {

std::mutex mu;
ReferenceReport* current = nullptr;  // GUARDED_BY(mu); leaked at exit on purpose

}  // namespace

void SetReferenceReport(ReferenceReport report) {
  std::lock_guard<std::mutex> lock(mu);
  delete current;
  current = report ? new ReferenceReport(std::move(report)) : nullptr;
}

std::string References() {
  std::lock_guard<std::mutex> lock(mu);
  return current ? (*current)() : std::string("{}");
}

}  // namespace ray::observe
