// StopSignals records a stop request; the same request delivered twice in quick succession
// (Ctrl-C under torchrun reaches a worker from the terminal and from the agent) is one request.
#include <gtest/gtest.h>

#include <csignal>

#include "sori/core/stop_signals.h"

TEST(StopSignals, RecordsTheFirstAndToleratesAQuickRepeat) {
  {
    const sori::StopSignals signals;
    EXPECT_EQ(signals.received(), 0);
    std::raise(SIGINT);
    EXPECT_EQ(signals.received(), SIGINT);
    std::raise(SIGINT);  // within 2 s: the relayed copy, not a second Ctrl-C (no death here)
    std::raise(SIGTERM);
    EXPECT_EQ(signals.received(), SIGINT);
    EXPECT_STREQ(sori::StopSignals::name(signals.received()), "SIGINT");
  }
  // The previous handlers are back: SIGUSR1 ignored here stays ignored, not recorded.
  std::signal(SIGUSR1, SIG_IGN);
  {
    const sori::StopSignals signals;
    std::raise(SIGUSR1);
    EXPECT_EQ(signals.received(), SIGUSR1);
  }
  std::raise(SIGUSR1);  // ignored again after the object died
  std::signal(SIGUSR1, SIG_DFL);
}
