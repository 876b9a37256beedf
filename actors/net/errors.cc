#include "actors/net/errors.h"

#include "actors/net/net.h"

namespace ray::net {

caf::error MakeError(const Status& status) { return MakeError(status.code(), status.message()); }

caf::error MakeError(Errc code, std::string message) {
  return caf::error(static_cast<uint8_t>(code), kErrorCategory,
                    caf::make_message(std::move(message)));
}

Status ToStatus(const caf::error& err) {
  if (!err) return Status::Ok();
  if (err.category() == kErrorCategory) {
    return Status(static_cast<Errc>(err.code()), Describe(err));
  }
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return Status(Errc::kTimeout, Describe(err));
      case caf::sec::request_receiver_down:
      case caf::sec::cannot_connect_to_node:
      case caf::sec::disconnect_during_handshake:
        return Status(Errc::kUnavailable, Describe(err));
      default:
        break;
    }
  }
  return Status(Errc::kInternal, Describe(err));
}

bool Is(const caf::error& err, Errc code) {
  return err && err.category() == kErrorCategory && err.code() == static_cast<uint8_t>(code);
}

std::string RenderError(uint8_t code, caf::atom_value, const caf::message& context) {
  std::string text = ErrcName(static_cast<Errc>(code));
  if (context.size() == 1 && context.match_element<std::string>(0)) {
    text += ": " + context.get_as<std::string>(0);
  }
  return text;
}

}  // namespace ray::net
