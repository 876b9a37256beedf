// The project's errors between actors: caf::error values of category "ray",
// whose codes are ray::Errc (actors/common/status.h, each value documented
// there) and whose context is the message. Cores speak Status; shells turn
// it into a caf::error to answer a request, and a caf::error back into a
// Status for the core.
#ifndef RAY_ACTORS_NET_ERRORS_H_
#define RAY_ACTORS_NET_ERRORS_H_

#include <caf/all.hpp>

#include <string>

#include "actors/common/status.h"

namespace ray::net {

/// The category atom of every caf::error the project makes.
constexpr caf::atom_value kErrorCategory = caf::atom("ray");

/// `status` (not ok) as a caf::error.
caf::error MakeError(const Status& status);
caf::error MakeError(Errc code, std::string message);

/// The Status `err` stands for: the project's own keep their code and
/// message; CAF's become kTimeout (request timeouts), kUnavailable (the
/// receiver or the connection is gone) or kInternal, with a readable message.
Status ToStatus(const caf::error& err);

/// Whether `err` is the project's error `code`.
bool Is(const caf::error& err, Errc code);

/// Renders the project's errors in CAF's own to_string (registered by Configure).
std::string RenderError(uint8_t code, caf::atom_value category, const caf::message& context);

}  // namespace ray::net

#endif  // RAY_ACTORS_NET_ERRORS_H_
