// Front doors: a caf::actor_companion as an actor's address, whose handler
// runs on the thread that delivers each message (the middleman's, for remote
// senders), so the hot messages need no scheduler thread to be woken first.
// The worker and the driver's anchor use one (docs/architecture.md, "Speed").
#ifndef RAY_ACTORS_NET_FRONT_DOOR_H_
#define RAY_ACTORS_NET_FRONT_DOOR_H_

#include <caf/actor_companion.hpp>
#include <caf/all.hpp>

namespace ray::front_door {

/// A new front door; hidden, so the actor system does not wait for it.
inline caf::actor Spawn(caf::actor_system& system) {
  return system.spawn<caf::actor_companion, caf::hidden>();
}

/// The companion behind a handle made by Spawn (to set its handler, monitor).
inline caf::actor_companion* Of(const caf::actor& handle) {
  return static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(handle));
}

/// True when `msg` is exactly (atom, Ts...).
template <class... Ts>
bool Is(const caf::type_erased_tuple& msg, caf::atom_value atom) {
  return msg.match_elements<caf::atom_value, Ts...>() && msg.get_as<caf::atom_value>(0) == atom;
}

}  // namespace ray::front_door

#endif  // RAY_ACTORS_NET_FRONT_DOOR_H_
