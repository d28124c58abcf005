// The full-screen terminal `gilscope top` draws on, through ncurses: styled lines in, keys
// out. The terminal is restored when the screen is closed or destroyed, whatever ended top.
#ifndef GILSCOPE_CLI_TERMINAL_SCREEN_H_
#define GILSCOPE_CLI_TERMINAL_SCREEN_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "gilscope/render/top_screen.h"

namespace gilscope {

class TerminalScreen {
 public:
  // A key read, or a resize (the size is then read again); nullopt when none is waiting.
  enum class Event { kKey, kResize };
  struct Input {
    Event event = Event::kKey;
    int key = 0;
  };

  // Takes over the terminal on standard input and output. Colours where the terminal has
  // them and NO_COLOR is not set. Fails (with the terminal left alone) when TERM names no
  // terminal ncurses knows.
  static absl::StatusOr<std::unique_ptr<TerminalScreen>> Open();
  TerminalScreen(const TerminalScreen&) = delete;
  TerminalScreen& operator=(const TerminalScreen&) = delete;
  ~TerminalScreen() { Close(); }

  void Close();  // restores the terminal; idempotent
  int width() const;
  int height() const;
  // Replaces the screen with `lines` (each already cut to width()); a status line (the last
  // one, when `status_at_bottom`) goes on the bottom row.
  void Draw(const std::vector<ScreenLine>& lines, bool status_at_bottom);
  std::optional<Input> Read();  // never blocks

 private:
  TerminalScreen() = default;
  bool open_ = false;
  bool colour_ = false;
};

}  // namespace gilscope

#endif  // GILSCOPE_CLI_TERMINAL_SCREEN_H_
