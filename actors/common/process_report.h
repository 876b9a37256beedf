// What a driver or worker process tells `ray memory` about itself: the
// ObjectRefs it holds and the objects it owns (its ReferenceCounter's
// tables), as JSON. The runtime registers the report when it starts; the
// worker actor and the driver's anchor answer (observe, "refs") with it.
#ifndef RAY_ACTORS_COMMON_PROCESS_REPORT_H_
#define RAY_ACTORS_COMMON_PROCESS_REPORT_H_

#include <functional>
#include <string>

namespace ray::observe {

using ReferenceReport = std::function<std::string()>;

/// Replaces the process's report (nullptr: none).
void SetReferenceReport(ReferenceReport report);
/// The report's JSON, or "{}" when no runtime registered one.
std::string References();

}  // namespace ray::observe

#endif  // RAY_ACTORS_COMMON_PROCESS_REPORT_H_
