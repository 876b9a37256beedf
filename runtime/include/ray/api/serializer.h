// Serialization of user values with msgpack-c.
//
// A user type becomes passable with MSGPACK_DEFINE(...). For a type the user
// cannot modify, RAY_CUSTOM_SERIALIZER(Type) at global scope plus
// ray::RegisterSerializer<Type>(serialize, deserialize) (the seed's
// register_custom_serializer) route it through user functions at run time.
#ifndef RAY_API_SERIALIZER_H_
#define RAY_API_SERIALIZER_H_

#include <msgpack.hpp>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ray/api/ray_exception.h"

namespace ray {
namespace internal {

/// Demangled name of a type, for error messages.
std::string DemangledName(const char* mangled);

/// A serialized value: its size, and a way to write it to memory of that size.
/// Lets a large byte vector be written once, straight into shared memory.
struct SerializedObject {
  size_t size = 0;
  std::function<void(char*)> write_to;
  /// Copies the bytes out (small objects, inline transfer).
  std::string ToString() const {
    std::string s(size, '\0');
    if (size) write_to(s.data());
    return s;
  }
  static SerializedObject FromString(std::string bytes) {
    auto owned = std::make_shared<std::string>(std::move(bytes));
    return {owned->size(), [owned](char* dst) { std::memcpy(dst, owned->data(), owned->size()); }};
  }
};

/// Byte vectors (any allocator) and std::string: stored as one msgpack bin or
/// str, written and read with a single copy, readable in place with GetView.
template <typename T>
struct IsByteVector : std::is_same<T, std::string> {};
template <typename Alloc>
struct IsByteVector<std::vector<char, Alloc>> : std::true_type {};
template <typename Alloc>
struct IsByteVector<std::vector<unsigned char, Alloc>> : std::true_type {};

/// msgpack header of a bin (or str) of `n` bytes; returns its length.
size_t PackBytesHeader(size_t n, bool is_string, char* out);

/// Reads the header of a msgpack bin or str: false if `data` holds neither.
bool ParseBytesHeader(const char* data, size_t n, size_t* header, size_t* length);

/// memcpy for payloads: from 16 MiB on, streaming stores on several threads
/// (storage/object_store/fast_copy.h says why).
void CopyBytes(char* dst, const char* src, size_t n);

template <typename T>
SerializedObject Serialize(const T& value) {
  if constexpr (IsByteVector<T>::value) {
    // Write header then payload directly: one memcpy of the payload, wherever it goes.
    char header[8];
    size_t header_len = PackBytesHeader(value.size(), std::is_same_v<T, std::string>, header);
    auto hold = std::make_shared<std::string>(header, header_len);
    const T* v = &value;  // valid until write_to runs (callers write before returning)
    return {header_len + value.size(), [hold, v](char* dst) {
              std::memcpy(dst, hold->data(), hold->size());
              if (!v->empty()) {
                CopyBytes(dst + hold->size(), reinterpret_cast<const char*>(v->data()), v->size());
              }
            }};
  } else {
    auto buffer = std::make_shared<msgpack::sbuffer>();
    msgpack::pack(*buffer, value);
    return {buffer->size(),
            [buffer](char* dst) { std::memcpy(dst, buffer->data(), buffer->size()); }};
  }
}

template <typename T>
std::string SerializeToString(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

template <typename T>
T Deserialize(const char* data, size_t size) {
  if constexpr (IsByteVector<T>::value) {
    // One copy straight from the buffer (msgpack would copy into its zone first).
    size_t header = 0, length = 0;
    if (ParseBytesHeader(data, size, &header, &length) && header + length == size) {
      T out(length, typename T::value_type{});
      if (length > 0) CopyBytes(reinterpret_cast<char*>(out.data()), data + header, length);
      return out;
    }
  }
  try {
    msgpack::object_handle handle = msgpack::unpack(data, size);
    return handle.get().as<T>();
  } catch (const msgpack::type_error&) {
    throw RayException("cannot deserialize a value as " + DemangledName(typeid(T).name()) +
                       ": the stored value has another type");
  } catch (const msgpack::unpack_error& e) {
    throw RayException("corrupt serialized value for " + DemangledName(typeid(T).name()) +
                       ": " + e.what());
  }
}

template <typename T>
struct CustomSerializerSlot {
  static std::function<std::string(const T&)>& Serializer() {
    static std::function<std::string(const T&)> f;
    return f;
  }
  static std::function<T(const std::string&)>& Deserializer() {
    static std::function<T(const std::string&)> f;
    return f;
  }
  static void Check() {
    if (!Serializer() || !Deserializer()) {
      throw RayException("no serializer registered for type " +
                         DemangledName(typeid(T).name()) +
                         ": call ray::RegisterSerializer<T>(...) during static initialization "
                         "(at namespace scope) so that every worker process has it too");
    }
  }
};

}  // namespace internal

/// Registers a serializer/deserializer pair for T (declared with RAY_CUSTOM_SERIALIZER(T)).
/// Register at namespace scope, e.g. `static bool r = ray::RegisterSerializer<T>(s, d);`,
/// so the registration also runs in worker processes. Returns true.
template <typename T>
bool RegisterSerializer(std::function<std::string(const T&)> serializer,
                        std::function<T(const std::string&)> deserializer) {
  internal::CustomSerializerSlot<T>::Serializer() = std::move(serializer);
  internal::CustomSerializerSlot<T>::Deserializer() = std::move(deserializer);
  return true;
}

}  // namespace ray

/// Declares that values of `Type` are serialized by functions registered with
/// ray::RegisterSerializer<Type>. Use once, at global scope.
#define RAY_CUSTOM_SERIALIZER(Type)                                                    \
  namespace msgpack {                                                                  \
  MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {                              \
    namespace adaptor {                                                                \
    template <>                                                                        \
    struct pack<Type> {                                                                \
      template <typename Stream>                                                       \
      packer<Stream>& operator()(packer<Stream>& o, const Type& v) const {             \
        ::ray::internal::CustomSerializerSlot<Type>::Check();                          \
        std::string bytes = ::ray::internal::CustomSerializerSlot<Type>::Serializer()(v); \
        o.pack_bin(static_cast<uint32_t>(bytes.size()));                               \
        o.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));            \
        return o;                                                                      \
      }                                                                                \
    };                                                                                 \
    template <>                                                                        \
    struct as<Type> {                                                                  \
      Type operator()(const msgpack::object& o) const {                                \
        if (o.type != msgpack::type::BIN) throw msgpack::type_error();                 \
        ::ray::internal::CustomSerializerSlot<Type>::Check();                          \
        return ::ray::internal::CustomSerializerSlot<Type>::Deserializer()(            \
            std::string(o.via.bin.ptr, o.via.bin.size));                               \
      }                                                                                \
    };                                                                                 \
    template <>                                                                        \
    struct convert<Type> {                                                             \
      const msgpack::object& operator()(const msgpack::object& o, Type& v) const {     \
        v = as<Type>()(o);                                                             \
        return o;                                                                      \
      }                                                                                \
    };                                                                                 \
    }                                                                                  \
  }                                                                                    \
  }

#endif  // RAY_API_SERIALIZER_H_
