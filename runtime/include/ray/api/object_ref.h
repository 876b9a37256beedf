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

namespace internal {
/// Reference counting of ObjectRefs in this process: when the process that
/// created an object (by Put or by submitting its task) drops its last ref,
/// the store may evict the object under memory pressure.
void AddLocalReference(const std::string& id);
void RemoveLocalReference(const std::string& id);
/// A ref to `id` is being serialized inside a value (a nested ref): other
/// processes may hold it without this process knowing, so the object must
/// outlive its owner's refs.
void NoteNestedRef(const std::string& id);
}  // namespace internal

namespace internal {
/// Holds one count of `id` in this process's reference table for as long as it
/// lives; copies of an ObjectRef share it, so copying a ref costs one atomic
/// increment (no lock, no table lookup, no allocation).
class RefHandle {
 public:
  explicit RefHandle(std::string id) : id_(std::move(id)) { AddLocalReference(id_); }
  ~RefHandle() { RemoveLocalReference(id_); }
  RefHandle(const RefHandle&) = delete;
  RefHandle& operator=(const RefHandle&) = delete;
  const std::string& id() const { return id_; }

 private:
  const std::string id_;
};

inline const std::string& EmptyId() {
  static const std::string empty;
  return empty;
}
}  // namespace internal

template <typename T>
class ObjectRef {
 public:
  using value_type = T;

  ObjectRef() = default;
  explicit ObjectRef(std::string id) {
    if (!id.empty()) handle_ = std::make_shared<const internal::RefHandle>(std::move(id));
  }

  /// The object's binary id (20 bytes); Hex() for printing.
  const std::string& ID() const { return handle_ ? handle_->id() : internal::EmptyId(); }
  std::string Hex() const { return internal::ToHex(ID()); }
  bool operator==(const ObjectRef& other) const { return ID() == other.ID(); }
  bool operator!=(const ObjectRef& other) const { return ID() != other.ID(); }

  /// Same as ray::Get(*this, timeout_ms).
  auto Get(int64_t timeout_ms = -1) const;

  // msgpack: a ref serializes as its id (nested refs inside objects, handles to tasks).
  template <typename Packer>
  void msgpack_pack(Packer& packer) const {
    if (handle_) internal::NoteNestedRef(handle_->id());
    packer.pack_array(1);
    packer.pack(ID());
  }
  void msgpack_unpack(const msgpack::object& o) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 1) throw msgpack::type_error();
    std::string id;
    o.via.array.ptr[0].convert(id);
    *this = ObjectRef(std::move(id));
  }

 private:
  std::shared_ptr<const internal::RefHandle> handle_;
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
