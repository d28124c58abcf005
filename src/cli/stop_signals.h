// SIGINT, SIGTERM and SIGHUP end a recording cleanly (the output is still written) instead of
// killing gilscope. The handler only records the signal; the sampling loop polls it.
#ifndef GILSCOPE_CLI_STOP_SIGNALS_H_
#define GILSCOPE_CLI_STOP_SIGNALS_H_

namespace gilscope {

void InstallStopHandlers();
// The signal that asked to stop, or 0.
int StopSignal();
// True when that signal came from the terminal (Ctrl-C), which sent it to a launched program
// too; false when a process sent it to gilscope alone, and it should be passed on.
bool StopSignalFromTerminal();
// Forgets the signal, so a later one can be seen.
void ClearStopSignal();

}  // namespace gilscope

#endif  // GILSCOPE_CLI_STOP_SIGNALS_H_
