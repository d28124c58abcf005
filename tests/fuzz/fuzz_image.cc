#include "fuzz/fuzz_image.h"

#include <algorithm>
#include <cstring>

namespace gilscope::fuzz {
namespace {

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  bool Take(T& out) {
    if (size_ - offset_ < sizeof(T)) return false;
    std::memcpy(&out, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  size_t remaining() const { return size_ - offset_; }
  const uint8_t* here() const { return data_ + offset_; }
  void Skip(size_t n) { offset_ += n; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

template <typename T>
void Append(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

RemoteAddress* GilFields(GilLocation& gil, size_t index) {
  RemoteAddress* fields[] = {&gil.gil_struct,  &gil.tstate_current, &gil.interpreter_lock,
                             &gil.locked,      &gil.last_holder,    &gil.switch_number,
                             &gil.cond,        &gil.mutex,          &gil.switch_cond,
                             &gil.switch_mutex};
  return fields[index];
}
constexpr size_t kGilFields = 10;
constexpr size_t kMaxTids = 8;

}  // namespace

std::optional<FuzzImage> ParseFuzzImage(const uint8_t* data, size_t size) {
  Cursor in(data, size);
  FuzzImage image;
  if (!in.Take(image.layout_index) || !in.Take(image.interpreters_head) ||
      !in.Take(image.code_type)) {
    return std::nullopt;
  }
  for (size_t i = 0; i < kGilFields; ++i) {
    if (!in.Take(*GilFields(image.gil, i))) return std::nullopt;
  }
  uint8_t tids = 0;
  if (!in.Take(tids)) return std::nullopt;
  for (size_t i = 0; i < std::min<size_t>(tids, kMaxTids); ++i) {
    uint32_t tid = 0;
    if (!in.Take(tid)) return std::nullopt;
    image.live_tids.push_back(static_cast<pid_t>(tid));
  }
  while (image.regions.size() < kMaxRegions) {
    Region region;
    uint32_t length = 0;
    if (!in.Take(region.address) || !in.Take(length)) break;
    const size_t kept = std::min({static_cast<size_t>(length), in.remaining(), kMaxRegionBytes});
    region.bytes.assign(reinterpret_cast<const char*>(in.here()), kept);
    in.Skip(kept);
    image.regions.push_back(std::move(region));
  }
  return image;
}

std::string SerializeFuzzImage(const FuzzImage& image) {
  std::string out;
  Append(out, image.layout_index);
  Append(out, image.interpreters_head);
  Append(out, image.code_type);
  GilLocation gil = image.gil;
  for (size_t i = 0; i < kGilFields; ++i) Append(out, *GilFields(gil, i));
  const size_t tids = std::min(image.live_tids.size(), kMaxTids);
  Append(out, static_cast<uint8_t>(tids));
  for (size_t i = 0; i < tids; ++i) Append(out, static_cast<uint32_t>(image.live_tids[i]));
  for (const Region& region : image.regions) {
    Append(out, region.address);
    Append(out, static_cast<uint32_t>(region.bytes.size()));
    out += region.bytes;
  }
  return out;
}

}  // namespace gilscope::fuzz
