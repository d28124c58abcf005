#include "cli/stop_signals.h"

#include <signal.h>

#include <initializer_list>

namespace gilscope {
namespace {

volatile sig_atomic_t g_signal = 0;
volatile sig_atomic_t g_from_terminal = 0;

void OnStopSignal(int signal, siginfo_t* info, void*) {
  g_signal = signal;
  // The kernel's own signals (the tty's Ctrl-C) carry SI_KERNEL; kill() carries SI_USER.
  g_from_terminal = info != nullptr && info->si_code == SI_KERNEL;
}

}  // namespace

void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_sigaction = OnStopSignal;
  action.sa_flags = SA_SIGINFO;  // no SA_RESTART: a sleep or wait returns at once
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal, &action, nullptr);
}

int StopSignal() { return g_signal; }
bool StopSignalFromTerminal() { return g_from_terminal != 0; }
void ClearStopSignal() {
  g_signal = 0;
  g_from_terminal = 0;
}

}  // namespace gilscope
