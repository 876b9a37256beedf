// "host:port", as every process of the cluster names an address.
#ifndef RAY_ACTORS_COMMON_ADDRESS_H_
#define RAY_ACTORS_COMMON_ADDRESS_H_

#include <cstdint>
#include <string>

namespace ray {

/// Splits "host:port" (the last ':' separates them); false, with nothing
/// written, unless the host is non-empty and the port is 1..65535.
bool SplitHostPort(const std::string& address, std::string* host, uint16_t* port);

}  // namespace ray

#endif  // RAY_ACTORS_COMMON_ADDRESS_H_
