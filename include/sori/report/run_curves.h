// The curves `sori plot` and `sori report` draw from runs' metrics.jsonl: four panels against step
// (training loss, learning rate, validation CER, validation WER), one colour per run. The
// validation panels show the overall val_cer/val_wer and, when the runs validated on more than one
// manifest, each manifest's too, dashed (in percent).
#pragma once

#include <string>
#include <vector>

#include "sori/report/chart.h"
#include "sori/report/metrics_history.h"

namespace sori {

// auto: log when every loss is positive and the largest is 30x the smallest or more.
enum class LossScale { automatic, linear, log };
// "auto", "linear" or "log"; anything else is an error naming the accepted values.
LossScale parse_loss_scale(const std::string& text);

struct RunMetrics {
  std::string name;  // the legend's
  MetricsHistory history;
};

// Non-finite values are left out (and, on a log scale, values <= 0).
Chart training_curves(const std::vector<RunMetrics>& runs, LossScale loss_scale = LossScale::automatic);

}  // namespace sori
