// Behaviors whose handlers cannot kill their actor. CAF 0.17 ends an actor
// on any exception thrown by a handler (its exception handler can only pick
// the exit reason), so one malformed payload from a peer would take a node's
// raylet down. Every actor of the node builds its behavior with
// safe::Behavior: a handler that throws drops its message with a log line
// naming the actor, the message and the sender, and a request gets an error
// reply; a message no handler matches is counted, logged once per actor and
// answered with an error if it is a request.
#ifndef RAY_ACTORS_NET_SAFE_BEHAVIOR_H_
#define RAY_ACTORS_NET_SAFE_BEHAVIOR_H_

#include <caf/all.hpp>

#include <atomic>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace ray::safe {

/// Messages dropped because a handler threw or none matched, process-wide.
uint64_t Dropped();

/// True when the message being handled comes from an actor of this process
/// (messages that re-wire a node, such as set_raylet or shutdown, are
/// honoured only then).
inline bool FromThisProcess(caf::local_actor* self) {
  auto* e = self->current_mailbox_element();
  return e && e->sender && e->sender->node() == self->node();
}

/// For messages only the actor's own process may send (timers, shutdown):
/// throws otherwise, so a guarded handler drops the message and logs it.
inline void RequireLocal(caf::local_actor* self) {
  if (!FromThisProcess(self)) throw std::runtime_error("an internal message from elsewhere");
}

/// For front doors (actor_companion handlers), which have no behavior:
/// logs and counts a message from `sender` dropped because of `what`.
void ReportDrop(const char* actor, const caf::strong_actor_ptr& sender, const std::string& what);

namespace detail {

/// Logs and counts one dropped message; `what` is why.
void Report(caf::local_actor* self, const char* actor, const std::string& what);
caf::error DropError(const std::string& what);

template <class R>
struct IsResult : std::false_type {};
template <class... Ts>
struct IsResult<caf::result<Ts...>> : std::true_type {};

/// What a handler returns so that nothing is sent: for asynchronous
/// messages CAF 0.17 sends a returned error back to the sender as a message,
/// and an error message ends an actor that has no error handler.
template <class R>
struct Silent {
  static R Make() { return caf::delegated<R>(); }
};
template <class... Ts>
struct Silent<caf::result<Ts...>> {
  static caf::result<Ts...> Make() { return caf::delegated<Ts...>(); }
};

template <class R>
using Out = std::conditional_t<std::is_void_v<R> || IsResult<R>::value ||
                                   std::is_same_v<R, caf::response_promise>,
                               R, caf::result<R>>;

template <class F, class R, class Args>
struct Guarded;

template <class F, class R, class... Args>
struct Guarded<F, R, caf::detail::type_list<Args...>> {
  caf::local_actor* self;
  const char* actor;
  F f;

  Out<R> operator()(Args... args) {
    try {
      return f(std::forward<Args>(args)...);
    } catch (const std::exception& e) {
      return Fail(e.what());
    } catch (...) {
      return Fail("unknown exception");
    }
  }

  Out<R> Fail(const std::string& why) {
    Report(self, actor, "handler failed: " + why);
    auto err = DropError(why);
    // A request gets the error as its answer; any other message, nothing.
    auto* current = self->current_mailbox_element();
    bool request = current && current->mid.is_request();
    if constexpr (std::is_void_v<R>) {
      if (request) self->make_response_promise().deliver(err);
    } else if constexpr (std::is_same_v<R, caf::response_promise>) {
      auto rp = self->make_response_promise();
      if (request) rp.deliver(err);
      return rp;
    } else if (request) {
      return err;
    } else {
      return Silent<Out<R>>::Make();
    }
  }
};

template <class F>
auto Wrap(caf::local_actor* self, const char* actor, F f) {
  using trait = typename caf::detail::get_callable_trait<F>::type;
  return Guarded<F, typename trait::result_type, typename trait::arg_types>{self, actor,
                                                                            std::move(f)};
}

}  // namespace detail

/// `f` guarded as a behavior's handlers are: for response handlers (`then`).
template <class F>
auto Guard(caf::local_actor* self, const char* actor, F f) {
  return detail::Wrap(self, actor, std::move(f));
}

namespace detail {
/// The default, error and exit handlers every guarded actor gets.
template <class Self>
void InstallHandlers(Self* self, const char* actor) {
  self->set_default_handler(
      [actor](caf::scheduled_actor* s, caf::message_view& view) -> caf::result<caf::message> {
        auto& content = view.content();
        // The first element names the message (an atom); the rest may be large.
        std::string first = content.size() > 0 ? content.stringify(0) : std::string("()");
        detail::Report(s, actor, "no handler for a message of " + std::to_string(content.size()) +
                                     " elements starting with " + first.substr(0, 40));
        auto* current = s->current_mailbox_element();
        if (current && current->mid.is_request()) return caf::sec::unexpected_message;
        return caf::message{};  // CAF sends no empty reply to an asynchronous message
      });
  // An error sent as a plain message would otherwise end the actor.
  self->set_error_handler([self, actor](caf::error& err) {
    detail::Report(self, actor, "an error message: " + caf::to_string(err));
  });
  // Only this process may stop its actors; an exit from elsewhere is dropped.
  self->set_exit_handler([self, actor](caf::exit_msg& msg) {
    if (msg.source && msg.source.node() != self->node()) {
      detail::Report(self, actor, "an exit message from another process");
      return;
    }
    // As CAF's default: a normal exit is ignored.
    if (msg.reason) self->quit(std::move(msg.reason));
  });
}
}  // namespace detail

/// The behavior of `fs`, each guarded as above; also installs the default
/// handler for unmatched messages on `self`.
template <class Self, class... Fs>
caf::behavior Behavior(Self* self, const char* actor, Fs... fs) {
  detail::InstallHandlers(self, actor);
  return caf::behavior{detail::Wrap(self, actor, std::move(fs))...};
}

/// The same, checked against the typed-actor interface `Interface` when it
/// compiles: `fs` must handle exactly its messages, with its types. The actor
/// itself stays dynamically typed (CAF 0.17 lets a typed actor send only to
/// typed ones, and the workers' and drivers' front doors are untyped).
template <class Interface, class Self, class... Fs>
caf::behavior Implement(Self* self, const char* actor, Fs... fs) {
  detail::InstallHandlers(self, actor);
  typename Interface::behavior_type checked{detail::Wrap(self, actor, std::move(fs))...};
  return std::move(checked.unbox());
}

}  // namespace ray::safe

#endif  // RAY_ACTORS_NET_SAFE_BEHAVIOR_H_
