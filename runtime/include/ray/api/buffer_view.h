// BufferView: zero-copy read access to a byte object in the shared-memory store.
#ifndef RAY_API_BUFFER_VIEW_H_
#define RAY_API_BUFFER_VIEW_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ray/api/object_ref.h"

namespace ray {

/// Points straight into the object store at the bytes of a std::vector<char>,
/// std::vector<uint8_t> or std::string object. The object stays pinned (it is
/// never evicted or freed) while any copy of the view is alive.
class BufferView {
 public:
  BufferView() = default;
  const char* data() const { return data_; }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(data_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const char* begin() const { return data_; }
  const char* end() const { return data_ + size_; }
  /// True when the bytes are read in place from shared memory (large objects);
  /// small objects travel inline and are viewed in the process's own memory.
  bool in_shared_memory() const { return holder_ && holder_->in_shared_memory(); }

  /// Builds a view over a serialized byte object; throws if it holds another type.
  static BufferView FromBuffer(std::shared_ptr<internal::ObjectBuffer> buffer);

 private:
  std::shared_ptr<internal::ObjectBuffer> holder_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

template <typename T>
BufferView GetView(const ObjectRef<T>& ref, int64_t timeout_ms = -1) {
  static_assert(internal::IsByteVector<T>::value,
                "GetView reads ObjectRef<std::vector<char>>, <std::vector<uint8_t>> "
                "or <std::string>");
  auto buffers = internal::Runtime().Get({ref.ID()}, timeout_ms);
  return BufferView::FromBuffer(std::move(buffers[0]));
}

}  // namespace ray

#endif  // RAY_API_BUFFER_VIEW_H_
