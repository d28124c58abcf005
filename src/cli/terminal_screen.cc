#include "cli/terminal_screen.h"

#include <curses.h>

#include <clocale>
#include <cstdio>
#include <cstdlib>

namespace gilscope {
namespace {

SCREEN* g_screen = nullptr;  // ncurses keeps one current screen per process anyway

// Colour pairs by style; 0 is the terminal's own.
short PairOf(TopStyle style) {
  switch (style) {
    case TopStyle::kHolding:
      return 1;
    case TopStyle::kHoldingInNative:
      return 2;
    case TopStyle::kWaiting:
      return 3;
    case TopStyle::kRunning:
      return 4;
    case TopStyle::kWarning:
      return 5;
    default:
      return 0;
  }
}

attr_t AttributesOf(TopStyle style, bool colour) {
  attr_t attributes = A_NORMAL;
  switch (style) {
    case TopStyle::kBold:
      attributes = A_BOLD;
      break;
    case TopStyle::kDim:
    case TopStyle::kIdle:
    case TopStyle::kUnknown:
      attributes = A_DIM;
      break;
    case TopStyle::kHeader:
      attributes = A_REVERSE;
      break;
    case TopStyle::kWarning:
      attributes = A_BOLD | (colour ? A_NORMAL : A_REVERSE);
      break;
    default:
      break;
  }
  if (colour) attributes |= COLOR_PAIR(PairOf(style));
  return attributes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TerminalScreen>> TerminalScreen::Open() {
  // Names from the target are UTF-8: ncurses draws them as such only under a UTF-8 locale.
  std::setlocale(LC_ALL, "");
  // newterm, unlike initscr, returns an error instead of exiting on an unknown terminal.
  g_screen = newterm(nullptr, stdout, stdin);
  if (g_screen == nullptr) {
    return absl::FailedPreconditionError(
        "cannot draw on this terminal (check TERM): use --plain for text screens");
  }
  std::unique_ptr<TerminalScreen> screen(new TerminalScreen());
  screen->open_ = true;
  cbreak();  // keys arrive at once; Ctrl-C still sends SIGINT, which ends top cleanly
  noecho();
  nodelay(stdscr, TRUE);
  keypad(stdscr, TRUE);
  curs_set(0);
  const char* no_colour = std::getenv("NO_COLOR");  // https://no-color.org
  if (has_colors() && (no_colour == nullptr || *no_colour == '\0')) {
    start_color();
    use_default_colors();
    screen->colour_ = true;
    init_pair(1, COLOR_RED, -1);
    init_pair(2, COLOR_MAGENTA, -1);
    init_pair(3, COLOR_BLUE, -1);
    init_pair(4, COLOR_GREEN, -1);
    init_pair(5, COLOR_YELLOW, -1);
  }
  return screen;
}

void TerminalScreen::Close() {
  if (!open_) return;
  open_ = false;
  curs_set(1);
  endwin();
  delscreen(g_screen);
  g_screen = nullptr;
}

int TerminalScreen::width() const { return COLS; }
int TerminalScreen::height() const { return LINES; }

void TerminalScreen::Draw(const std::vector<ScreenLine>& lines, bool status_at_bottom) {
  // Repainted whole, not by differences: a launched program writing to the same terminal
  // scribbles over the screen (and may scroll it) behind ncurses' back.
  clearok(stdscr, TRUE);
  erase();
  for (size_t row = 0; row < lines.size(); ++row) {
    const bool bottom = status_at_bottom && row + 1 == lines.size();
    move(bottom ? LINES - 1 : static_cast<int>(row), 0);
    for (const ScreenSegment& segment : lines[row]) {
      const attr_t attributes = AttributesOf(segment.style, colour_);
      attron(attributes);
      addstr(segment.text.c_str());
      attroff(attributes);
    }
  }
  refresh();
}

std::optional<TerminalScreen::Input> TerminalScreen::Read() {
  const int key = getch();
  if (key == ERR) return std::nullopt;
  if (key == KEY_RESIZE) return Input{Event::kResize, key};
  return Input{Event::kKey, key};
}

}  // namespace gilscope
