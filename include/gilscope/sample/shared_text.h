// An immutable string whose copies share one buffer. A function's name and file are copied
// into the stacks of sample after sample; sharing makes each copy a reference count instead of
// an allocation and a copy of the characters.
#ifndef GILSCOPE_SAMPLE_SHARED_TEXT_H_
#define GILSCOPE_SAMPLE_SHARED_TEXT_H_

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace gilscope {

class SharedText {
 public:
  SharedText() = default;
  // Implicit, as std::string's own: a frame is written as {"function", "file", line}.
  SharedText(std::string text)  // NOLINT(google-explicit-constructor)
      : text_(text.empty() ? nullptr : std::make_shared<const std::string>(std::move(text))) {}
  SharedText(const char* text) : SharedText(std::string(text)) {}  // NOLINT
  explicit SharedText(std::string_view text) : SharedText(std::string(text)) {}

  const std::string& str() const { return text_ ? *text_ : Empty(); }
  // The shared buffer's address: equal for copies of one text (null when empty). Not reused
  // while any copy lives.
  const void* identity() const { return text_.get(); }
  bool empty() const { return !text_; }
  size_t size() const { return str().size(); }

  friend bool operator==(const SharedText& a, const SharedText& b) {
    return a.text_ == b.text_ || a.str() == b.str();
  }
  friend bool operator==(const SharedText& a, const std::string& b) { return a.str() == b; }
  friend bool operator==(const SharedText& a, std::string_view b) { return a.str() == b; }
  friend bool operator==(const SharedText& a, const char* b) { return a.str() == b; }
  friend std::ostream& operator<<(std::ostream& out, const SharedText& text) {
    return out << text.str();
  }

 private:
  static const std::string& Empty() {
    static const std::string* const empty = new std::string();
    return *empty;
  }

  std::shared_ptr<const std::string> text_;  // null for the empty text
};

}  // namespace gilscope

#endif  // GILSCOPE_SAMPLE_SHARED_TEXT_H_
