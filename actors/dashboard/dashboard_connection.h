// The dashboard's cpp-httplib server, serving each connection under Limits
// (dashboard_limits.h). Debian 12's cpp-httplib (0.11.4) waits 5 s per recv,
// so a client sending a header byte a second holds one of its 8 threads for
// ever; reads a refused body to its end (and a chunked one, or one without a
// length, without any cap); and takes any number of connections from one
// address. Its settings cannot bound that, so MakeServer's server overrides
// the one virtual httplib calls per accepted connection
// (process_and_close_socket) and serves the connection through httplib's
// process_request on a Stream of its own, which
//   - ends a request whose line, headers and body do not arrive within the
//     deadline from its first byte, and whose headers exceed their bytes;
//   - reads none of a body until the pre-routing handler (which httplib calls
//     after the headers, before the body) allows it, and then no more than
//     allowed;
//   - does TLS itself (OpenSSL, non-blocking), so a handshake has a deadline.
// Connections beyond those per address, or beyond the waiting room of the
// thread pool, are closed at once.
#ifndef RAY_ACTORS_DASHBOARD_DASHBOARD_CONNECTION_H_
#define RAY_ACTORS_DASHBOARD_DASHBOARD_CONNECTION_H_

#include <httplib.h>

#include <cstddef>
#include <memory>
#include <string>

#include "actors/dashboard/dashboard_limits.h"

namespace ray::dashboard {

/// A server (HTTPS when both PEM files are given) whose connections are served
/// under `limits`; check is_valid() (the TLS files may be unusable).
std::unique_ptr<httplib::Server> MakeServer(const Limits& limits, const std::string& tls_cert,
                                            const std::string& tls_key);

/// Once a server of MakeServer is bound: listens with `limits.listen_backlog`
/// (httplib's is 5, compiled in).
void WidenBacklog(httplib::Server* server, const Limits& limits);

// -- for the server's handlers, about the request their thread serves --------

/// The headers are read and the request may go on: its body, of `bytes` (its
/// Content-Length), may now be read.
void AllowBody(size_t bytes);
/// The request was answered from its headers: its connection ends after the
/// answer, since the rest of what it sent (a body) is never read.
void CloseAfterAnswer();
/// Whether the connection ends after this answer (post-routing: Connection: close).
bool ClosingAfterAnswer();

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_DASHBOARD_CONNECTION_H_
