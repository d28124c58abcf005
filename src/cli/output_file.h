// An output file written all at once: a temporary file beside the destination is created up
// front (so an unwritable path is reported before any sampling), filled at the end and renamed
// over the destination, so a reader never sees half a file. "-" means standard output; a
// destination that is not a regular file (/dev/null, a FIFO) is opened up front and written in
// place.
#ifndef GILSCOPE_CLI_OUTPUT_FILE_H_
#define GILSCOPE_CLI_OUTPUT_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gilscope {

class OutputFile {
 public:
  static absl::StatusOr<OutputFile> Create(const std::string& path);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();  // removes the temporary file unless committed

  const std::string& path() const { return path_; }
  absl::Status Commit(absl::string_view content);

 private:
  OutputFile(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

  std::string path_;
  std::string temp_path_;  // empty for standard output and destinations written in place
  int fd_ = -1;
};

}  // namespace gilscope

#endif  // GILSCOPE_CLI_OUTPUT_FILE_H_
