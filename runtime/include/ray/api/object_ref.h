// ObjectRef<T>: a reference to an object that a task returns or Put stores.
#ifndef RAY_API_OBJECT_REF_H_
#define RAY_API_OBJECT_REF_H_

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ray/api/runtime_interface.h"
#include "ray/api/serializer.h"

namespace ray {

namespace internal {
/// Lower-case hex of a binary id.
std::string ToHex(const std::string& binary);
}  // namespace internal

template <typename T>
class ObjectRef {
 public:
  using value_type = T;

  ObjectRef() = default;
  explicit ObjectRef(std::string id) : id_(std::move(id)) {}

  /// The object's binary id (20 bytes); Hex() for printing.
  const std::string& ID() const { return id_; }
  std::string Hex() const { return internal::ToHex(id_); }
  bool operator==(const ObjectRef& other) const { return id_ == other.id_; }
  bool operator!=(const ObjectRef& other) const { return id_ != other.id_; }

  /// Same as ray::Get(*this, timeout_ms).
  auto Get(int64_t timeout_ms = -1) const;

  MSGPACK_DEFINE(id_);

 private:
  std::string id_;
};

template <typename T>
struct IsObjectRef : std::false_type {};
template <typename T>
struct IsObjectRef<ObjectRef<T>> : std::true_type {};

/// Reads the object; throws the task's error, or RayTimeoutException.
template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T>& ref, int64_t timeout_ms = -1) {
  auto buffers = internal::Runtime().Get({ref.ID()}, timeout_ms);
  return std::make_shared<T>(internal::Deserialize<T>(buffers[0]->data(), buffers[0]->size()));
}

/// Waits for a task returning void; rethrows its error.
inline void Get(const ObjectRef<void>& ref, int64_t timeout_ms = -1) {
  internal::Runtime().Get({ref.ID()}, timeout_ms);
}

template <typename T>
auto ObjectRef<T>::Get(int64_t timeout_ms) const {
  return ray::Get(*this, timeout_ms);
}

}  // namespace ray

namespace std {
template <typename T>
struct hash<ray::ObjectRef<T>> {
  size_t operator()(const ray::ObjectRef<T>& ref) const { return hash<string>()(ref.ID()); }
};
}  // namespace std

#endif  // RAY_API_OBJECT_REF_H_
